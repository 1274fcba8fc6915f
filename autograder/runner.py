"""The grading kernel: what runs *inside* a submission's sandbox (standard library only).

Started as ``python -I runner.py``. It reads a *plan* (one JSON line on stdin), writes one JSON
record per notebook cell to stdout, then ``{"type": "visible-done"}``; only then does it read
the hidden tests (a second JSON line), run them and report one ``{"type": "hidden", "id",
"status": "passed" | "failed"}`` per test cell, then ``{"type": "done"}``. The plan, built by
the grader from the course's own source notebook, holds:

* ``setup``: the lesson's setup cells (the source's imports), run once, here, in this process;
* ``answers``: the definitions kept from the student's answer cells (:mod:`autograder.cleanrun`);
* ``tests``: each test cell, split into visible and hidden segments (the hidden ones without
  their code, which arrives in the second line).

**One process per exercise.** Every exercise is tested in a process of its own, forked from the
state after the setup: it defines the answers that come before the test cell in the notebook,
then runs the visible part of the test cell (its output is reported), then waits. Nothing a
student's function does while one exercise is tested (patching a module, replacing a check,
hooking the interpreter) reaches another exercise's process, and before each fork every other
process of the sandbox (but the waiting ones) is killed and the writable folders are emptied.
The student's code never runs in this process, which is made non-dumpable so that a test
process cannot ptrace it or read its memory.

**Hidden tests.** Their code enters the sandbox only after the visible output of every exercise
has been reported, and each waiting process gets only its own exercise's hidden code; what the
hidden part prints is discarded, and only "passed" or "failed" leaves. So a student's function
that dumps its process's memory or the test's frames while the visible tests run finds no hidden
code, and one that does so during the hidden tests has no way to show it.

**Limits.** A test process is stopped (SIGKILL: there is no interrupt to swallow) when a phase
runs past ``cell_timeout`` seconds or prints more than ``stop_output`` bytes; at most
``keep_output`` bytes per cell are kept.

What this cannot do: a student's function body runs with its process's powers while its own
exercise is tested, so it can always lie about that exercise (as in any grader that runs checks
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
import struct
import sys
import time
import traceback
import types

HERE = os.path.abspath(__file__)
MAX_LINE = 64 * 1024 * 1024
OUT_FD, RESULT_FD, ACK_FD, NULL_FD = 3, 4, 5, 6
WRITABLE_DIRS = ("/tmp", "/home/student", "/dev/shm")


# ----------------------------------------------------------------------------- helpers


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
    """True only inside the sandbox (a fresh PID namespace), where killing "everyone" is safe."""
    if not plan.get("sandboxed"):
        return False
    try:
        with open("/proc/1/cmdline", "rb") as handle:
            first = handle.read().split(b"\0", 1)[0]
    except OSError:
        return False
    return os.path.basename(first) == b"bwrap" and os.getpid() < 100


def _reset_sandbox(plan: dict, keep: set[int]) -> None:
    """Kill every process of the sandbox but this one, PID 1 and ``keep``; empty the writable folders."""
    if not _in_own_pid_namespace(plan):
        return
    me = os.getpid()
    for _ in range(20):
        others = []
        for name in os.listdir("/proc"):
            if name.isdigit() and int(name) not in keep and int(name) not in (1, me):
                others.append(int(name))
        if not others:
            break
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        _reap()
        time.sleep(0.01)
    _reap()
    for top in WRITABLE_DIRS:
        _empty_dir(top)


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


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


def _padded(source: str, first_line: int) -> str:
    """The segment's code at its own line numbers in the cell (so messages name the right line)."""
    return "\n" * (max(1, int(first_line)) - 1) + source


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
        try:
            if isinstance(exc, SyntaxError):
                lines = traceback.format_exception_only(type(exc), exc)
            else:
                tb = exc.__traceback__
                while tb is not None and tb.tb_frame.f_code.co_filename == HERE:
                    tb = tb.tb_next
                lines = traceback.format_exception(type(exc), exc, tb, limit=30)
        except Exception:
            lines = [f"{ename}: {evalue}"]
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return {"output_type": "error", "ename": ename[:200], "evalue": evalue[:4000],
            "traceback": text[:20000].splitlines()}


def _test_namespace(namespace: dict, keep: set[str]) -> dict:
    """The namespace a test cell runs in: the student's names, minus any that shadow a builtin.

    The student's functions keep their own globals (``namespace``), so a ``from numpy import *``
    in an answer still works inside them; but the test code sees Python's own ``range``, ``len``,
    ``__builtins__``..., whatever an answer cell defined (``def range(n): return []`` would
    otherwise empty the tests' loops). ``keep`` holds the names the exercises ask for.
    """
    shadowing = set(dir(builtins)) - keep
    test_ns = {k: v for k, v in namespace.items()
               if k not in shadowing and not (k.startswith("__") and k.endswith("__"))}
    test_ns["__name__"] = "__main__"
    test_ns["__builtins__"] = builtins
    return test_ns


def _display(*objs, **kwargs) -> None:
    """Stand-in for IPython's ``display`` builtin: prints the objects."""
    for obj in objs:
        print(repr(obj))


def _read_exact(fd: int, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return bytes(data)


# ----------------------------------------------------------------------------- a test process


def _child(units: list[dict], later: list[dict], namespace: dict, keep: set[str]) -> None:
    """Run ``units`` (phase 1), then, if asked, ``later`` (phase 2, hidden); never returns.

    Each unit's record goes to RESULT_FD, after which the process waits for the parent's
    acknowledgement on ACK_FD, so that everything printed before a record is read as that
    unit's output and nothing of the next unit's. Phase 2's code arrives on ACK_FD.
    """
    try:
        stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1)
        sys.stdout = sys.__stdout__ = stdout
        sys.stderr = sys.__stderr__ = stdout
        results = open(RESULT_FD, "w", encoding="utf-8", closefd=False)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        test_namespace = None

        def run(index: int, unit: dict, quiet: bool) -> str:
            nonlocal test_namespace
            if unit.get("is_test") and test_namespace is None:
                test_namespace = _test_namespace(namespace, keep)
            if quiet:
                os.dup2(NULL_FD, 1)
                os.dup2(NULL_FD, 2)
            status, error = "ok", None
            try:
                code = compile(unit["padded"], unit["filename"], "exec", dont_inherit=True)
                exec(code, test_namespace if unit.get("is_test") else namespace)  # noqa: S102 - sandboxed
            except BaseException as exc:  # noqa: BLE001 - any exception fails the unit
                status = "error"
                error = None if quiet else _render_error(exc)
            try:
                sys.stdout.flush()
            except Exception:
                pass
            if quiet:
                os.dup2(OUT_FD, 1)
                os.dup2(OUT_FD, 2)
            record = {"unit": index, "status": status}
            if error is not None:
                record["error"] = error
            results.write(json.dumps(record) + "\n")
            results.flush()
            _read_exact(ACK_FD, 1)
            return status

        for index, unit in enumerate(units):
            if run(index, unit, quiet=False) == "error" and unit.get("stop_on_error"):
                later = []
                break
        if later:
            results.write(json.dumps({"unit": "waiting"}) + "\n")
            results.flush()
            size = struct.unpack("!Q", _read_exact(ACK_FD, 8))[0]
            sources = json.loads(_read_exact(ACK_FD, size))
            for offset, (unit, source) in enumerate(zip(later, sources)):
                unit["padded"] = _padded(source, unit["first_line"])
                _register_source(unit["filename"], unit["padded"])
                if run(len(units) + offset, unit, quiet=True) == "error":
                    break
        results.write(json.dumps({"unit": "end"}) + "\n")
        results.flush()
    except BaseException:  # noqa: BLE001
        os._exit(70)
    os._exit(0)


class _Output:
    """Output bytes received while one unit ran (the first ``keep`` of them)."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.dropped = 0

    def text(self) -> str:
        text = self.data.decode("utf-8", errors="backslashreplace")
        if self.dropped:
            text += f"\n[... {self.dropped} more bytes of output not shown]\n"
        return text


class TestProcess:
    """One exercise's process, seen from the parent: fork, collect records and output, kill."""

    def __init__(self, units: list[dict], later: list[dict], namespace: dict, plan: dict) -> None:
        self.plan = plan
        self.n = len(units) + len(later)
        self.outputs = [_Output() for _ in range(self.n)]
        self.results: list[dict | None] = [None] * self.n
        self.current = 0
        self.total = 0
        self.state = "running"  # running | waiting | ended | stopped
        self.stopped: str | None = None
        self.exited = False
        out_r, out_w = os.pipe()
        res_r, res_w = os.pipe()
        ack_r, ack_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the test process
            try:
                os.setpgid(0, 0)
                moved = [os.dup(fd) for fd in (out_w, res_w, ack_r)]
                for src, dest in zip(moved, (OUT_FD, RESULT_FD, ACK_FD)):
                    os.dup2(src, dest)
                null = os.open(os.devnull, os.O_RDWR)
                os.dup2(null, NULL_FD)
                os.dup2(null, 0)
                os.dup2(OUT_FD, 1)
                os.dup2(OUT_FD, 2)
                os.closerange(NULL_FD + 1, 65536)
                # No other exercise's test code stays reachable in this process.
                for name in [k for k in linecache.cache if isinstance(k, str) and k.startswith("<tests ")]:
                    del linecache.cache[name]
            except BaseException:  # noqa: BLE001
                os._exit(71)
            for unit in units:
                _register_source(unit["filename"], unit["padded"])
            _child(units, later, namespace, set(plan.get("keep_names", [])))
        for fd in (out_w, res_w, ack_r):
            os.close(fd)
        self.out_r, self.res_r, self.ack_w = out_r, res_r, ack_w
        self.open = {out_r, res_r}
        self.buffer = bytearray()

    def _read(self, fd: int) -> bytes:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            self.open.discard(fd)
        return chunk

    def _take(self, chunk: bytes) -> None:
        self.total += len(chunk)
        seg = self.outputs[min(self.current, self.n - 1)]
        room = max(0, int(self.plan["keep_output"]) - len(seg.data))
        seg.data += chunk[:room]
        seg.dropped += len(chunk) - min(room, len(chunk))

    def _drain_output(self) -> None:
        while self.out_r in self.open and select.select([self.out_r], [], [], 0)[0]:
            self._take(self._read(self.out_r))

    def _parse(self) -> None:
        while b"\n" in self.buffer and self.state == "running":
            line, _, rest = bytes(self.buffer).partition(b"\n")
            self.buffer = bytearray(rest)
            self._drain_output()  # what a unit printed was written before its record
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            unit = record.get("unit") if isinstance(record, dict) else None
            if unit == "end":
                self.state = "ended"
            elif unit == "waiting":
                self.state = "waiting"
            elif isinstance(unit, int) and 0 <= unit < self.n and self.results[unit] is None:
                self.results[unit] = record
                self.current = unit + 1
                try:
                    os.write(self.ack_w, b".")
                except OSError:
                    pass
            else:
                self.state, self.stopped = "stopped", "protocol"

    def collect(self) -> None:
        """Read records and output until the process ends, waits for phase 2, or must be stopped."""
        self.state = "running"
        deadline = time.monotonic() + float(self.plan["cell_timeout"])
        while self.state == "running":
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._drain_output()
                self.state, self.stopped = "stopped", "timeout"
                break
            if not self.exited and os.waitpid(self.pid, os.WNOHANG)[0] == self.pid:
                self.exited = True
            if self.exited:
                # All it wrote is in the pipes; a process it left behind may hold them open.
                self._drain_output()
                while self.res_r in self.open and select.select([self.res_r], [], [], 0)[0]:
                    self.buffer += self._read(self.res_r)
                self._parse()
                if self.state == "running":
                    self.state, self.stopped = "stopped", "died"
                break
            if not self.open:
                time.sleep(0.05)
                continue
            ready, _, _ = select.select(list(self.open), [], [], min(remaining, 0.2))
            if self.out_r in ready:
                self._take(self._read(self.out_r))
                if self.total > int(self.plan["stop_output"]):
                    self.state, self.stopped = "stopped", "output"
                    break
            if self.res_r in ready:
                self.buffer += self._read(self.res_r)
                if len(self.buffer) > 4 * 1024 * 1024:
                    self.state, self.stopped = "stopped", "protocol"
                    break
                self._parse()

    def send_later(self, sources: list[str]) -> None:
        payload = json.dumps(sources).encode()
        try:
            os.write(self.ack_w, struct.pack("!Q", len(payload)))
            view = memoryview(payload)
            while view:
                written = os.write(self.ack_w, view)
                view = view[written:]
        except OSError:
            pass

    def kill(self) -> None:
        for target in (-self.pid, self.pid):
            try:
                os.kill(target, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if not self.exited:
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.exited = True
        for fd in (self.out_r, self.res_r, self.ack_w):
            try:
                os.close(fd)
            except OSError:
                pass


# ----------------------------------------------------------------------------- the plan


def _stream(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


def _stopped_error(why: str | None, plan: dict, what: str) -> dict:
    if why == "timeout":
        ename, msg = "CellTimeoutError", (
            f"stopped after {plan['cell_timeout']:g} s: {what} did not finish (an infinite loop, or far too "
            "much work?); no points")
    elif why == "output":
        ename, msg = "OutputLimitError", f"stopped: {what} printed more than {plan['stop_output']} bytes; no points"
    else:
        ename, msg = "ProcessDiedError", (
            f"{what} ended abruptly (the process was killed or exited: over the memory limit of "
            f"{plan.get('memory_text', 'the sandbox')}, os._exit, or a crash); no points")
    return {"output_type": "error", "ename": ename, "evalue": msg, "traceback": [f"{ename}: {msg}"]}


def _run_setup(plan: dict, namespace: dict, proto) -> None:
    """The lesson's setup cells: the course's own code, run once in this process."""
    capture = os.open("/tmp" if os.path.isdir("/tmp") else ".", os.O_RDWR | os.O_TMPFILE, 0o600)
    saved = os.dup(1), os.dup(2)
    os.dup2(capture, 1)
    os.dup2(capture, 2)
    sys.stdout = sys.stderr = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    for cell in plan["setup"]:
        os.ftruncate(capture, 0)
        os.lseek(capture, 0, os.SEEK_SET)
        filename = f"<setup {cell['id']}>"
        _register_source(filename, cell["source"])
        status, error = "ok", None
        try:
            exec(compile(cell["source"], filename, "exec", dont_inherit=True), namespace)  # noqa: S102
        except BaseException as exc:  # noqa: BLE001
            status, error = "error", _render_error(exc)
        sys.stdout.flush()
        os.lseek(capture, 0, os.SEEK_SET)
        text = os.read(capture, int(plan["keep_output"])).decode("utf-8", errors="backslashreplace")
        outputs = ([_stream(text)] if text else []) + ([error] if error else [])
        _write_record(proto, {"type": "cell", "id": cell["id"], "status": status, "outputs": outputs})
    os.dup2(saved[0], 1)
    os.dup2(saved[1], 2)
    for fd in (*saved, capture):
        os.close(fd)


def main() -> int:
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
    stdin = os.fdopen(os.dup(0), "rb")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    _non_dumpable()
    plan = json.loads(stdin.readline(MAX_LINE))
    for path in reversed(plan.get("sys_path", [])):
        sys.path.insert(0, path)
    builtins.display = _display  # type: ignore[attr-defined]
    main_module = types.ModuleType("__main__")
    namespace = main_module.__dict__
    namespace["__builtins__"] = builtins
    sys.modules["__main__"] = main_module
    _run_setup(plan, namespace, proto)
    sys.stdout = sys.stderr = open(1, "w", closefd=False)

    answers = plan["answers"]
    for answer in answers:
        answer["filename"] = f"<answer {answer['grade_id']}>"
        answer["padded"] = answer["source"]

    # The answer cells' own outputs (what defining them printed or raised), in one test process.
    _reset_sandbox(plan, set())
    if answers:
        proc = TestProcess([dict(a) for a in answers], [], namespace, plan)
        proc.collect()
        proc.kill()
        for index, answer in enumerate(answers):
            notes = answer.get("notes", [])
            outputs = [_stream("".join(n + "\n" for n in notes))] if notes else []
            text = proc.outputs[index].text()
            if text:
                outputs.append(_stream(text))
            result = proc.results[index]
            status = "error"
            if result is None:
                outputs.append(_stopped_error(proc.stopped, plan, "defining this answer"))
            else:
                status = result.get("status", "error")
                if result.get("error"):
                    outputs.append(result["error"])
            _write_record(proto, {"type": "cell", "id": answer["id"], "status": status, "outputs": outputs})

    # Phase 1: every exercise's visible tests, each in its own process, which then waits.
    waiting: list[tuple[dict, TestProcess, list[dict]]] = []
    for test in plan["tests"]:
        _reset_sandbox(plan, {p.pid for _, p, _ in waiting})
        units = [dict(a) for a in answers if a["position"] < test["position"]]
        first_test = len(units)
        later: list[dict] = []
        for seg in test["segments"]:
            hidden = bool(seg["hidden"]) or bool(later)  # after a hidden block, nothing is shown
            unit = {"filename": f"<tests {test['grade_id']}{' hidden' if hidden else ''} {seg['first_line']}>",
                    "first_line": seg["first_line"], "is_test": True, "stop_on_error": True}
            if hidden:
                later.append(unit)
            else:
                unit["padded"] = _padded(seg["source"], seg["first_line"])
                units.append(unit)
        proc = TestProcess(units, later, namespace, plan)
        proc.collect()
        outputs: list[dict] = []
        status = "ok"
        for index in range(first_test, len(units)):
            text = proc.outputs[index].text()
            if text:
                outputs.append(_stream(text))
            result = proc.results[index]
            if result is None or result.get("status") != "ok":
                status = "error"
                outputs.append((result or {}).get("error") or _stopped_error(proc.stopped, plan, "the tests"))
                break
        pending = status == "ok" and bool(later) and proc.state == "waiting"
        if status == "ok" and later and not pending:
            status = "error"
            outputs.append(_stopped_error(proc.stopped, plan, "the tests"))
        _write_record(proto, {"type": "cell", "id": test["id"], "status": status, "outputs": outputs,
                              "hidden": "pending" if pending else "none"})
        if pending:
            waiting.append((test, proc, later))
        else:
            proc.kill()

    # Phase 2: the hidden tests, only now in the sandbox; only passed/failed leaves it.
    _write_record(proto, {"type": "visible-done"})
    hidden = json.loads(stdin.readline(MAX_LINE) or b"{}").get("hidden", {})
    for position, (test, proc, later) in enumerate(waiting):
        _reset_sandbox(plan, {p.pid for _, p, _ in waiting[position:]})
        sources = hidden.get(test["id"], [])
        ok = isinstance(sources, list) and len(sources) == len(later)
        if ok:
            proc.send_later([str(s) for s in sources])
            proc.collect()
            ok = proc.state == "ended" and all(
                r is not None and r.get("status") == "ok" for r in proc.results[proc.n - len(later):])
        proc.kill()
        _write_record(proto, {"type": "hidden", "id": test["id"], "status": "passed" if ok else "failed"})
    _reset_sandbox(plan, set())
    _write_record(proto, {"type": "done"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
