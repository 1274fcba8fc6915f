"""The sandbox each submission runs in (autograder/sandbox.py, autograder/runner.py), probed directly:
a grading plan whose "answers" and "tests" are the hostile code, and checks of what it could reach.

These need bubblewrap; they skip, saying why, where it cannot run (CI runs as root and installs it).
"""
from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from autograder import sandbox
from autograder.paths import REPO

AVAILABLE, WHY = sandbox.available()
pytestmark = pytest.mark.skipif(not AVAILABLE, reason=f"bubblewrap cannot run here: {WHY}")

FAST = dict(cell_timeout=10.0, budget=60.0)


def plan(*tests: str, answers: tuple[str, ...] = (), setup: str = "import os, sys") -> dict:
    """A plan: one setup cell, answer cells, then test cells (each may hold a hidden block)."""
    from autograder.plan import split_tests

    cells: dict = {"setup": [{"id": "setup", "source": setup}], "answers": [], "tests": []}
    position = 1
    for i, source in enumerate(answers):
        cells["answers"].append({"id": f"a{i}", "grade_id": f"a{i}", "position": position, "source": source})
        position += 1
    for i, source in enumerate(tests):
        cells["tests"].append({"id": f"t{i}", "grade_id": f"t{i}", "position": position,
                               "segments": [vars(s) for s in split_tests(source)]})
        position += 1
    return cells


def run(p: dict, **limits) -> tuple[dict[str, dict], sandbox.RunResult]:
    result = sandbox.run_plan(p, sandbox.Limits(**{**FAST, **limits}))
    cells = {r["id"]: r for r in result.records if r.get("type") == "cell"}
    for r in result.records:
        if r.get("type") == "hidden":
            cells[r["id"]]["hidden_status"] = r["status"]
    return cells, result


def text(cell: dict) -> str:
    return "".join(o.get("text", "") + o.get("evalue", "") + "\n".join(o.get("traceback", []))
                   for o in cell["outputs"])


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
            except OSError:
                pass
    return found


def test_identity_filesystem_and_processes() -> None:
    """uid 65534 without capabilities; only the system, the venv and helpers are mounted, read-only;
    a PID namespace of its own; the grader's files and processes are out of reach."""
    import helpers

    helpers_dir = Path(helpers.__file__).resolve().parent
    probe = f"""
import os
st = open('/proc/self/status').read()
print('uid', os.getuid(), os.getgid())
print('capeff', st.split('CapEff:')[1].split()[0])
print('grader visible', os.path.exists({str(Path(__file__).resolve())!r}))
print('solutions visible', os.path.exists({str(REPO / 'solutions')!r}))
print('autograder visible', os.path.exists({str(REPO / 'autograder')!r}))
print('helpers visible', os.path.exists({str(helpers_dir / 'checks.py')!r}))
try:
    open({str(helpers_dir / 'checks.py')!r}, 'a').write('# tampered')
    print('helpers writable')
except OSError as exc:
    print('helpers not writable', exc.errno)
pids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())
print('max pid', max(pids), 'count', len(pids))
try:
    os.kill({os.getpid()}, 0)
    print('grader pid reachable')
except ProcessLookupError:
    print('grader pid not here')
"""
    cells, result = run(plan(probe))
    out = text(cells["t0"])
    assert result.finished, result
    assert "uid 65534 65534" in out and "capeff 0000000000000000" in out, out
    assert "grader visible False" in out and "solutions visible False" in out and "autograder visible False" in out
    assert "helpers visible True" in out, out
    assert "helpers not writable 30" in out or "helpers not writable 13" in out, out  # EROFS, or EACCES as nobody
    assert "grader pid not here" in out or f"{os.getpid()}" not in out
    assert int(out.split("count ")[1].split()[0]) < 10, out


def test_no_network_but_loopback() -> None:
    """Loopback only: a server on the grader's own loopback is out of reach, the internet too."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    probe = f"""
import socket
for host, port in (('127.0.0.1', {port}), ('1.1.1.1', 53), ('10.0.0.1', 80)):
    s = socket.socket(); s.settimeout(2)
    try:
        s.connect((host, port)); print('reached', host)
    except OSError as exc:
        print('refused', host, type(exc).__name__)
lo = socket.socket(); lo.bind(('127.0.0.1', 0)); lo.listen(1)
c = socket.create_connection(lo.getsockname(), timeout=2); print('loopback ok')
"""
    try:
        cells, _ = run(plan(probe))
    finally:
        server.close()
    out = text(cells["t0"])
    assert "reached" not in out and out.count("refused") == 3 and "loopback ok" in out, out


def test_each_exercise_runs_in_a_fresh_process() -> None:
    """Tampering while one exercise is tested (a module patched, a file planted, a process left
    behind) does not reach the next exercise."""
    marker = f"isolation-{os.getpid()}-{time.time_ns()}"
    first = f"""
import json, subprocess
json.dumps = lambda *a, **k: 'forged'
open('/tmp/planted', 'w').write('x')
subprocess.Popen(['sh', '-c', 'sleep 300 # {marker}'], start_new_session=True)
print('tampered')
"""
    second = """
import json, os, subprocess
print('json ok', json.dumps([1]) == '[1]')
print('planted', os.path.exists('/tmp/planted'))
print('others', subprocess.run(['sh', '-c', 'ls /proc | grep -c "^[0-9]"'], capture_output=True, text=True).stdout.strip())
"""
    cells, result = run(plan(first, second))
    assert "tampered" in text(cells["t0"])
    out = text(cells["t1"])
    assert "json ok True" in out and "planted False" in out, out
    assert not processes_with(marker), "a process of the sandbox survived the run"
    assert not result.survivors


def test_runner_process_cannot_be_ptraced_or_read() -> None:
    """The kernel's own process (which holds the plan) is not dumpable: a test process cannot read
    its memory, its environment or its file descriptors."""
    probe = """
import os
ppid = os.getppid()
for what in ('mem', 'environ', 'fd/0', 'maps'):
    try:
        with open(f'/proc/{ppid}/{what}', 'rb') as f:
            f.read(1)
        print('read', what)
    except OSError as exc:
        print('denied', what, exc.errno)
"""
    cells, _ = run(plan(probe))
    out = text(cells["t0"])
    assert "read " not in out and out.count("denied") == 4, out


def test_hidden_code_is_not_in_the_sandbox_while_visible_output_is_shown() -> None:
    """During the visible tests the hidden code is nowhere in the test process's memory; what the
    hidden tests print is discarded; only passed/failed comes back."""
    secret = "HIDDEN-MARKER-7f3a"
    # The spy looks for the secret shifted by one byte value, so that its own needle never
    # matches: memory holds the secret only if the shifted memory holds the shifted secret.
    shifted = bytes((b + 1) % 256 for b in secret.encode())
    answer = f"""
def spy():
    import ctypes
    table = bytes((i + 1) % 256 for i in range(256))
    found = 0
    with open('/proc/self/maps') as maps:
        for line in maps.read().splitlines():
            fields = line.split()
            addr, perms = fields[:2]
            if not perms.startswith('r') or (len(fields) > 5 and fields[5] in ('[vvar]', '[vsyscall]', '[vvar_vclock]')):
                continue
            lo, hi = (int(x, 16) for x in addr.split('-'))
            found += {shifted!r} in ctypes.string_at(lo, hi - lo).translate(table)
    print('spy found', found)
"""
    test = f"""
spy()
### BEGIN HIDDEN TESTS
print({secret!r})
spy()
### END HIDDEN TESTS
"""
    control = f"_here = {secret[:6]!r} + {secret[6:]!r}\nspy()\n"  # the spy does find what is there
    cells, result = run(plan(test, control, answers=(answer,)))
    out = text(cells["t0"])
    assert "spy found 0" in out, out
    assert secret not in json.dumps([r for r in result.records if r.get("id") == "t0"])
    assert cells["t0"]["hidden_status"] == "passed"
    assert "spy found 0" not in text(cells["t1"]) and "spy found" in text(cells["t1"]), text(cells["t1"])


def test_hidden_failure_and_visible_failure() -> None:
    cells, _ = run(plan("print('visible ok')\n### BEGIN HIDDEN TESTS\nraise ValueError('secret input 42')\n"
                        "### END HIDDEN TESTS\n", "raise AssertionError('visible broke')\n"
                        "### BEGIN HIDDEN TESTS\nprint('never')\n### END HIDDEN TESTS\n"))
    assert cells["t0"]["status"] == "ok" and cells["t0"]["hidden_status"] == "failed"
    assert "secret input" not in json.dumps(cells)
    assert cells["t1"]["status"] == "error" and cells["t1"].get("hidden") == "none"
    assert "visible broke" in text(cells["t1"])


def test_memory_limit_stops_the_test_not_the_run() -> None:
    hog = "x = bytearray(3 * 1024**3)\nx[::4096] = b'y' * len(x[::4096])\nprint('allocated')\n"
    cells, result = run(plan(hog, "print('next exercise runs')"), memory=512 * sandbox.MiB)
    assert cells["t0"]["status"] == "error" and "allocated" not in text(cells["t0"])
    assert "next exercise runs" in text(cells["t1"]) and result.finished


def test_process_limit_and_no_survivors() -> None:
    marker = f"forkbomb-{os.getpid()}-{time.time_ns()}"
    bomb = f"""
import subprocess
started = 0
for _ in range(300):
    try:
        subprocess.Popen(['sh', '-c', 'sleep 300 # {marker}'], start_new_session=True)
        started += 1
    except OSError:
        break
print('started', started)
"""
    cells, result = run(plan(bomb), pids=64)
    started = int(text(cells["t0"]).split("started ")[1].split()[0]) if "started " in text(cells["t0"]) else 0
    assert started < 64, text(cells["t0"])
    assert result.finished
    assert not processes_with(marker)


def test_file_size_and_disk_limits() -> None:
    probe = """
import os
for name, size in (('big', 32 * 1024**2), ('sparse', 5 * 1024**3)):
    try:
        with open(name, 'wb') as f:
            if name == 'sparse':
                f.truncate(size)
            else:
                f.write(b'x' * size)
        print('wrote', name)
    except OSError as exc:
        print('refused', name, exc.errno)
"""
    cells, _ = run(plan(probe), file_size=8 * sandbox.MiB)
    out = text(cells["t0"])
    assert "wrote" not in out and out.count("refused") == 2, out


def test_output_is_capped_while_streaming() -> None:
    """A gigabyte of print is stopped after stop_output bytes; the grader keeps keep_output."""
    flood = "import sys\nchunk = 'x' * 65536 + '\\n'\nfor _ in range(16384):\n    sys.stdout.write(chunk)\n"
    start = time.monotonic()
    cells, result = run(plan(flood, "print('after')"), stop_output=4 * sandbox.MiB, keep_output=10_000)
    assert time.monotonic() - start < 30
    assert any(o.get("ename") == "OutputLimitError" for o in cells["t0"]["outputs"])
    assert len(json.dumps(result.records)) < 100_000
    assert "after" in text(cells["t1"])


def test_budget_ends_a_submission_and_kills_everything() -> None:
    marker = f"budget-{os.getpid()}-{time.time_ns()}"
    slow = f"import subprocess, time\nsubprocess.Popen(['sh', '-c', 'sleep 300 # {marker}'])\ntime.sleep(8)\n"
    start = time.monotonic()
    cells, result = run(plan(slow, slow, slow), budget=6, cell_timeout=30)
    assert time.monotonic() - start < 20
    assert result.stopped == "budget" and not result.finished
    assert not processes_with(marker)


def test_a_detached_process_holding_the_output_cannot_hang_the_grader() -> None:
    marker = f"holder-{os.getpid()}-{time.time_ns()}"
    holder = f"import subprocess\nsubprocess.Popen(['sh', '-c', 'exec sleep 300 # {marker}'], start_new_session=True)\nprint('left')\n"
    start = time.monotonic()
    cells, result = run(plan(holder, "print('second')"))
    assert time.monotonic() - start < 20 and result.finished
    assert "second" in text(cells["t1"])
    assert not processes_with(marker)


def test_infinite_loop_that_swallows_interrupts_is_killed() -> None:
    loop = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    pass\n"
    start = time.monotonic()
    cells, result = run(plan(loop, "print('after loop')"), cell_timeout=2)
    assert time.monotonic() - start < 15
    assert any(o.get("ename") == "CellTimeoutError" for o in cells["t0"]["outputs"])
    assert "after loop" in text(cells["t1"])


def test_killing_the_kernel_only_ends_this_submission() -> None:
    killer = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.kill(-1, signal.SIGKILL)\n"
    cells, result = run(plan(killer, "print('x')"))
    assert not result.finished and result.stopped == "died"
    assert os.getpid()  # still here


def test_builtins_shadowed_by_an_answer_do_not_reach_the_tests() -> None:
    answer = "def range(*args):\n    return []\n\nlen = max\n"
    test = "n = 0\nfor _ in range(3):\n    n += 1\nprint('loops', n, 'len', len([5, 1]))\n"
    cells, _ = run(plan(test, answers=(answer,)))
    assert "loops 3 len 2" in text(cells["t0"]), text(cells["t0"])


def test_unsafe_mode_still_runs_the_plan() -> None:
    result = sandbox.run_plan(plan("print('unsafe ok')"), sandbox.Limits(**FAST), sandboxed=False)
    assert result.finished and "unsafe ok" in json.dumps(result.records)


def test_parallel_sandboxes_do_not_see_each_other() -> None:
    """Two submissions at once: each sees only its own processes and files."""
    # Each writes its own file; the read-only course binds (the venv, helpers) may add their parent
    # folders to /tmp when the repository lives there (a CI clone in /tmp/ci), so only files count.
    probe = ("import os, time, uuid\nopen(f'/tmp/mine-{uuid.uuid4().hex}', 'w').write(str(os.getpid()))\n"
             "time.sleep(1)\n"
             "print('files', sorted(f for f in os.listdir('/tmp') if f.startswith('mine-')).__len__(), "
             "'procs', len([p for p in os.listdir('/proc') if p.isdigit()]))\n")
    outs: list[str] = []

    def one() -> None:
        cells, _ = run(plan(probe))
        outs.append(text(cells["t0"]))

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outs) == 2
    for out in outs:
        assert "files 1 " in out, out  # its own file, not the other sandbox's
        assert int(out.split("procs ")[1].split()[0]) < 10


def test_probe_reports_how_limits_are_enforced() -> None:
    cells, result = run(plan("print(1)"))
    note = result.limits_note
    assert "memory 4 GiB via" in note and "RLIMIT_FSIZE" in note and "uid 65534 inside" in note
    print(note, file=sys.stderr)


@pytest.mark.skipif(os.geteuid() != 0, reason="only a root grader can run the sandbox as another user")
def test_sandbox_processes_are_nobody_outside_too() -> None:
    """As seen from the host, the sandbox's processes belong to user 65534, not to the (root) grader,
    and the staging mounts that made that possible are gone afterwards."""
    ok, _, unprivileged = sandbox.probe()
    assert unprivileged, "the probe fell back to a root-owned sandbox"
    marker = f"whoami-{os.getpid()}-{time.time_ns()}"
    seen: list[str] = []

    def watch() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not seen:
            for pid in processes_with(marker):
                try:
                    uid = Path(f"/proc/{pid}/status").read_text().split("Uid:")[1].split()[0]
                except OSError:
                    continue
                seen.append(uid)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    run(plan(f"import subprocess\nsubprocess.run(['sh', '-c', 'sleep 2; : {marker}'])\n"))
    watcher.join()
    assert seen and set(seen) == {"65534"}, seen
    assert not [line for line in Path("/proc/self/mountinfo").read_text().splitlines() if "ppml-stage" in line]
