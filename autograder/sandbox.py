"""A throwaway sandbox per submission, built on bubblewrap (``bwrap``, the sandbox Flatpak uses).

:func:`run_plan` starts the grading kernel (:mod:`autograder.runner`) inside::

    sh (joins the submission's cgroups, sets rlimits)
      [when the grader is root: unshare --mount + bind mounts of what user 65534 cannot reach,
       then setpriv to user 65534: the sandbox's processes are nobody outside too]
        bwrap --unshare-all (network: loopback only; own PID, IPC, UTS, mount, user namespaces)
              --die-with-parent --new-session --cap-drop ALL --uid 65534 --gid 65534 --clearenv
              --tmpfs /tmp (size-capped, first) --ro-bind /usr, the venv, sys.base_prefix,
              the ``helpers`` package folder, the runner file --tmpfs /home/student (size-capped)
          python -I runner.py      plan on stdin, results on stdout

Nothing else of the machine is mounted: not the repository, not ``solutions/``, not the
submissions, not the grading folder or its gradebook, not the grader's processes (a PID
namespace of its own), not the network. The kernel reads its plan (the course's setup and
tests, the student's cleaned answers) from stdin and writes JSON records to stdout, which are
read here with a deadline and a byte cap. When the plan is done, or the wall-clock budget ends,
the sandbox is killed with everything in it (killing bwrap kills its PID namespace; the
cgroup, where there is one, is emptied and checked empty).

Limits (all configurable, see :class:`Limits`) and how each is enforced:

* memory (default 4 GiB): the cgroup's ``memory.limit_in_bytes`` (v1) or ``memory.max`` (v2)
  where the grader may create cgroups, else ``RLIMIT_DATA``;
* processes (default 256 tasks): the cgroup's ``pids.max``; without a pids cgroup they are not
  limited per submission (``RLIMIT_NPROC`` counts every sandbox of a user together, so one
  student's fork bomb would starve another's tests), only killed with the sandbox at the end;
* file size (default 64 MiB): ``RLIMIT_FSIZE``; the writable folders are tmpfs of 256 MiB each;
* CPU time (default: the wall budget): ``RLIMIT_CPU`` per process;
* output: each test process is stopped after printing ``stop_output`` bytes and at most
  ``keep_output`` bytes per cell are kept; the records read from the sandbox are capped too;
* wall clock: ``cell_timeout`` per test process inside, ``budget`` for the whole submission,
  fixed (it does not depend on what the submission holds).
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .paths import DEFAULT_CELL_TIMEOUT

RUNNER = Path(__file__).resolve().parent / "runner.py"
SANDBOX_RUNNER = "/opt/grader/runner.py"
SANDBOX_HOME = "/home/student"
NOBODY = 65534
GiB = 1024 ** 3
MiB = 1024 ** 2


@dataclass
class Limits:
    """What one submission may use. Sizes in bytes, times in seconds."""

    memory: int = 4 * GiB
    pids: int = 256
    file_size: int = 64 * MiB
    tmp_size: int = 256 * MiB
    cell_timeout: float = float(DEFAULT_CELL_TIMEOUT)
    budget: float = 600.0
    cpu_time: int | None = None  # default: the budget
    keep_output: int = 64 * 1024
    stop_output: int = 8 * MiB
    max_records: int = 16 * MiB
    nofile: int = 1024

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class RunResult:
    records: list[dict]
    finished: bool  # the kernel reported "done"
    seconds: float
    log: str
    stopped: str | None = None  # why it ended early: budget | died | records
    limits_note: str = ""
    survivors: list[int] = field(default_factory=list)


class SandboxUnavailable(RuntimeError):
    pass


# ----------------------------------------------------------------------------- availability


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def _helpers_root() -> Path:
    """The ``helpers`` package folder the grader itself would import (found, not imported)."""
    import importlib.util

    spec = importlib.util.find_spec("helpers")
    if spec is None or not spec.origin:
        raise SandboxUnavailable("the course package `helpers` is not installed")
    return Path(spec.origin).resolve().parent


# The interpreter of the submission being run (a lesson in another kernel: that kernel's Python), per thread.
_KERNEL_PYTHON: contextvars.ContextVar[str | None] = contextvars.ContextVar("grading_python", default=None)


def _python() -> str:
    return _KERNEL_PYTHON.get() or sys.executable


def kernel_python(kernel: str) -> str:
    """The Python that grades a lesson of Jupyter kernel ``kernel`` ([tool.course.kernels]): ours for the
    course's default kernel, else the interpreter of that kernel's spec (the appendix A1: .venv-tf's
    Python, registered as "ppml-tf" by `make tf-env`)."""
    from .paths import DEFAULT_KERNEL

    if kernel == DEFAULT_KERNEL:
        return sys.executable
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        python = KernelSpecManager().get_kernel_spec(kernel).argv[0]
    except Exception as exc:  # noqa: BLE001 - NoSuchKernel, a broken spec: the same answer
        raise SandboxUnavailable(f"this lesson is graded in the Jupyter kernel {kernel!r}, which is not installed "
                                 f"here ({type(exc).__name__}: {exc}); for the appendix A1 run `make tf-env`") from None
    if not (os.path.isabs(python) and os.access(python, os.X_OK)):
        raise SandboxUnavailable(f"the Jupyter kernel {kernel!r} does not start an interpreter by absolute path: {python!r}")
    return python


@functools.lru_cache(maxsize=None)
def probe() -> tuple[bool, str, bool]:
    """Can bwrap run the grading interpreter here? Returns (works, reason, unprivileged_outside).

    Tries an unprivileged user outside first (when we are root), then the plain sandbox.
    """
    if not sys.platform.startswith("linux"):
        return False, f"bubblewrap needs Linux (this is {sys.platform})", False
    if bwrap_path() is None:
        return False, "bubblewrap (bwrap) is not installed (Debian/Ubuntu: apt-get install bubblewrap)", False
    code = "import helpers.checks, numpy; print('sandbox-ok')"
    attempts = [True, False] if os.geteuid() == 0 and shutil.which("setpriv") else [False]
    reason = ""
    for unprivileged in attempts:
        argv, stage = launch_argv(None, Limits(memory=2 * GiB), unprivileged=unprivileged)
        argv += [_python(), "-I", "-c", f"import sys; sys.path.insert(0, {str(_helpers_root().parent)!r}); {code}"]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            reason = f"bwrap failed to start: {exc}"
            continue
        finally:
            _remove_stage(stage)
        if proc.returncode == 0 and "sandbox-ok" in proc.stdout:
            return True, "", unprivileged
        reason = f"bwrap cannot run the grading interpreter here: {(proc.stderr or proc.stdout).strip()[-500:]}"
    return False, reason, False


def available() -> tuple[bool, str]:
    ok, reason, _ = probe()
    return ok, reason


# ----------------------------------------------------------------------------- the command


def _bind_paths() -> list[str]:
    """Read-only binds (at the same path inside): the system, the interpreter, the venv, helpers.

    Never the repository, ``solutions/``, the submissions or the grading folder.
    """
    paths: list[str] = []

    def add(path: str) -> None:
        if not any(path == p or path.startswith(p.rstrip("/") + "/") for p in paths):
            paths.append(path)

    for top in ("/usr", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
                "/etc/fonts", "/etc/alternatives"):
        if os.path.exists(top):
            add(top)
    for prefix in sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}):
        add(prefix)
    add(os.path.dirname(os.path.realpath(_python())))
    add(os.path.dirname(os.path.abspath(_python())))
    if _python() != sys.executable:  # another kernel's interpreter: its venv and its installation too
        venv = os.path.dirname(os.path.dirname(os.path.abspath(_python())))
        if os.path.isfile(os.path.join(venv, "pyvenv.cfg")):
            add(os.path.realpath(venv))
        add(os.path.dirname(os.path.dirname(os.path.realpath(_python()))))
    add(str(_helpers_root()))
    data_dir = os.environ.get("COURSE_DATA_DIR")
    if data_dir and os.path.isdir(data_dir):
        add(os.path.realpath(data_dir))
    return paths


def _reachable_by_nobody(path: str) -> bool:
    """Could user 65534 (not the owner, not in the group) reach ``path``?"""
    import stat as st

    parts = os.path.abspath(path).split("/")
    for i in range(1, len(parts)):
        ancestor = "/".join(parts[:i]) or "/"
        try:
            mode = os.stat(ancestor).st_mode
        except OSError:
            return False
        if not mode & st.S_IXOTH:
            return False
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    need = st.S_IROTH | (st.S_IXOTH if st.S_ISDIR(mode) else 0)
    return mode & need == need


def _merged_usr_links() -> list[str]:
    argv = []
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        top = f"/{name}"
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    return argv


def sandbox_env(quick: bool = True) -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": SANDBOX_HOME,
        "USER": "student",
        "LOGNAME": "student",
        "LANG": "C.UTF-8",
        "COURSE_OFFLINE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "TQDM_DISABLE": "1",
    }
    if quick:
        env["COURSE_QUICK"] = "1"
    if os.environ.get("COURSE_DATA_DIR"):
        env["COURSE_DATA_DIR"] = os.path.realpath(os.environ["COURSE_DATA_DIR"])
    return env


def bwrap_argv(limits: Limits, *, quick: bool = True, sources: dict[str, str] | None = None) -> list[str]:
    """The bwrap command; ``sources`` maps a bound path to where bwrap finds it (a staged copy)."""
    sources = sources or {}
    argv = [bwrap_path() or "bwrap",
            "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--uid", str(NOBODY), "--gid", str(NOBODY), "--hostname", "sandbox",
            "--clearenv",
            # /tmp first: a tmpfs mounted later would hide binds below it.
            "--size", str(limits.tmp_size), "--tmpfs", "/tmp"]
    for path in _bind_paths():
        argv += ["--ro-bind", sources.get(path, path), path]
    argv += _merged_usr_links()
    argv += ["--proc", "/proc", "--dev", "/dev",
             "--size", str(limits.tmp_size), "--tmpfs", "/dev/shm",
             "--ro-bind", sources.get(str(RUNNER), str(RUNNER)), SANDBOX_RUNNER,
             "--size", str(limits.tmp_size), "--tmpfs", SANDBOX_HOME,
             "--chdir", SANDBOX_HOME]
    for key, value in sandbox_env(quick).items():
        argv += ["--setenv", key, value]
    return argv


# ----------------------------------------------------------------------------- cgroups


def _controller_dirs() -> dict[str, Path]:
    """Where this process sits in each cgroup controller we use, if we may create children there."""
    found: dict[str, Path] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    v1_mounts: dict[str, Path] = {}
    v2_mount: Path | None = None
    for line in mounts:
        left, _, right = line.partition(" - ")
        fields, extra = left.split(), right.split()
        if len(fields) < 5 or len(extra) < 3:
            continue
        if extra[0] == "cgroup":
            for opt in extra[2].split(","):
                if opt in ("memory", "pids"):
                    v1_mounts[opt] = Path(fields[4])
        elif extra[0] == "cgroup2":
            v2_mount = Path(fields[4])
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        for ctl in controllers.split(","):
            if ctl in ("memory", "pids") and ctl in v1_mounts:
                base = v1_mounts[ctl] / path.lstrip("/")
                if base.is_dir() and os.access(base, os.W_OK):
                    found[ctl] = base
        if controllers == "" and v2_mount is not None and path == "/":
            # cgroup v2, only where we sit at the root (elsewhere the no-internal-processes rule applies)
            try:
                available_ctl = (v2_mount / "cgroup.controllers").read_text().split()
            except OSError:
                available_ctl = []
            for ctl in ("memory", "pids"):
                if ctl in available_ctl and ctl not in found and os.access(v2_mount, os.W_OK):
                    found[f"v2:{ctl}"] = v2_mount
    return found


class Cgroups:
    """One cgroup per controller for one submission; removed (after killing its tasks) on close."""

    def __init__(self, limits: Limits) -> None:
        self.dirs: list[Path] = []
        self.enforced: dict[str, str] = {}
        name = f"ppml-grading-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        for ctl, base in sorted(_controller_dirs().items()):
            try:
                if ctl.startswith("v2:"):
                    ctl = ctl[3:]
                    with contextlib.suppress(OSError):
                        (base / "cgroup.subtree_control").write_text(f"+{ctl}")
                    group = base / name
                    group.mkdir(exist_ok=True)
                    if ctl == "memory":
                        (group / "memory.max").write_text(str(limits.memory))
                        with contextlib.suppress(OSError):
                            (group / "memory.swap.max").write_text("0")
                    else:
                        (group / "pids.max").write_text(str(limits.pids))
                else:
                    group = base / name
                    group.mkdir()
                    if ctl == "memory":
                        (group / "memory.limit_in_bytes").write_text(str(limits.memory))
                        with contextlib.suppress(OSError):
                            (group / "memory.memsw.limit_in_bytes").write_text(str(limits.memory))
                    else:
                        (group / "pids.max").write_text(str(limits.pids))
            except OSError:
                continue
            if group not in self.dirs:
                self.dirs.append(group)
            self.enforced[ctl] = f"cgroup {group}"

    @property
    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    def pids(self) -> set[int]:
        found: set[int] = set()
        for d in self.dirs:
            with contextlib.suppress(OSError, ValueError):
                found |= {int(x) for x in (d / "cgroup.procs").read_text().split()}
        return found

    def kill_all(self, timeout: float = 10.0) -> list[int]:
        """SIGKILL every task until the groups are empty; return the pids that would not die."""
        deadline = time.monotonic() + timeout
        while True:
            alive = self.pids()
            if not alive:
                return []
            for pid in alive:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            if time.monotonic() > deadline:
                return sorted(alive)
            time.sleep(0.02)

    def close(self) -> list[int]:
        survivors = self.kill_all()
        for d in self.dirs:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except OSError:
                    time.sleep(0.02)
        return survivors


# ----------------------------------------------------------------------------- running


def launch_argv(cgroups: Cgroups | None, limits: Limits, *, unprivileged: bool,
                quick: bool = True) -> tuple[list[str], str | None]:
    """The whole command up to the interpreter, and a staging folder to remove afterwards (or None).

    ``sh`` joins the submission's cgroups and sets the rlimits. With ``unprivileged`` (the grader is
    root), ``setpriv`` then drops to user 65534 before bwrap, so that the sandbox's processes are
    nobody outside too. bwrap, unprivileged, must reach what it mounts: a path nobody can reach
    (a Python under /root, mode 0700) is first bind-mounted, by root, in a private mount namespace
    of this command only, onto a staging folder nobody can reach; bwrap mounts it from there at
    its usual path.
    """
    cpu = int(limits.cpu_time or max(limits.budget, 1))
    ulimits = ["-c 0", f"-f {max(1, limits.file_size // 512)}", f"-t {cpu}", f"-n {int(limits.nofile)}"]
    enforced = cgroups.enforced if cgroups else {}
    if "memory" not in enforced:
        ulimits.append(f"-d {max(1, limits.memory // 1024)}")
    script = ('while [ "$1" != -- ]; do echo $$ > "$1" || exit 97; shift; done; shift; '
              + "; ".join(f"ulimit {u} || exit 98" for u in ulimits) + '; exec "$@"')
    argv = ["/bin/sh", "-c", script, "sandbox", *(cgroups.procs_files if cgroups else []), "--"]
    stage: str | None = None
    sources: dict[str, str] = {}
    if unprivileged:
        hidden = [p for p in [*_bind_paths(), str(RUNNER)] if not _reachable_by_nobody(p)]
        if hidden:
            import tempfile

            stage = tempfile.mkdtemp(prefix="ppml-stage-")
            os.chmod(stage, 0o755)
            mounts: list[str] = []
            for i, path in enumerate(hidden):
                target = os.path.join(stage, str(i))
                if os.path.isdir(path):
                    os.mkdir(target, 0o755)
                else:
                    open(target, "w").close()
                    os.chmod(target, 0o644)
                sources[path] = target
                mounts += [path, target]
            argv += [shutil.which("unshare") or "unshare", "--mount", "--propagation", "private", "--",
                     "/bin/sh", "-c",
                     'while [ "$1" != -- ]; do mount --bind "$1" "$2" || exit 96; shift 2; done; shift; exec "$@"',
                     "stage", *mounts, "--"]
        argv += [shutil.which("setpriv") or "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                 "--inh-caps=-all", "--bounding-set=-all", "--"]
    return argv + bwrap_argv(limits, quick=quick, sources=sources), stage


def _remove_stage(stage: str | None) -> None:
    """Remove a staging folder without ever recursing: its entries were mount points (in another,
    private mount namespace), so only empty folders and empty files are removed."""
    if not stage:
        return
    for entry in os.scandir(stage):
        with contextlib.suppress(OSError):
            if os.path.ismount(entry.path):
                continue
            if entry.is_dir(follow_symlinks=False):
                os.rmdir(entry.path)
            elif entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_size == 0:
                os.unlink(entry.path)
    with contextlib.suppress(OSError):
        os.rmdir(stage)


def limits_summary(limits: Limits, cgroups: Cgroups | None, sandboxed: bool, unprivileged: bool) -> str:
    enforced = cgroups.enforced if cgroups else {}
    parts = [
        f"memory {limits.memory / GiB:g} GiB via " + (enforced["memory"] if "memory" in enforced else "RLIMIT_DATA"),
        (f"tasks {limits.pids} via {enforced['pids']}" if "pids" in enforced else
         "tasks: not limited (no pids cgroup; RLIMIT_NPROC counts all sandboxes of a user together, so "
         "one student could starve another; the PID namespace is killed at the end)"),
        f"file size {limits.file_size / MiB:g} MiB via RLIMIT_FSIZE",
        f"CPU {int(limits.cpu_time or limits.budget)} s per process via RLIMIT_CPU",
        f"cell {limits.cell_timeout:g} s, submission {limits.budget:g} s wall clock",
        f"output: {limits.keep_output} bytes kept per cell, a test stopped after {limits.stop_output} bytes",
    ]
    if sandboxed:
        parts.append(f"writable tmpfs {limits.tmp_size / MiB:g} MiB each (/tmp, {SANDBOX_HOME}, /dev/shm)")
        parts.append("uid 65534 inside; outside: " + ("uid 65534 (setpriv)" if unprivileged
                                                      else f"uid {os.geteuid()} in a user namespace without capabilities"))
    return "; ".join(parts)


def run_plan(plan: dict, limits: Limits, *, sandboxed: bool = True, quick: bool = True) -> RunResult:
    """Run the grading kernel on ``plan`` (in a sandbox unless ``sandboxed`` is False)."""
    start = time.monotonic()
    plan = dict(plan, cell_timeout=limits.cell_timeout, keep_output=limits.keep_output,
                stop_output=limits.stop_output, sandboxed=sandboxed,
                memory_text=f"{limits.memory / GiB:g} GiB")
    cgroups = Cgroups(limits)
    tmp_home = stage = None
    unprivileged = False
    result: RunResult | None = None
    token = _KERNEL_PYTHON.set(None)
    try:
        from .paths import DEFAULT_KERNEL

        _KERNEL_PYTHON.set(kernel_python(str(plan.get("kernel", DEFAULT_KERNEL))))
        plan["sys_path"] = [str(_helpers_root().parent)]
        if sandboxed:
            ok, reason, unprivileged = probe()
            if not ok:
                raise SandboxUnavailable(reason)
            argv, stage = launch_argv(cgroups, limits, unprivileged=unprivileged, quick=quick)
            argv += [_python(), "-I", SANDBOX_RUNNER]
            cwd, env = "/", {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8"}
        else:
            import tempfile

            tmp_home = tempfile.mkdtemp(prefix="grading-unsafe-")
            argv = launch_argv(cgroups, limits, unprivileged=False)[0]
            argv = argv[: argv.index("--") + 1] + [_python(), "-I", str(RUNNER)]
            env = dict(sandbox_env(quick), HOME=tmp_home, MPLCONFIGDIR=os.path.join(tmp_home, ".matplotlib"),
                       PATH=os.environ.get("PATH", "/usr/bin:/bin"))
            cwd = tmp_home
        result = _communicate(argv, cwd, env, plan, limits, start)
        result.limits_note = limits_summary(limits, cgroups, sandboxed, unprivileged)
    finally:
        _KERNEL_PYTHON.reset(token)
        survivors = cgroups.close()
        if tmp_home:
            shutil.rmtree(tmp_home, ignore_errors=True)
        _remove_stage(stage)
    result.survivors = survivors
    return result


def split_plan(plan: dict) -> tuple[dict, dict]:
    """The plan without the hidden tests' code, and that code by test cell (sent only later)."""
    visible = json.loads(json.dumps(plan))
    hidden: dict[str, list[str]] = {}
    for test in visible["tests"]:
        later: list[str] = []
        for seg in test["segments"]:
            if seg["hidden"] or later:
                later.append(seg["source"])
                seg["source"] = None
        if later:
            hidden[test["id"]] = later
    return visible, hidden


def _communicate(argv: list[str], cwd: str, env: dict[str, str], plan: dict, limits: Limits,
                 start: float) -> RunResult:
    """Feed the plan, read the records (with a deadline and a byte cap), send the hidden tests
    only once every visible output is in, and kill the sandbox at the end."""
    visible, hidden = split_plan(plan)
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True, close_fds=True)
    phase2 = threading.Event()
    stop_feeding = threading.Event()
    writer = threading.Thread(target=_feed, args=(proc, visible, hidden, phase2, stop_feeding), daemon=True)
    writer.start()
    records: list[dict] = []
    buf = bytearray()
    err = bytearray()
    total = 0
    finished = False
    stopped: str | None = None
    deadline = start + limits.budget
    sel = selectors.DefaultSelector()
    assert proc.stdout is not None and proc.stderr is not None
    os.set_blocking(proc.stdout.fileno(), False)
    os.set_blocking(proc.stderr.fileno(), False)
    sel.register(proc.stdout, selectors.EVENT_READ, "out")
    sel.register(proc.stderr, selectors.EVENT_READ, "err")
    try:
        while not finished and stopped is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                stopped = "budget"
                break
            if not sel.get_map():
                stopped = "died"
                break
            for key, _ in sel.select(timeout=min(remaining, 1.0)):
                try:
                    chunk = os.read(key.fileobj.fileno(), 1 << 16)  # type: ignore[union-attr]
                except BlockingIOError:
                    continue
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                if key.data == "err":
                    if len(err) < 256 * 1024:
                        err += chunk[: 256 * 1024 - len(err)]
                    continue
                total += len(chunk)
                if total > limits.max_records:
                    stopped = "records"
                    break
                buf += chunk
                while b"\n" in buf and not finished:
                    line, _, rest = bytes(buf).partition(b"\n")
                    buf = bytearray(rest)
                    try:
                        record = json.loads(line)
                    except ValueError:
                        stopped = "records"
                        break
                    if not isinstance(record, dict):
                        stopped = "records"
                        break
                    kind = record.get("type")
                    if kind == "done":
                        finished = True
                    elif kind == "visible-done":
                        phase2.set()
                    elif kind == "cell" and not phase2.is_set():
                        records.append(record)
                    elif (kind == "hidden" and phase2.is_set() and isinstance(record.get("id"), str)
                          and record.get("status") in ("passed", "failed")):
                        # after the hidden tests entered the sandbox, nothing but pass/fail is taken
                        records.append({"type": "hidden", "id": record["id"], "status": record["status"]})
                if stopped:
                    break
    finally:
        stop_feeding.set()
        sel.close()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.close()  # type: ignore[union-attr]
    if not finished and stopped is None:
        stopped = "died"
    log = err.decode("utf-8", errors="backslashreplace")
    return RunResult(records, finished, time.monotonic() - start, log, stopped)


def _feed(proc: subprocess.Popen, visible: dict, hidden: dict, phase2: threading.Event,
          stop: threading.Event) -> None:
    assert proc.stdin is not None
    with contextlib.suppress(OSError, ValueError):
        proc.stdin.write(json.dumps(visible).encode() + b"\n")
        proc.stdin.flush()
        while not phase2.wait(0.2):
            if stop.is_set() or proc.poll() is not None:
                return
        proc.stdin.write(json.dumps({"hidden": hidden}).encode() + b"\n")
        proc.stdin.flush()
        proc.stdin.close()
