"""The grading kernel: what runs *inside* a submission's sandbox (standard library only).

Started as ``python -I runner.py`` with a *plan* (JSON) on stdin, it writes one JSON record per
notebook cell to stdout and a final ``{"type": "done"}``. The plan, built by the grader from the
course's own source notebook, holds:

* ``setup``: the lesson's setup cells (the source's imports), run once, here, in this process;
* ``answers``: the definitions kept from the student's answer cells (:mod:`autograder.cleanrun`);
* ``tests``: each test cell, split into visible and hidden segments.

Every exercise is tested in a **process of its own**, forked from the state after the setup:
it defines the answers that come before the test cell in the notebook, then runs the test
cell. Nothing a student's function does while one exercise is tested (patching a module,
replacing a check, hooking the interpreter, leaving a process behind) can reach the test of
another exercise: before each fork every other process in the sandbox is killed and the
writable folders are emptied. The student's code never runs in this process, which is made
non-dumpable so that a test process cannot ptrace it or read its memory.

Each test process is stopped (SIGKILL, no interrupt to swallow) after ``cell_timeout`` seconds
or when it prints more than ``stop_output`` bytes; the output of hidden segments is discarded
and reported only as "hidden tests: passed" or "hidden tests: failed".

What this cannot do: a student's function body runs with this process's powers *during its own
exercise's test*, so it can always lie about that exercise (as in any grader that runs checks
in the same process as the code under test). It cannot reach the other exercises, other
students, the gradebook or the grader, which live outside the sandbox.
"""
from __future__ import annotations

import builtins
import ctypes
import json
import linecache
import os
import select
import signal
import sys
import time
import traceback
import types

HERE = os.path.abspath(__file__)
MAX_PLAN = 64 * 1024 * 1024
RESULT_FD = 3
ACK_FD = 4
OUT_FD = 5
WRITABLE_DIRS = ("/tmp", "/home/student", "/dev/shm")


def _write_record(proto, record: dict) -> None:
    proto.write(json.dumps(record, ensure_ascii=True) + "\n")
    proto.flush()


def _non_dumpable() -> None:
    """PR_SET_DUMPABLE=0: processes of the same user cannot ptrace this one or read its memory."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE
    except OSError:
        pass


def _in_own_pid_namespace(plan: dict) -> bool:
    """True only inside the sandbox (a fresh PID namespace), where kill(-1) reaches only it."""
    if not plan.get("sandboxed"):
        return False
    try:
        with open("/proc/1/cmdline", "rb") as handle:
            first = handle.read().split(b"\0", 1)[0]
    except OSError:
        return False
    return os.path.basename(first) == b"bwrap" and os.getpid() < 100


def _reset_sandbox(plan: dict) -> None:
    """Kill every other process of the sandbox and empty its writable folders (between exercises)."""
    if not _in_own_pid_namespace(plan):
        return
    try:
        os.kill(-1, signal.SIGKILL)  # every process we may signal except ourselves and PID 1
    except ProcessLookupError:
        pass
    while True:  # reap our own children
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            time.sleep(0.01)
    for top in WRITABLE_DIRS:
        _empty_dir(top)


def _empty_dir(top: str) -> None:
    try:
        entries = list(os.scandir(top))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                _empty_dir(entry.path)
                os.rmdir(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            pass


def _register_source(filename: str, source: str) -> None:
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)


def _render_error(exc: BaseException) -> dict:
    """An nbformat error output: the check's own message if it has one, else a short traceback."""
    ename = type(exc).__name__
    try:
        evalue = str(exc)
    except Exception:  # a student's exception whose __str__ fails
        evalue = f"<{ename}>"
    lines = None
    render = getattr(type(exc), "_render_traceback_", None)
    if callable(render):
        try:
            rendered = render(exc)
            if isinstance(rendered, list) and all(isinstance(x, str) for x in rendered):
                lines = rendered
        except Exception:
            lines = None
    if lines is None:
        if isinstance(exc, SyntaxError):
            lines = traceback.format_exception_only(type(exc), exc)
        else:
            tb = exc.__traceback__
            while tb is not None and tb.tb_frame.f_code.co_filename == HERE:
                tb = tb.tb_next
            try:
                lines = traceback.format_exception(type(exc), exc, tb, limit=30)
            except Exception:
                lines = [f"{ename}: {evalue}"]
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return {"output_type": "error", "ename": ename[:200], "evalue": evalue[:4000],
            "traceback": text[:20000].splitlines()}


def _display(*objs, **kwargs) -> None:
    """Stand-in for IPython's ``display`` builtin: prints the objects."""
    for obj in objs:
        print(repr(obj))


# ----------------------------------------------------------------------------- in a test process


def _child(units: list[dict], namespace: dict, out_w: int, res_w: int, ack_r: int) -> None:
    """Run ``units`` in order in this (forked) process, report each on ``res_w``; never returns.

    After each record it waits for the parent's acknowledgement, so that everything printed
    before the record is read as that unit's output, and nothing of the next unit's.
    """
    try:
        os.setpgid(0, 0)
        # Move the pipes to fixed descriptors (above anything we dup onto), then close the rest.
        moved = [os.dup(fd) for fd in (out_w, res_w, ack_r)]
        for src, dest in zip(moved, (OUT_FD, RESULT_FD, ACK_FD)):
            os.dup2(src, dest)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(OUT_FD, 1)
        os.dup2(OUT_FD, 2)
        os.dup2(devnull, 6)
        os.close(devnull)
        devnull = 6
        for fd in range(7, 1024):
            try:
                os.close(fd)
            except OSError:
                pass
        stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False,
                      buffering=1)
        sys.stdout = sys.__stdout__ = stdout
        sys.stderr = sys.__stderr__ = stdout
        results = open(RESULT_FD, "w", encoding="utf-8", closefd=False)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for index, unit in enumerate(units):
            if unit.get("hidden"):
                os.dup2(devnull, 1)
                os.dup2(devnull, 2)
            status, error = "ok", None
            try:
                code = compile(unit["padded"], unit["filename"], "exec", dont_inherit=True)
                exec(code, namespace)  # noqa: S102 - the point of a sandbox
            except BaseException as exc:  # noqa: BLE001 - any exception fails the unit
                status = "error"
                error = _render_error(exc) if not unit.get("hidden") else None
            try:
                sys.stdout.flush()
            except Exception:
                pass
            if unit.get("hidden"):
                os.dup2(OUT_FD, 1)
                os.dup2(OUT_FD, 2)
            record = {"unit": index, "status": status}
            if error is not None:
                record["error"] = error
            results.write(json.dumps(record) + "\n")
            results.flush()
            os.read(ACK_FD, 1)
            if status == "error" and unit.get("stop_on_error"):
                break
        results.write(json.dumps({"unit": "end"}) + "\n")
        results.flush()
    except BaseException:  # noqa: BLE001
        os._exit(70)
    os._exit(0)


class _Segment:
    """Output bytes received while one unit ran."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.dropped = 0


def _run_units(units: list[dict], namespace: dict, plan: dict) -> tuple[list[dict], str | None]:
    """Fork a test process for ``units``; return per-unit results and why it stopped early (or None).

    Each result is ``{"result": record or None, "text": what the unit printed (capped)}``; a None
    record means the unit never finished (see the reason: timeout, output, died, protocol).
    """
    keep, stop = int(plan["keep_output"]), int(plan["stop_output"])
    out_r, out_w = os.pipe()
    res_r, res_w = os.pipe()
    ack_r, ack_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        for fd in (out_r, res_r, ack_w):
            os.close(fd)
        _child(units, namespace, out_w, res_w, ack_r)
    for fd in (out_w, res_w, ack_r):
        os.close(fd)
    segments = [_Segment() for _ in units]
    results: list[dict | None] = [None] * len(units)
    state = {"current": 0, "total": 0}
    res_buf = bytearray()
    stopped: str | None = None
    ended = exited = False
    deadline = time.monotonic() + float(plan["cell_timeout"])
    open_fds = {out_r, res_r}

    def read(fd: int) -> bytes:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            open_fds.discard(fd)
        return chunk

    def take_output(chunk: bytes) -> None:
        state["total"] += len(chunk)
        seg = segments[min(state["current"], len(segments) - 1)]
        room = max(0, keep - len(seg.data))
        seg.data += chunk[:room]
        seg.dropped += len(chunk) - min(room, len(chunk))

    def drain_output() -> None:
        # What a unit printed was written before its record: read it all before moving on.
        while out_r in open_fds and select.select([out_r], [], [], 0)[0]:
            take_output(read(out_r))

    def parse_records() -> str | None:
        nonlocal res_buf, ended
        while b"\n" in res_buf:
            line, _, rest = bytes(res_buf).partition(b"\n")
            res_buf = bytearray(rest)
            drain_output()
            try:
                record = json.loads(line)
            except ValueError:
                return "protocol"
            if not isinstance(record, dict):
                return "protocol"
            if record.get("unit") == "end":
                ended = True
                return None
            index = record.get("unit")
            if not isinstance(index, int) or not 0 <= index < len(units) or results[index] is not None:
                return "protocol"
            results[index] = record
            state["current"] = index + 1
            try:
                os.write(ack_w, b".")
            except OSError:
                pass
        return None

    while not ended and stopped is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            drain_output()
            stopped = "timeout"
            break
        if not exited and os.waitpid(pid, os.WNOHANG)[0] == pid:
            exited = True
        if exited:
            # Everything the process wrote is in the pipes now; a process it left behind may keep
            # them open, so read what is there and stop (it is killed below).
            drain_output()
            while res_r in open_fds and select.select([res_r], [], [], 0)[0]:
                res_buf += read(res_r)
            stopped = parse_records()
            if not ended and stopped is None:
                stopped = "died"
            break
        if not open_fds:
            time.sleep(0.05)
            continue
        ready, _, _ = select.select(list(open_fds), [], [], min(remaining, 0.2))
        if out_r in ready:
            take_output(read(out_r))
            if state["total"] > stop:
                stopped = "output"
                break
        if res_r in ready:
            res_buf += read(res_r)
            if len(res_buf) > 4 * 1024 * 1024:
                stopped = "protocol"
                break
            stopped = parse_records()
    # Stop the test process and everything it started that stayed in its group (a process that
    # left the group is killed before the next fork, by _reset_sandbox).
    for target in (-pid, pid):
        try:
            os.kill(target, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    if not exited:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    for fd in (out_r, res_r, ack_w):
        try:
            os.close(fd)
        except OSError:
            pass
    out = []
    for segment, result in zip(segments, results):
        text = segment.data.decode("utf-8", errors="backslashreplace")
        if segment.dropped:
            text += f"\n[... {segment.dropped} more bytes of output not shown]\n"
        out.append({"result": result, "text": text})
    return out, (None if ended else stopped)


# ----------------------------------------------------------------------------- the plan


def _padded(source: str, first_line: int) -> str:
    return "\n" * (first_line - 1) + source


def _stream(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


def _stopped_error(why: str, plan: dict, what: str) -> dict:
    if why == "timeout":
        ename, msg = "CellTimeoutError", (
            f"stopped after {plan['cell_timeout']:g} s: {what} did not finish (an infinite loop, or far too "
            "much work?); no points")
    elif why == "output":
        ename, msg = "OutputLimitError", (
            f"stopped: {what} printed more than {plan['stop_output']} bytes; no points")
    else:
        ename, msg = "ProcessDiedError", (
            f"{what} ended abruptly (the process was killed or exited: over the memory limit of "
            f"{plan.get('memory_text', 'the sandbox')}, os._exit, or a crash); no points")
    return {"output_type": "error", "ename": ename, "evalue": msg, "traceback": [f"{ename}: {msg}"]}


def main() -> int:
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    plan = json.loads(sys.stdin.buffer.read(MAX_PLAN))
    os.dup2(devnull, 0)
    _non_dumpable()
    for path in reversed(plan.get("sys_path", [])):
        sys.path.insert(0, path)
    builtins.display = _display  # type: ignore[attr-defined]
    main_module = types.ModuleType("__main__")
    namespace = main_module.__dict__
    namespace["__builtins__"] = builtins
    sys.modules["__main__"] = main_module

    # The lesson's setup cells: the course's own code, run once in this process.
    capture = os.open("/tmp" if os.path.isdir("/tmp") else ".", os.O_RDWR | os.O_TMPFILE, 0o600)
    os.dup2(capture, 1)
    os.dup2(capture, 2)
    sys.stdout = sys.stderr = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    for cell in plan["setup"]:
        os.ftruncate(capture, 0)
        os.lseek(capture, 0, os.SEEK_SET)
        filename = f"<setup {cell['id']}>"
        _register_source(filename, cell["source"])
        outputs = []
        try:
            exec(compile(cell["source"], filename, "exec", dont_inherit=True), namespace)  # noqa: S102
            status = "ok"
            error = None
        except BaseException as exc:  # noqa: BLE001
            status, error = "error", _render_error(exc)
        sys.stdout.flush()
        os.lseek(capture, 0, os.SEEK_SET)
        text = os.read(capture, int(plan["keep_output"])).decode("utf-8", errors="backslashreplace")
        if text:
            outputs.append(_stream(text))
        if error:
            outputs.append(error)
        _write_record(proto, {"type": "cell", "id": cell["id"], "status": status, "outputs": outputs})
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(capture)

    answers = plan["answers"]
    for answer in answers:
        answer["filename"] = f"<answer {answer['grade_id']}>"
        answer["padded"] = answer["source"]
        _register_source(answer["filename"], answer["source"])

    # The answer cells' own outputs (what defining them printed or raised), in one test process.
    _reset_sandbox(plan)
    units = [dict(a) for a in answers]
    results, stopped = _run_units(units, namespace, plan) if units else ([], None)
    for answer, got in zip(answers, results):
        notes = answer.get("notes", [])
        outputs = [_stream("".join(n + "\n" for n in notes))] if notes else []
        if got["text"]:
            outputs.append(_stream(got["text"]))
        result = got["result"]
        if result is None:
            outputs.append(_stopped_error(stopped or "died", plan, "defining this answer"))
            status = "error"
        else:
            status = result.get("status", "error")
            if result.get("error"):
                outputs.append(result["error"])
        _write_record(proto, {"type": "cell", "id": answer["id"], "status": status, "outputs": outputs})

    for test in plan["tests"]:
        _reset_sandbox(plan)
        before = [dict(a) for a in answers if a["position"] < test["position"]]
        units = before[:]
        for seg in test["segments"]:
            filename = f"<tests {test['grade_id']}{' (hidden)' if seg['hidden'] else ''}>"
            padded = _padded(seg["source"], seg["first_line"])
            _register_source(filename, padded)
            units.append({"filename": filename, "padded": padded, "hidden": seg["hidden"],
                          "stop_on_error": True, "is_test": True})
        results, stopped = _run_units(units, namespace, plan)
        outputs: list[dict] = []
        status = "ok"
        for unit, got in zip(units, results):
            if not unit.get("is_test"):
                continue
            result = got["result"]
            if not unit["hidden"]:
                if got["text"]:
                    outputs.append(_stream(got["text"]))
                if result is None:
                    outputs.append(_stopped_error(stopped or "died", plan, "the tests"))
                    status = "error"
                    break
                if result.get("status") != "ok":
                    outputs.append(result.get("error") or _stopped_error("died", plan, "the tests"))
                    status = "error"
                    break
            else:
                if result is not None and result.get("status") == "ok":
                    outputs.append(_stream("hidden tests: passed\n"))
                else:
                    outputs.append({"output_type": "error", "ename": "HiddenTestsFailed",
                                    "evalue": "hidden tests: failed", "traceback": ["hidden tests: failed"]})
                    status = "error"
                    break
        _write_record(proto, {"type": "cell", "id": test["id"], "status": status, "outputs": outputs})
    _reset_sandbox(plan)
    _write_record(proto, {"type": "done"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
