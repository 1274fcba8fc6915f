"""The grader's safety pieces one by one, without running notebooks (fast): reading submissions,
what runs (cleanrun), the grading notebook (plan), safe pages, the refusals."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbformat
import pytest

import scenarios as S
from autograder import grade as G
from autograder import plan as P
from autograder import sandbox
from autograder.cleanrun import clean_answer
from autograder.paths import REPO
from autograder.safepages import safe_output, sanitize_markdown

LESSON = "01_sensitivity"


# ----------------------------------------------------------------------------- reading submissions


def test_student_ids_match_in_full() -> None:
    assert G.STUDENT_ID.fullmatch("alice")
    for bad in ("alice\n", "../x", "a/b", "-x", "", "x" * 65, "é"):
        assert not G.STUDENT_ID.fullmatch(bad), bad


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    good = tmp_path / "good.ipynb"
    good.write_text("{}")
    assert G.read_regular_file(good)[0] == b"{}"
    (tmp_path / "link.ipynb").symlink_to(good)
    with pytest.raises(G.MalformedNotebook, match="symbolic link"):
        G.read_regular_file(tmp_path / "link.ipynb")
    os.mkfifo(tmp_path / "fifo.ipynb")
    with pytest.raises(G.MalformedNotebook, match="not a regular file"):
        G.read_regular_file(tmp_path / "fifo.ipynb")  # and it does not block
    big = tmp_path / "big.ipynb"
    with open(big, "wb") as handle:
        handle.truncate(G.MAX_NOTEBOOK_BYTES + 1)
    with pytest.raises(G.MalformedNotebook, match="limit"):
        G.read_regular_file(big)


def test_enumeration_skips_links_and_bad_names(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    for name in ("ok", "alice\n"):
        (subs / name / LESSON).mkdir(parents=True)
    os.makedirs(os.path.join(os.fsencode(subs), b"bad\xff", os.fsencode(LESSON)))
    (subs / "linked").symlink_to(subs / "ok")
    (subs / "ok" / "02_randomized_response").symlink_to(subs / "ok" / LESSON)
    todo, notes = G.enumerate_submissions(subs, [LESSON, "02_randomized_response"])
    assert [(s, lesson) for s, lesson, _ in todo] == [("ok", LESSON)]
    text = "\n".join(notes)
    assert "'alice\\n'" in text and "'bad\\xff'" in text and "'linked': a symbolic link" in text, text


def test_find_notebook_prefers_the_expected_name_and_never_follows_links(tmp_path: Path) -> None:
    folder = tmp_path / LESSON
    folder.mkdir()
    (folder / "other.ipynb").write_text("{}")
    path, notes = G.find_notebook(folder, LESSON)
    assert path == folder / "other.ipynb" and "only notebook" in notes[0]
    (folder / f"{LESSON}.ipynb").symlink_to(folder / "other.ipynb")
    path, notes = G.find_notebook(folder, LESSON)
    assert path is None and "symbolic link" in notes[0]


def test_shown_escapes_undecodable_and_control_characters() -> None:
    assert G.shown(os.fsdecode(b"a\xffb")) == "a\\xffb"
    assert G.shown("alice\n") == "alice\\n"
    assert G.shown("zoë") == "zoë"


def test_report_and_grades_are_valid_files(tmp_path: Path) -> None:
    report = G.Report(tmp_path, [G.Result("amy", LESSON, "malformed", notes=["a, b\n\"c\"", "é \udcff"])], ["e"])
    G.write_report(report)
    lines = (tmp_path / "report.jsonl").read_text(encoding="ascii").splitlines()
    assert json.loads(lines[0])["notes"][0] == "a, b\n\"c\""
    assert json.loads(lines[1]) == {"error": "e"}


# ----------------------------------------------------------------------------- what runs


@pytest.mark.parametrize("source", [
    "class A:\n    def __class_getitem__(cls, i):\n        raise SystemExit('ran')\nX = A[0]\n",
    "class A:\n    def __init_subclass__(cls):\n        raise SystemExit('ran')\nclass B(A):\n    pass\n",
    "import enum\nclass E(enum.Enum):\n    def __new__(cls, v):\n        raise SystemExit('ran')\n    RED = 1\n",
    "class A:\n    __class_getitem__ = exit\nX = A['ran']\n",
    "@exit\ndef f():\n    pass\n",
    "def f(x=exit('ran')):\n    pass\n",
    "exit('ran')\n",
    "for _ in [1]:\n    exit('ran')\n",
])
def test_nothing_a_student_wrote_runs_when_answers_are_defined(source: str) -> None:
    kept = clean_answer(source).source
    try:
        exec(compile(kept, "<answer>", "exec"), {})
    except SystemExit:
        pytest.fail(f"student code ran at definition time:\n{kept}")
    except Exception:
        pass  # a NameError for a dropped definition is the student's own loss


def test_ipython_syntax_in_an_answer_is_dropped_not_fatal() -> None:
    source = "%matplotlib inline\n!ls\n\ndef f(x):\n    return x + 1\n"
    kept = clean_answer(P._ipython_to_python(source))
    ns: dict = {}
    exec(kept.source, ns)
    assert ns["f"](1) == 2 and len(kept.dropped) == 2


# ----------------------------------------------------------------------------- the grading notebook


def test_grading_source_has_no_demo_code_and_no_hidden_tests() -> None:
    solution = S.load_solution(LESSON)
    source = P.grading_source(solution)
    text = nbformat.writes(source)
    assert "BEGIN HIDDEN TESTS" not in text and "default_rng(1234)" not in text
    kinds = [("setup" if c in P.setup_cells(source) else "answer" if P.is_answer(c) else "tests" if P.is_tests(c)
              else "other") for c in source.cells if c.cell_type == "code"]
    assert kinds[0] == "setup" and "other" not in kinds
    assert [c.id for c in source.cells if c.cell_type == "markdown"] == [
        c.id for c in solution.cells if c.cell_type == "markdown"]


def test_split_tests_keep_line_numbers() -> None:
    source = "a = 1\nb = 2\n### BEGIN HIDDEN TESTS\nc = 3\n### END HIDDEN TESTS\n"
    segments = P.split_tests(source)
    assert [(s.hidden, s.first_line) for s in segments] == [(False, 1), (True, 4)]
    assert segments[1].source == "c = 3\n"
    assert P.visible_tests(source) == "a = 1\nb = 2\n" + P.HIDDEN_NOTE


def test_a_job_takes_only_answers_and_written_answers_from_the_student() -> None:
    released = nbformat.read(str(REPO / "lessons" / LESSON / f"{LESSON}.ipynb"), as_version=4)
    released.cells = [c for c in released.cells if c.get("id") != "colab-setup"]
    solution = S.load_solution(LESSON)
    student = S.perfect(LESSON)
    ex = S.exercises(LESSON)
    S.cell(student, ex[0].tests_id).source = "print('all passed')"
    student.cells.insert(3, nbformat.v4.new_code_cell("import os; os.system('rm -rf /')"))
    written = next(iter(S.written_answers(LESSON)))
    S.cell(student, written).source = "fine <script>alert(1)</script>"
    job = P.build_job(released, solution, student)
    code = "\n".join(c.source for c in job.notebook.cells if c.cell_type == "code")
    assert "rm -rf" not in code and "all passed" not in code
    assert "<script>" not in S.cell(job.notebook, written).source
    assert [t["grade_id"] for t in job.plan["tests"]] == [e.tests_id for e in ex]
    assert any(seg["hidden"] for t in job.plan["tests"] for seg in t["segments"])
    visible, hidden = sandbox.split_plan(job.plan)
    assert "default_rng(1234)" not in json.dumps(visible) and "default_rng(1234)" in json.dumps(hidden)


# ----------------------------------------------------------------------------- safe pages


def test_written_answers_keep_their_text_and_math_and_lose_active_content() -> None:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    plain = "The sensitivity is $\\Delta = 1$ because *one* person moves a count by 1; $a < b$."
    clean = sanitize_markdown(plain)
    assert "$\\Delta = 1$" in clean and "<em>one</em>" in clean and "$a &lt; b$" in clean
    dirty = ("ok <script>alert(1)</script><img src=x onerror=alert(1)><a href='javascript:alert(1)'>x</a>\n\n"
             "[y](javascript:alert(2)) <iframe src=x></iframe>\n\n```\ncode\n\n[z](javascript:alert(3))\n```\n")
    clean = sanitize_markdown(dirty)
    rendered = markdown2html_mistune(clean)  # what Formgrader and the feedback pages make of it
    from html.parser import HTMLParser

    found: list[str] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):  # noqa: ANN001
            found.append(tag)
            found.extend(f"{name}={value}" for name, value in attrs)

    Tags().feed(rendered)
    assert not [t for t in found if t in ("script", "iframe") or t.startswith("on") or "javascript" in t], found
    assert "[z](javascript:alert(3))" in rendered  # shown as code, inert
    assert "\n" not in clean and clean.startswith("<div>")


def test_outputs_are_rebuilt_from_an_allow_list() -> None:
    assert safe_output({"output_type": "display_data", "data": {"application/javascript": "alert(1)"}}) is None
    out = safe_output({"output_type": "execute_result", "data": {"text/html": "<b onclick=x>3</b><script>x</script>",
                                                                   "image/svg+xml": "<svg onload=alert(1)>"},
                       "execution_count": 1})
    assert out.output_type == "display_data" and set(out.data) == {"text/html"}
    assert "onclick" not in out.data["text/html"] and "script" not in out.data["text/html"]
    stream = safe_output({"output_type": "stream", "name": "stderr", "text": "warning"})
    assert stream.name == "stdout"  # nbgrader would score a test cell with stderr output 0


# ----------------------------------------------------------------------------- refusals


def test_grading_refuses_without_a_sandbox_unless_told(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "subs").mkdir()
    monkeypatch.setattr(sandbox, "available", lambda: (False, "bubblewrap (bwrap) is not installed"))
    with pytest.raises(SystemExit, match="--unsafe-no-sandbox"):
        G.grade_class(tmp_path / "subs", out=tmp_path / "out")


def test_unsafe_mode_says_what_is_unprotected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "subs").mkdir()
    G.grade_class(tmp_path / "subs", out=tmp_path / "out", unsafe_no_sandbox=True)
    err = capsys.readouterr().err
    for what in ("other students' submissions", "gradebook", "network", "processes"):
        assert what in err, what


def test_grading_folder_refuses_a_hand_run_autograde() -> None:
    text = (REPO / "autograder" / "nbgrader_config.py").read_text()
    assert re.search(r"^c\.Autograde\.autograde_preprocessors = \[UseTheCourseGrader\]$", text, re.M)
    from autograder.scoring import STAGING_CONFIG

    assert "ClearOutput" not in STAGING_CONFIG and "Execute" not in STAGING_CONFIG.replace("executed", "")


def test_ci_installs_bubblewrap_when_root() -> None:
    ci = (REPO / ".ci" / "run").read_text()
    assert "apt-get install" in ci and "bubblewrap" in ci and 'id -u)" = 0' in ci


def test_the_exchange_folder_is_not_world_writable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import stat

    from autograder import jupyter_setup

    monkeypatch.setattr(jupyter_setup, "REPO", tmp_path)
    (tmp_path / ".exchange").mkdir(mode=0o777)
    os.chmod(tmp_path / ".exchange", 0o777)  # left by an older set-up
    jupyter_setup.setup_jupyter(prefix=tmp_path / "prefix")
    mode = stat.S_IMODE((tmp_path / ".exchange").stat().st_mode)
    assert not mode & (stat.S_IWOTH | stat.S_IWGRP), oct(mode)


def test_jobs_default_to_the_number_of_cores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from autograder.__main__ import main

    seen: list[int] = []
    monkeypatch.setattr(G, "run_tasks", lambda tasks, limits, sandboxed, quick, jobs, executed: seen.append(jobs))
    monkeypatch.setattr(sandbox, "available", lambda: (True, ""))
    (tmp_path / "subs").mkdir()
    main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out")])
    main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--jobs", "3"])
    assert seen == [len(os.sched_getaffinity(0)), 3]


def test_run_one_refuses_without_a_sandbox_and_warns_when_told(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from autograder import execute
    from autograder.__main__ import main

    def unavailable(*args, sandboxed: bool = True, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if sandboxed:
            raise sandbox.SandboxUnavailable("bubblewrap (bwrap) is not installed")
        return execute.Executed(nbformat.v4.new_notebook(), "", [], 0.0, complete=True)

    monkeypatch.setattr(execute, "run_one", unavailable)
    assert main(["run-one", "job.ipynb", str(tmp_path / "x.ipynb")]) == 2
    assert "--unsafe-no-sandbox" in capsys.readouterr().err
    assert main(["run-one", "job.ipynb", str(tmp_path / "x.ipynb"), "--unsafe-no-sandbox"]) == 0
    err = capsys.readouterr().err
    assert "WITHOUT a sandbox" in err and "network" in err


# ----------------------------------------------------------------------------- scoring


def test_feedback_pages_are_shared_out_and_a_failure_stays_with_its_student(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The feedback pages are written by several nbgrader processes, each in a folder of its own with its
    share of the students; every page comes back to the staging folder, and a notebook nbgrader cannot
    convert costs its own student only (its shard is retried one student at a time)."""
    from autograder import scoring

    staging = tmp_path / "staging"
    students = [f"s{i}" for i in range(5)]
    for student in students:
        graded = staging / "autograded" / student / LESSON
        graded.mkdir(parents=True)
        (graded / f"{LESSON}.ipynb").write_text("{}")
    runs = []

    def fake_nbgrader(args: list[str], cwd: Path, timeout: float):  # what generate_feedback does to a folder
        import subprocess

        mine = [student for student in sorted(os.listdir(cwd / "autograded"))
                if "--student" not in args or student == args[args.index("--student") + 1]]
        runs.append((cwd.name, tuple(mine)))
        assert (cwd / "nbgrader_config.py").is_file()
        if "s3" in mine:  # nbgrader stops at a notebook it cannot convert
            return subprocess.CompletedProcess(args, 1, "", "NbGraderException: s3 is unreadable")
        for student in mine:
            page = cwd / "feedback" / student / LESSON
            page.mkdir(parents=True)
            (page / f"{LESSON}.html").write_text(student)
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(scoring, "_nbgrader", fake_nbgrader)
    monkeypatch.setattr(scoring, "run_nbgrader_parallel",
                        lambda calls, timeout: [fake_nbgrader(args, cwd, timeout) for args, cwd in calls])
    failed = scoring.feedback_pages(staging, LESSON, students, config="", jobs=2)
    assert set(failed) == {"s3"} and "s3 is unreadable" in failed["s3"]
    assert {cwd for cwd, _ in runs} == {".feedback-0", ".feedback-1"}  # two processes, two folders
    assert (".feedback-1", ("s1", "s3")) in runs and (".feedback-1", ("s1",)) in runs  # the retry, one by one
    for student in students:
        assert (staging / "autograded" / student / LESSON / f"{LESSON}.ipynb").is_file()
        page = staging / "feedback" / student / LESSON / f"{LESSON}.html"
        assert page.is_file() == (student != "s3")
    runs.clear()
    alone = tmp_path / "alone"
    (alone / "autograded" / "s0" / LESSON).mkdir(parents=True)
    (alone / "nbgrader_config.py").write_text("")  # score_lesson writes the staging folder's configuration
    assert scoring.feedback_pages(alone, LESSON, ["s0"], config="", jobs=4) == {}
    assert runs == [("alone", ("s0",))]  # one student: one process, in the staging folder itself
    assert (alone / "feedback" / "s0" / LESSON / f"{LESSON}.html").is_file()


def test_nbgrader_commands_run_side_by_side_and_each_reports(tmp_path: Path) -> None:
    from autograder.nbgrader_cli import run_nbgrader_parallel

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = run_nbgrader_parallel([(["--version"], tmp_path / "a"), (["generate_feedback", "nothing-here"],
                                                                             tmp_path / "b")], timeout=120)
    assert first is not None and first.returncode == 0 and first.stdout.strip()
    assert second is not None and second.returncode != 0 and "nothing-here" in second.stdout + second.stderr
    assert run_nbgrader_parallel([(["--version"], tmp_path / "a")], timeout=0.01) == [None]  # killed, not waited for
