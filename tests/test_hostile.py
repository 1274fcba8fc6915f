"""A class with hostile students, graded through the real pipeline (`python -m autograder grade`).

Every attack of issue 9 is a submission here, graded in one run of lesson 01 beside honest
students named to be graded before (amy, ben) and after (yan, zoe) them. A baseline run grades
the honest students alone. Then:

* the honest students' scores, original files and feedback pages are byte-identical to the
  baseline's;
* ``helpers/`` (the one the grader imports, and the repository's) is unchanged on disk;
* ``grades.csv`` is not modified after the run (a detached process tried), and holds exactly the
  expected rows;
* no process of an attacker survives (each one carries a marker in its command line);
* every submission stays within its budget, and the run does not fail;
* the attackers that tried to score themselves score nothing they did not earn;
* no page holds active content from a student, nor any hidden test's code.

Each attacker knows every path (the grading folder, the submissions, the solutions, helpers):
the worst case. Skips where bubblewrap cannot run; CI installs it.
"""
from __future__ import annotations

import csv
import hashlib
import html.parser
import os
import time
from pathlib import Path

import nbformat
import pytest

import scenarios as S
from autograder import sandbox
from autograder.grade import _gradebook, grade_class
from autograder.paths import REPO, SOLUTIONS

AVAILABLE, WHY = sandbox.available()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not AVAILABLE, reason=f"bubblewrap cannot run here: {WHY}")]

LESSON = "01_sensitivity"
MARKER = f"ppml-hostile-{os.getpid()}"
BUDGET = 90.0
CELL_TIMEOUT = 20.0
HONEST = ("amy", "ben", "yan", "zoe")


# ----------------------------------------------------------------------------- building submissions


def _exercises():
    return S.exercises(LESSON)


def with_attack(nb: nbformat.NotebookNode, attack: str, *, exercise: int = 0) -> nbformat.NotebookNode:
    """Run ``attack`` (the body of ``_attack()``) the first time the tests call exercise ``exercise``'s
    function, and also try it at the top level (which must never run)."""
    ex = _exercises()[exercise]
    cell = S.cell(nb, ex.answer_id)
    body = "\n".join("    " + line for line in attack.strip("\n").splitlines())
    original = cell.source if "NotImplementedError" not in cell.source else ex.solution_source
    cell.source = (
        f"def _attack():\n{body}\n\n"
        "_attack()  # at the top level: must never run\n\n"
        + original.replace(f"def {ex.function}(", f"def _original_{ex.function}(", 1)
        + f"\n\n_DONE = []\n\ndef {ex.function}(*args, **kwargs):\n"
        "    if not _DONE:\n"
        "        _DONE.append(1)\n"
        "        try:\n"
        "            _attack()\n"
        "        except BaseException as exc:\n"
        "            print('attack failed:', type(exc).__name__, str(exc)[:300])\n"
        f"    return _original_{ex.function}(*args, **kwargs)\n")
    return nb


def blank_with(answers: dict[int, str]) -> nbformat.NotebookNode:
    """The released (blank) notebook with some answer cells replaced."""
    nb = S.load_released(LESSON)
    for index, source in answers.items():
        S.cell(nb, _exercises()[index].answer_id).source = source
    return nb


def every_answer(template: str) -> dict[int, str]:
    return {i: template.format(name=e.function, reference=e.reference) for i, e in enumerate(_exercises())}


def partial(correct: range) -> nbformat.NotebookNode:
    nb = S.load_released(LESSON)
    for i in correct:
        ex = _exercises()[i]
        S.cell(nb, ex.answer_id).source = ex.solution_source
    return nb


def tree_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def processes_with(marker: str) -> list[str]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmd:
                found.append(f"{entry}: {cmd[:200]!r}")
    return found


def attackers(subs: Path, out: Path) -> dict[str, object]:
    """name -> notebook (or a callable that lays out the submission folder itself)."""
    import helpers

    L = LESSON
    installed_helpers = Path(helpers.__file__).resolve().parent
    amy = subs / "amy" / L / f"{L}.ipynb"
    paths = dict(out=str(out), subs=str(subs), amy=str(amy), solutions=str(SOLUTIONS / L / f"{L}.ipynb"),
                 helpers=str(installed_helpers), repo_helpers=str(REPO / "helpers"), marker=MARKER)
    perfect = lambda: S.perfect(L)  # noqa: E731
    A: dict[str, object] = {}

    A["m01-overwrite"] = with_attack(perfect(), f"""
import glob, json, os, shutil
p = {paths!r}
for pid in [d for d in os.listdir('/proc') if d.isdigit()]:
    try:
        print('proc', pid, open(f'/proc/{{pid}}/cmdline', 'rb').read()[:120])
    except OSError:
        pass
for target in (p['amy'], p['out'] + '/feedback/amy/{L}/{L}.html', p['out'] + '/grades.csv',
               p['out'] + '/.status.json', p['out'] + '/gradebook.db', p['out'] + '/autograded/amy/{L}/{L}.ipynb'):
    try:
        with open(target, 'w') as f:
            f.write('{{"cells": []}} hacked by m01')
        print('OVERWROTE', target)
    except OSError as exc:
        print('blocked', target, exc.errno)
try:
    json.dump({{'amy/{L}': {{'status': 'malformed', 'max_score': 19, 'notes': []}},
               'eve/{L}': {{'status': 'graded', 'max_score': 19}}}}, open(p['out'] + '/.status.json', 'w'))
except OSError as exc:
    print('blocked status', exc.errno)
for src in (p['solutions'], '../../../source/{L}/{L}.ipynb', p['out'] + '/source/{L}/{L}.ipynb'):
    try:
        shutil.copy(src, 'stolen.ipynb')
        print('STOLE', src, open('stolen.ipynb').read()[:2000])
    except OSError as exc:
        print('blocked', src, exc.errno)
""")

    A["m02-gradebook"] = with_attack(perfect(), f"""
p = {paths!r}
from nbgrader.api import Gradebook
with Gradebook('sqlite:///' + p['out'] + '/gradebook.db') as gb:
    for grade in gb.find_submission('{L}', 'amy').notebooks[0].grades:
        grade.manual_score = 0
    gb.db.commit()
    print('GRADEBOOK CHANGED')
""")

    A["m03-helpers"] = with_attack(perfect(), f"""
p = {paths!r}
for folder in (p['helpers'], p['repo_helpers']):
    try:
        with open(folder + '/checks.py', 'a') as f:
            f.write('\\nraise SystemExit("every later student scores 0")\\n')
        print('APPENDED', folder)
    except OSError as exc:
        print('blocked', folder, exc.errno)
""")

    A["m04-late-writer"] = with_attack(perfect(), f"""
import os, subprocess
p = {paths!r}
subprocess.Popen(['sh', '-c', 'sleep 3; echo "m04,{L},19,19" > "$0"; : ' + p['marker'], p['out'] + '/grades.csv'],
                 start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        import time
        time.sleep(4)
        try:
            open(p['out'] + '/grades.csv', 'w').write('student,lesson,score,max_score\\nm04,{L},19,19\\n')
        except OSError:
            pass
    os._exit(0)
""")

    A["m05-hold-stdout"] = with_attack(perfect(), f"""
import subprocess
for fds in (True, False):
    subprocess.Popen(['sh', '-c', 'sleep infinity; : {MARKER}'], start_new_session=True, close_fds=fds)
print('left a process holding the output')
""")

    A["m06-kill-grader"] = with_attack(perfect(), """
import os, signal
for pid in [int(d) for d in os.listdir('/proc') if d.isdigit()]:
    if pid != os.getpid():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
os.kill(-1, signal.SIGKILL)
""")

    def fifo(folder: Path) -> None:
        folder.mkdir(parents=True)
        os.mkfifo(folder / f"{L}.ipynb")
    A["m07-fifo"] = fifo

    def loop(folder: Path) -> None:
        S.write(perfect(), folder.parent.parent, folder.parent.name, L)
        (folder / "loop").symlink_to(".")
        (folder / "other").symlink_to("/etc")
    A["m08-symlink-loop"] = loop

    def non_utf8(folder: Path) -> None:
        S.write(perfect(), folder.parent.parent, folder.parent.name, L)
        with open(os.path.join(os.fsencode(folder), b"\xff\xfe-name.txt"), "wb") as handle:
            handle.write(b"x")
        bad = os.path.join(os.fsencode(folder.parent.parent), b"m09\xffbad", os.fsencode(L))
        os.makedirs(bad)
        with open(os.path.join(bad, os.fsencode(f"{L}.ipynb")), "w") as handle:
            handle.write(nbformat.writes(perfect()))
    A["m09-non-utf8"] = non_utf8

    A["m10-print-1gb"] = with_attack(perfect(), """
import sys
chunk = 'x' * (1 << 20)
for _ in range(1024):
    sys.stdout.write(chunk)
""")

    A["m11-sparse-5gb"] = with_attack(perfect(), """
for name in ('sparse.bin', '/tmp/sparse.bin'):
    try:
        with open(name, 'wb') as f:
            f.truncate(5 * 1024**3)
            f.seek(5 * 1024**3 - 1)
            f.write(b'x')
        print('SPARSE OK', name)
    except OSError as exc:
        print('blocked', name, exc.errno)
""")

    A["m12-alloc-30gb"] = with_attack(perfect(), """
blocks = []
for _ in range(30):
    block = bytearray(1024**3)
    block[::4096] = b'x' * len(block[::4096])
    blocks.append(block)
print('ALLOCATED 30 GB')
""")

    A["m13-fork-200"] = with_attack(perfect(), f"""
import subprocess
started = 0
for _ in range(200):
    try:
        subprocess.Popen(['sh', '-c', 'sleep 1000; : {MARKER}'], start_new_session=True)
        started += 1
    except OSError:
        break
print('started', started)
""")

    many = perfect()
    many.cells += [nbformat.v4.new_code_cell("while True:\n    pass") for _ in range(3000)]
    A["m14-3000-cells"] = many

    def link_classmate(folder: Path) -> None:
        folder.mkdir(parents=True)
        (folder / f"{L}.ipynb").symlink_to(f"../../amy/{L}/{L}.ipynb")
    A["m15-link-classmate"] = link_classmate

    def link_outside(folder: Path) -> None:
        folder.mkdir(parents=True)
        (folder / f"{L}.ipynb").symlink_to("/etc/passwd")
        (folder / "secrets").symlink_to("/root")
    A["m16-link-outside"] = link_outside

    script = f"<script>alert('{MARKER}')</script>"
    html_nb = with_attack(perfect(), f"""
print({script!r})
try:
    from IPython.display import HTML, Javascript, display
    display(HTML({script!r}))
    display(Javascript("alert('{MARKER}')"))
except Exception as exc:
    print('no display', exc)
""")
    for i, gid in enumerate(S.written_answers(L)):
        S.cell(html_nb, gid).source = [
            f"My answer {script} <img src=x onerror=\"alert('{MARKER}')\"> [link](javascript:alert('{MARKER}'))",
            f"<iframe src=\"javascript:alert('{MARKER}')\"></iframe><a href=\"javascript:alert('{MARKER}')\">x</a>"
            f"<svg onload=\"alert('{MARKER}')\"></svg>"][i % 2]
    A["m17-html"] = html_nb

    checks_names = ("check_function", "check_raises", "check_close", "check_equal", "check_true", "call",
                    "check_reproducible", "check_mean", "check_variance", "check_samples")
    replace_checks = ("import helpers.checks as _c\n"
                      f"for _name in {checks_names!r}:\n"
                      "    setattr(_c, _name, lambda *a, **k: None)\n")
    A["m18-checks-top-level"] = blank_with({0: replace_checks + "\ndef remove_one_neighbours(db):\n"
                                                "    raise NotImplementedError()\n"})
    A["m19-checks-in-body"] = blank_with({0: (
        "def remove_one_neighbours(db):\n"
        "    import builtins, sys\n"
        "    import helpers.checks as c\n"
        f"    for name in {checks_names!r}:\n"
        "        setattr(c, name, lambda *a, **k: None)\n"
        "    for mod in list(sys.modules.values()):\n"
        "        for name in ('check_function', 'check_raises'):\n"
        "            if hasattr(mod, name):\n"
        "                try: setattr(mod, name, lambda *a, **k: None)\n"
        "                except Exception: pass\n"
        "    return None\n")})
    A["m20-input-transformer"] = blank_with({0: (
        "get_ipython().input_transformers_post.append(lambda lines: [])\n"
        "import IPython\n\n"
        "def remove_one_neighbours(db):\n"
        "    ip = IPython.get_ipython()\n"
        "    ip.input_transformers_post.append(lambda lines: [])\n"
        "    ip.showtraceback = lambda *a, **k: None\n")})
    A["m21-setprofile"] = blank_with(every_answer(
        "import sys as _sys, importlib as _il\n\n"
        "def {name}(*args, **kwargs):\n"
        "    _sys.setprofile(None)\n"
        "    _sys.settrace(None)\n"
        "    module, _, attr = {reference!r}.rpartition('.')\n"
        "    return getattr(_il.import_module(module), attr)(*args, **kwargs)\n"))

    def fake_helpers(folder: Path) -> None:
        fake = blank_with({0: (
            "def remove_one_neighbours(db):\n"
            "    import os, sys, importlib\n"
            "    os.makedirs('helpers', exist_ok=True)\n"
            "    open('helpers/__init__.py', 'w').write('')\n"
            "    open('helpers/checks.py', 'w').write('def check_function(*a, **k): pass\\n"
            "def check_raises(*a, **k): pass\\n')\n"
            "    sys.path.insert(0, os.getcwd())\n"
            "    for name in [m for m in sys.modules if m == 'helpers' or m.startswith('helpers.')]:\n"
            "        del sys.modules[name]\n"
            "    importlib.import_module('helpers.checks')\n")})
        S.write(fake, folder.parent.parent, folder.parent.name, L)
        (folder / "helpers").mkdir()
        (folder / "helpers" / "__init__.py").write_text("")
        (folder / "helpers" / "checks.py").write_text(
            "def check_function(*a, **k):\n    print('fake check passed')\n"
            "def check_raises(*a, **k):\n    pass\n")
    A["m22-fake-helpers"] = fake_helpers

    A["m23-exec-source"] = blank_with(every_answer(
        "def {name}(*args, **kwargs):\n"
        "    import json\n"
        f"    for path in ('../../../source/{L}/{L}.ipynb', {paths['solutions']!r},\n"
        f"                 {paths['out'] + '/source/' + L + '/' + L + '.ipynb'!r}):\n"
        "        try:\n"
        "            cells = json.load(open(path))['cells']\n"
        "        except OSError:\n"
        "            continue\n"
        "        ns = {{}}\n"
        "        for c in cells:\n"
        "            src = ''.join(c['source'])\n"
        "            if src.startswith('def {name}('):\n"
        "                exec(src, ns)\n"
        "                return ns['{name}'](*args, **kwargs)\n"
        "    return None\n"))
    A["m24-eq-true"] = blank_with(every_answer(
        "class _Anything:\n"
        "    def __eq__(self, other):\n"
        "        return True\n"
        "    def __ne__(self, other):\n"
        "        return False\n"
        "    def __array__(self, *a, **k):\n"
        "        raise TypeError('no')\n\n"
        "def {name}(*args, **kwargs):\n"
        "    return _Anything()\n"))

    def old_timestamp(folder: Path) -> None:
        S.write(perfect(), folder.parent.parent, folder.parent.name, L)
        (folder / "timestamp.txt").write_text("1999-01-01 00:00:00.000000 UTC")
    A["m25-timestamp"] = old_timestamp

    def newline_name(folder: Path) -> None:
        S.write(perfect(), folder.parent.parent, "alice\n", L)
    A["m26-newline"] = newline_name

    A["m27-hidden-dump"] = with_attack(perfect(), """
import gc, linecache, sys, sysconfig
frame = sys._getframe()
while frame is not None:
    print('FRAME', frame.f_code.co_filename, frame.f_code.co_consts[:5])
    frame = frame.f_back
for name, entry in list(linecache.cache.items()):
    print('LINECACHE', name, ''.join(entry[2])[:3000] if len(entry) > 2 else '')
for obj in gc.get_objects():
    if isinstance(obj, dict) and 'segments' in obj:
        print('PLAN', str(obj)[:3000])
open('/tmp/stash', 'w').write('stash')
""")
    return A


def write_attackers(subs: Path, out: Path) -> list[str]:
    names = []
    for name, what in attackers(subs, out).items():
        folder = subs / name / LESSON
        if callable(what):
            what(folder)
        else:
            S.write(what, subs, name, LESSON)
        names.append(name)
    return names


# ----------------------------------------------------------------------------- the two runs


class Run:
    def __init__(self, out: Path, report, seconds: float):
        self.out, self.report, self.seconds = out, report, seconds

    def result(self, student: str):
        return next(r for r in self.report.results if r.student == student)

    def page(self, student: str) -> bytes:
        return (self.out / "feedback" / student / LESSON / f"{LESSON}.html").read_bytes()

    def rows(self) -> dict[str, dict[str, str]]:
        with open(self.out / "grades.csv", newline="") as handle:
            return {row["student"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    import helpers

    tmp = tmp_path_factory.mktemp("hostile")
    subs = tmp / "submissions"
    S.write(S.perfect(LESSON), subs, "amy", LESSON)
    S.write(partial(range(0, 3)), subs, "ben", LESSON)
    S.write(partial(range(3, 6)), subs, "yan", LESSON)
    S.write(S.perfect(LESSON), subs, "zoe", LESSON)
    limits = dict(timeout=CELL_TIMEOUT, jobs=2)

    def grade(out: Path) -> Run:
        start = time.monotonic()
        report = grade_class(subs, out=out, lessons=[LESSON], **limits,
                             limits=sandbox.Limits(budget=BUDGET, cell_timeout=CELL_TIMEOUT,
                                                   memory=sandbox.GiB))  # 1 GiB: kind to CI machines
        return Run(out, report, time.monotonic() - start)

    baseline = grade(tmp / "baseline")
    honest_files = {s: tree_hash(subs / s) for s in HONEST}
    helper_dirs = {Path(helpers.__file__).resolve().parent, REPO / "helpers"}
    helpers_before = {d: tree_hash(d) for d in helper_dirs}
    out = tmp / "hostile"
    names = write_attackers(subs, out)
    hostile = grade(out)
    grades = out / "grades.csv"
    after_run = (grades.stat().st_mtime_ns, grades.read_bytes())
    time.sleep(6)  # the detached writers would strike 3-4 s after their test
    return dict(baseline=baseline, hostile=hostile, subs=subs, names=names, honest_files=honest_files,
                helpers_before=helpers_before, grades_after_run=after_run,
                grades_later=(grades.stat().st_mtime_ns, grades.read_bytes()),
                survivors=processes_with(MARKER))


# ----------------------------------------------------------------------------- the invariants


def test_the_run_does_not_fail_and_every_attacker_is_reported(runs) -> None:
    hostile = runs["hostile"]
    assert hostile.report.ok, hostile.report.errors
    students = {r.student for r in hostile.report.results}
    expected = set(HONEST) | set(runs["names"]) - {"m26-newline"}
    assert students == expected, students ^ expected
    warnings = " ".join(hostile.report.warnings)
    assert "m09\\xffbad" in warnings and "alice\\n" in warnings, hostile.report.warnings


def test_honest_scores_files_and_pages_are_identical_to_the_baseline(runs) -> None:
    baseline, hostile = runs["baseline"], runs["hostile"]
    for student in HONEST:
        assert hostile.result(student).status == "graded"
        assert hostile.result(student).score == baseline.result(student).score, student
        assert hostile.page(student) == baseline.page(student), f"{student}'s feedback page changed"
        assert tree_hash(runs["subs"] / student) == runs["honest_files"][student], f"{student}'s submission changed"
    assert baseline.result("amy").score == 15 and baseline.result("ben").score > 0


def test_helpers_are_unchanged_on_disk(runs) -> None:
    for folder, digest in runs["helpers_before"].items():
        assert tree_hash(folder) == digest, f"{folder} changed"


def test_grades_csv_is_not_modified_after_the_run_and_holds_only_real_rows(runs) -> None:
    assert runs["grades_later"] == runs["grades_after_run"]
    rows = runs["hostile"].rows()
    assert set(rows) == set(HONEST) | {n for n in runs["names"] if n not in ("m26-newline",)}
    assert "eve" not in rows and not any("\n" in s for s in rows)
    assert all(float(r["score"]) <= float(r["max_score"]) for r in rows.values())


def test_no_attacker_process_survives(runs) -> None:
    assert runs["survivors"] == []


def test_every_submission_stays_within_its_budget(runs) -> None:
    hostile = runs["hostile"]
    for r in hostile.report.results:
        assert r.seconds <= BUDGET + 15, (r.student, r.seconds)
    assert hostile.result("m14-3000-cells").seconds < 60


def test_attackers_that_tried_to_score_themselves_score_nothing(runs) -> None:
    hostile = runs["hostile"]
    for name in ("m18-checks-top-level", "m19-checks-in-body", "m20-input-transformer", "m21-setprofile",
                 "m22-fake-helpers", "m23-exec-source", "m24-eq-true"):
        assert hostile.result(name).status == "graded", (name, hostile.result(name).notes)
        assert hostile.result(name).score == 0, (name, hostile.result(name).score)


def test_the_attacks_really_ran_and_were_blocked(runs) -> None:
    """Read the attackers' own graded notebooks: their code ran, and met walls."""
    out = runs["hostile"].out

    def outputs(name: str) -> str:
        nb = nbformat.read(str(out / "autograded" / name / LESSON / f"{LESSON}.ipynb"), as_version=4)
        return "\n".join(o.get("text", "") + o.get("evalue", "") for c in nb.cells if c.cell_type == "code"
                         for o in c.get("outputs", []))

    text = outputs("m01-overwrite")
    assert "blocked" in text and "OVERWROTE" not in text and "STOLE" not in text, text[:3000]
    assert "proc 1 b'/usr/bin/bwrap" in text or "proc 1 b'bwrap" in text, text[:2000]
    assert "GRADEBOOK CHANGED" not in outputs("m02-gradebook")
    text = outputs("m03-helpers")
    assert "APPENDED" not in text and "blocked" in text, text[:2000]
    assert "SPARSE OK" not in outputs("m11-sparse-5gb")
    assert "ALLOCATED" not in outputs("m12-alloc-30gb")
    text = outputs("m13-fork-200")
    assert "started 200" not in text
    for name in ("m07-fifo", "m15-link-classmate", "m16-link-outside"):
        assert runs["hostile"].result(name).status in ("malformed", "missing"), name
    assert runs["hostile"].result("m08-symlink-loop").score == 15
    assert runs["hostile"].result("m09-non-utf8").score == 15


def test_the_grading_folder_stays_small(runs) -> None:
    """1 GB of print, a 5 GB sparse file: neither reaches the grading folder."""
    out = runs["hostile"].out
    sizes = {p: p.lstat().st_blocks * 512 for p in out.rglob("*") if p.is_file() and not p.is_symlink()}
    assert sum(sizes.values()) < 64 * 1024**2, sorted(sizes.items(), key=lambda kv: -kv[1])[:3]
    page = out / "feedback" / "m10-print-1gb" / LESSON / f"{LESSON}.html"
    assert page.stat().st_size < 2 * 1024**2, page.stat().st_size
    assert not [p for p in sizes if p.name.startswith("sparse")]


def test_submission_time_comes_from_the_instructor_side(runs) -> None:
    with _gradebook(runs["hostile"].out) as gb:
        stamp = gb.find_submission(LESSON, "m25-timestamp").timestamp
    assert stamp is not None and stamp.year >= 2024


class _Active(html.parser.HTMLParser):
    """Collects script bodies, event-handler attributes and javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.active: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        self._in_script = tag == "script"
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") or value.strip().lower().startswith("javascript:") or (
                    name == "src" and tag in ("iframe", "embed", "object")):
                self.active.append(f"{tag} {name}={value}")

    def handle_endtag(self, tag):  # noqa: ANN001
        self._in_script = False

    def handle_data(self, data):  # noqa: ANN001
        if self._in_script:
            self.active.append(data)


def test_no_page_carries_active_content_from_a_student(runs) -> None:
    out = runs["hostile"].out
    for student in ("m17-html", "amy"):
        for path in (out / "feedback" / student / LESSON / f"{LESSON}.html",):
            parser = _Active()
            parser.feed(path.read_text())
            assert not [a for a in parser.active if MARKER in a], [a for a in parser.active if MARKER in a]
        # What Formgrader renders: the stored notebooks, through nbconvert's own HTML export.
        from nbconvert import HTMLExporter

        for kind in ("autograded", "submitted"):
            body, _ = HTMLExporter().from_filename(str(out / kind / student / LESSON / f"{LESSON}.ipynb"))
            parser = _Active()
            parser.feed(body)
            assert not [a for a in parser.active if MARKER in a], (kind, [a for a in parser.active if MARKER in a])
    nb = nbformat.read(str(out / "autograded" / "m17-html" / LESSON / f"{LESSON}.ipynb"), as_version=4)
    kinds = {o.output_type for c in nb.cells if c.cell_type == "code" for o in c.outputs}
    assert kinds <= {"stream", "error"}, kinds


def test_no_page_shows_hidden_test_code(runs) -> None:
    hidden = S.hidden_only_lines(LESSON)
    assert hidden
    out = runs["hostile"].out
    import html as html_module

    for student in (*HONEST, *[n for n in runs["names"] if (out / "feedback" / n).is_dir()]):
        page = (out / "feedback" / student / LESSON / f"{LESSON}.html").read_text()
        leaked = [line for line in hidden if line in page or html_module.escape(line) in page]
        assert not leaked, (student, leaked[:2])
