"""FedAvg on Flower's deployment engine: SuperLink and SuperNodes as real processes on 127.0.0.1.

Introduced in lesson 06. The same app runs across machines (README, "Run it across machines");
here every process runs on this machine and talks over the loopback interface::

    from helpers import flower
    weights, timings = flower.run_fedavg(clients, initial_weights=w0, in_features=784, hidden=64,
                                         num_classes=10, rounds=2, epochs=1, batch_size=10, lr=0.1)

or, with the deployment kept open for several runs::

    with flower.FlowerDeployment([{"data-path": p0, "client-id": 0}, ...]) as dep:
        weights = dep.run(flower.APP_DIR, {"init-path": init_npz, "num-server-rounds": 2, ...})

The app (:data:`APP_DIR`) is Flower's own ``FedAvg`` strategy on the server (weighted by each
client's number of examples) and :func:`helpers.federated.client_update` on the clients, so with
the same initial weights, client data and seed it computes :func:`helpers.federated.fedavg`'s
aggregate (up to float32 summation order).

What the runner guarantees (flwr 1.42.0, pinned in the ``federated`` extra):

* nothing is installed at run time: ``--disable-runtime-dependency-installation`` on the
  SuperLink (whose default is to ``uv sync`` the app's dependencies) and
  FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION=1; SuperNodes install nothing unless given
  ``--allow-runtime-dependency-installation``;
* no telemetry (FLWR_TELEMETRY_ENABLED=0), no update check (FLWR_DISABLE_UPDATE_CHECK=1), and
  any other Flower-platform call goes to a dead local port (FLWR_SUPERGRID_API_URL);
* all Flower state lives in a temporary FLWR_HOME, deleted afterwards;
* every process Flower starts carries an environment marker, so teardown finds and kills them
  all, including those Flower detaches into their own session and orphans;
* if this Python process dies (even by SIGKILL: a crashed or killed kernel), a watchdog process
  notices within ~0.2 s (PR_SET_PDEATHSIG + polling its parent pid), kills every marked process
  and deletes FLWR_HOME; :func:`reap_orphans` (called on every start) is the last line of defence.

Privacy: none beyond FedAvg's (see :mod:`helpers.federated`): the SuperLink (server) receives
every client's trained weights in the clear over an ``--insecure`` (unencrypted) connection,
which is acceptable on 127.0.0.1 only.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

__all__ = ["APP_DIR", "FlowerDeployment", "FlowerError", "reap_orphans", "run_fedavg"]

APP_DIR = Path(__file__).resolve().parent / "app"  # the Flower app directory given to `flwr run`
MARKER = "PPML_FLWR_OWNER"  # env var "<owner pid>:<deployment id>" on every process
CONNECTION = "ppml-local"   # SuperLink connection name written to $FLWR_HOME/config.toml
HOME_PREFIX = "ppml-flwr-"  # temporary FLWR_HOME: <tmp>/ppml-flwr-<owner pid>-<random>

# Watchdog: a stdlib-only process that outlives its owner (the notebook kernel / test
# process) by a few seconds. PR_SET_PDEATHSIG makes the kernel send it SIGTERM the
# moment the owner dies (even by SIGKILL); it then kills every process carrying the
# deployment's marker and deletes FLWR_HOME. While the owner lives it does nothing;
# FlowerDeployment.close() SIGKILLs it after its own cleanup.
_WATCHDOG = r"""
import ctypes, os, shutil, signal, sys, time
owner, token, home = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]
signal.signal(signal.SIGINT, signal.SIG_IGN)
woke = []
signal.signal(signal.SIGTERM, lambda *_: woke.append(1))
ctypes.CDLL(None).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
print("ready", flush=True)
# PDEATHSIG also fires when the *thread* that spawned us exits; so only act once the
# owner is really gone (we are then reparented), and poll as a fallback.
while os.getppid() == owner:
    time.sleep(0.2)
def marked():
    me, found = os.getpid(), []
    for e in os.listdir("/proc"):
        if e.isdigit() and int(e) != me:
            try:
                env = open(f"/proc/{e}/environ", "rb").read().split(b"\0")
                st = open(f"/proc/{e}/stat").read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if st != "Z" and b"PPML_FLWR_OWNER=" + token in env:
                found.append(int(e))
    return found
deadline = time.monotonic() + 15
for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL, signal.SIGKILL):
    pids = marked()
    if not pids:
        break
    for p in pids:
        try:
            os.kill(p, sig)
        except OSError:
            pass
    t = time.monotonic() + 2
    while time.monotonic() < t and marked():
        time.sleep(0.1)
shutil.rmtree(home, ignore_errors=True)
"""


def _free_ports(n: int) -> list[int]:
    """n distinct free TCP ports on 127.0.0.1 (all held open until all are chosen)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _write_toml(path: Path, values: Mapping[str, object]) -> Path:
    path.write_text("".join(f"{k} = {_toml_value(v)}\n" for k, v in values.items()))
    return path


def _marked_pids(value_prefix: str) -> list[int]:
    """PIDs whose environment has MARKER=<value starting with value_prefix>."""
    needle = f"{MARKER}={value_prefix}".encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if any(item.startswith(needle) for item in env):
            pids.append(int(entry))
    return pids


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _kill_all(pids: Sequence[int], grace: float) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + (grace if sig == signal.SIGTERM else 2.0)
        while time.monotonic() < deadline and any(_pid_alive(p) for p in pids):
            time.sleep(0.05)
        pids = [p for p in pids if _pid_alive(p)]
        if not pids:
            return


def reap_orphans() -> int:
    """Kill Flower processes left by a deployment whose owner process is gone."""
    stale = []
    for pid in _marked_pids(""):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = dict(i.split(b"=", 1) for i in f.read().split(b"\0") if b"=" in i)
            owner = int(env[MARKER.encode()].split(b":")[0])
        except (OSError, KeyError, ValueError):
            continue
        if not _pid_alive(owner):
            stale.append(pid)
    _kill_all(stale, grace=2.0)
    for d in Path(tempfile.gettempdir()).glob(f"{HOME_PREFIX}*-*"):
        with contextlib.suppress(ValueError):
            if not _pid_alive(int(d.name[len(HOME_PREFIX):].split("-")[0])):
                shutil.rmtree(d, ignore_errors=True)
    return len(stale)


class FlowerError(RuntimeError):
    """Flower did not start, or a run failed (the message holds the relevant log)."""


class FlowerDeployment:
    """SuperLink + N SuperNodes as processes on 127.0.0.1 (free ports); a context manager.

    Parameters
    ----------
    node_configs
        One dict per SuperNode, passed as its ``--node-config`` (``data-path``, ``client-id``).
    startup_timeout
        Seconds for the SuperLink and every SuperNode to answer ``/health``.
    extra_env
        Extra environment variables for every Flower process.
    keep_home
        Keep the temporary FLWR_HOME (logs) after closing, for debugging.
    verbose
        Echo the ServerApp's streamed log while a run goes.

    Entering starts the SuperLink (and waits until it answers ``/health``) and launches the
    SuperNodes; :meth:`run` submits the app at once and waits for the SuperNodes' ``/health``
    while Flower's CLI and ServerApp start (Flower's ``FedAvg`` waits for its nodes anyway), so
    the SuperNodes' start-up overlaps the run's instead of preceding it.

    ``timings`` (seconds): ``startup`` (SuperLink healthy, SuperNodes launched), ``nodes`` (from the
    start until every SuperNode answered ``/health``; overlaps the first run) and ``run`` (``flwr
    run`` submitted to final weights written) after a run.
    """

    def __init__(self, node_configs: Sequence[Mapping[str, object]], *,
                 startup_timeout: float = 60.0, extra_env: Mapping[str, str] | None = None,
                 keep_home: bool = False, verbose: bool = False) -> None:
        self.node_configs = list(node_configs)
        self.startup_timeout = startup_timeout
        self.extra_env = dict(extra_env or {})
        self.keep_home = keep_home
        self.verbose = verbose
        self.home: Path | None = None
        self.procs: dict[str, subprocess.Popen] = {}
        self.superlink_port: int | None = None
        self.ports: list[int] = []
        self.token = f"{os.getpid()}:{uuid.uuid4().hex}"
        self.timings: dict[str, float] = {}
        self.watchdog: subprocess.Popen | None = None
        self._pending_nodes: list[tuple[int, str]] = []  # (port, name) not yet seen healthy
        self._t_start = 0.0

    # ------------------------------------------------------------------ start/stop
    def __enter__(self) -> FlowerDeployment:
        reap_orphans()
        for attempt in range(3):  # a free port can be taken between choosing and binding
            atexit.register(self.close)
            try:
                self._start()
                return self
            except FlowerError:
                self.close()
                if attempt == 2:
                    raise
            except BaseException:
                self.close()
                raise
        raise AssertionError("unreachable")

    def __exit__(self, *exc) -> None:
        self.close()

    def _env(self) -> dict[str, str]:
        bindir = str(Path(sys.executable).parent)  # flwr resolves its helpers via PATH
        env = dict(os.environ)
        # the clientapps import the same `helpers` as this process (a worktree or an install)
        root = str(Path(__file__).resolve().parents[2])
        env.update({
            "PATH": bindir + os.pathsep + env.get("PATH", ""),
            "PYTHONPATH": root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""),
            "FLWR_HOME": str(self.home),
            "FLWR_TELEMETRY_ENABLED": "0",
            "FLWR_DISABLE_UPDATE_CHECK": "1",
            "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",
            "FLWR_SUPERGRID_API_URL": "http://127.0.0.1:9/v1",  # never reach the Platform
            "FLWR_SUPEREXEC_TASK_POLL_INTERVAL": "0.3",  # default 1 s; 0.1 costs idle CPU in 3 daemons
            "OMP_NUM_THREADS": "1",
            "PYTHONUNBUFFERED": "1",
            MARKER: self.token,
        })
        env.update(self.extra_env)
        return env

    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen:
        exe = shutil.which(cmd[0], path=self.env["PATH"])
        if exe is None:
            raise FlowerError(f"{cmd[0]} not found next to {sys.executable}: install Flower with "
                              "`pip install ppml-course[federated]` (flwr==1.42.0)")
        log = open(self.home / f"{name}.log", "wb")  # noqa: SIM115
        p = subprocess.Popen(
            [exe, *cmd[1:]],
            env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in a terminal reaches only us; we stop them
        )
        log.close()
        self.procs[name] = p
        return p

    def _start_watchdog(self) -> None:
        env = {k: v for k, v in self.env.items() if k != MARKER}
        self.watchdog = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, str(os.getpid()), self.token, str(self.home)],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            start_new_session=True,
        )
        if self.watchdog.stdout.readline().strip() != b"ready":  # PDEATHSIG is armed
            raise FlowerError("watchdog failed to start")

    def _wait_health(self, port: int, proc: subprocess.Popen, name: str,
                     deadline: float) -> None:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise FlowerError(f"{name} exited with {proc.returncode}:\n{self.log(name)}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        raise FlowerError(f"{name} not healthy after {self.startup_timeout} s:\n{self.log(name)}")

    def _start(self) -> None:
        t0 = time.monotonic()
        self.home = Path(tempfile.mkdtemp(prefix=f"{HOME_PREFIX}{os.getpid()}-"))
        self.env = self._env()
        self._start_watchdog()
        ports = self.ports = _free_ports(1 + len(self.node_configs))
        self.superlink_port = ports[0]
        deadline = time.monotonic() + self.startup_timeout
        self._spawn("superlink", [
            "flower-superlink", "--insecure", "--isolation", "subprocess",
            "--host", "127.0.0.1", "--port", str(ports[0]),
            "--disable-runtime-dependency-installation",
        ])
        # SuperLink connection for `flwr run` (flwr >= 1.41 reads it from here, not from
        # the app's pyproject.toml).
        (self.home / "config.toml").write_text(
            f'[superlink]\ndefault = "{CONNECTION}"\n\n'
            f'[superlink.{CONNECTION}]\naddress = "127.0.0.1:{ports[0]}"\ninsecure = true\n')
        self._wait_health(ports[0], self.procs["superlink"], "superlink", deadline)
        for i, (cfg, port) in enumerate(zip(self.node_configs, ports[1:])):
            node_cfg = _write_toml(self.home / f"node-config-{i}.toml", cfg)
            self._spawn(f"supernode-{i}", [
                "flower-supernode", "--insecure", "--superlink", f"127.0.0.1:{ports[0]}",
                "--host", "127.0.0.1", "--port", str(port),
                "--isolation", "subprocess", "--node-config", str(node_cfg),
            ])
        # Their health is awaited in run(), after `flwr run` is submitted (see the class docstring).
        self._pending_nodes = [(port, f"supernode-{i}") for i, port in enumerate(ports[1:])]
        self._t_start = t0
        self.timings["startup"] = time.monotonic() - t0

    def _wait_nodes(self) -> None:
        """Wait until every SuperNode answers /health (FlowerError with its log if one exits)."""
        if not self._pending_nodes:
            return
        deadline = max(self._t_start + self.startup_timeout, time.monotonic() + 5.0)
        for port, name in self._pending_nodes:
            self._wait_health(port, self.procs[name], name, deadline)
        self._pending_nodes = []
        self.timings["nodes"] = time.monotonic() - self._t_start

    def close(self) -> None:
        """Stop everything this deployment started. Idempotent; safe from atexit."""
        with contextlib.suppress(Exception):
            atexit.unregister(self.close)
        # 1. process groups of the processes we started (a SuperNode's group also holds
        #    its superexec and clientapps; the SuperLink's superexec has its own session)
        for p in self.procs.values():
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(p.pid, signal.SIGTERM)
        # 2. everything else that carries our marker; SIGKILL what ignores SIGTERM
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            left = [pid for pid in _marked_pids(self.token) if _pid_alive(pid)]
            if not left:
                break
            _kill_all(left, grace=min(3.0, max(0.1, deadline - time.monotonic())))
        for p in self.procs.values():
            with contextlib.suppress(Exception):
                p.wait(timeout=2)
        self.procs.clear()
        if self.watchdog is not None:  # our own cleanup is done: stand the watchdog down
            with contextlib.suppress(ProcessLookupError):
                self.watchdog.kill()
            self.watchdog.wait()
            self.watchdog.stdout.close()
            self.watchdog = None
        if self.home is not None and not self.keep_home:
            shutil.rmtree(self.home, ignore_errors=True)
            self.home = None

    # ------------------------------------------------------------------ running
    @staticmethod
    def _echo(path: Path, offset: int) -> int:
        with contextlib.suppress(OSError), open(path, "rb") as f:
            f.seek(offset)
            chunk = f.read()
            print(chunk.decode(errors="replace"), end="", flush=True)
            return offset + len(chunk)
        return offset

    def log(self, name: str) -> str:
        try:
            return (self.home / f"{name}.log").read_text(errors="replace")[-4000:]
        except (OSError, TypeError):
            return ""

    def run(self, app_dir: str | os.PathLike, run_config: Mapping[str, object],
            timeout: float = 120.0) -> dict[str, np.ndarray]:
        """Submit the app, stream its ServerApp log, return the final global weights.

        On TimeoutError/FlowerError the run may still be going: leave the `with` block
        (close the deployment) rather than submitting another run.
        """
        out = self.home / f"result-{uuid.uuid4().hex[:8]}.npz"
        cfg = {**run_config, "output-path": str(out)}
        run_cfg = _write_toml(self.home / f"run-config-{out.stem}.toml", cfg)
        t0 = time.monotonic()
        cli = self._spawn(f"flwr-run-{out.stem}", [
            "flwr", "run", str(Path(app_dir).resolve()), CONNECTION, "--stream",
            "--run-config", str(run_cfg),
        ])
        deadline = t0 + timeout
        self._wait_nodes()
        log_path, shown = self.home / f"flwr-run-{out.stem}.log", 0
        while cli.poll() is None:
            if self.verbose:  # echo the streamed ServerApp log as it arrives
                shown = self._echo(log_path, shown)
            for name, p in self.procs.items():
                if name.startswith("super") and p.poll() is not None:
                    raise FlowerError(f"{name} died during the run:\n{self.log(name)}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"Flower run took over {timeout} s:\n"
                                   + self.log(f"flwr-run-{out.stem}"))
            time.sleep(0.1)
        self.timings["run"] = time.monotonic() - t0
        text = self.log(f"flwr-run-{out.stem}")
        if self.verbose:
            self._echo(log_path, shown)
        if cli.returncode != 0 or not out.exists():
            raise FlowerError(f"Flower run failed (flwr exit {cli.returncode}):\n{text}")
        with np.load(out) as f:
            return {k: f[k] for k in f.files}


def run_fedavg(
    clients: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    initial_weights: Mapping[str, np.ndarray],
    in_features: int,
    hidden: int,
    num_classes: int,
    rounds: int,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int = 0,
    timeout: float = 300.0,
    verbose: bool = False,
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """FedAvg of ``helpers.models.mlp(in_features, hidden, num_classes)`` on Flower, every client every round.

    Writes each client's ``(x, y)`` and the initial weights to ``.npz`` files in a temporary folder,
    starts a :class:`FlowerDeployment` with one SuperNode per client (``client-id`` = its index),
    runs :data:`APP_DIR` for ``rounds`` rounds, and tears everything down. Equals
    ``helpers.federated.fedavg(..., client_fraction=1.0, seed=seed)`` with the same model, initial
    weights and clients, up to float32 rounding. No privacy guarantee (see the module docstring).

    Returns
    -------
    (dict[str, numpy.ndarray], dict[str, float])
        The final global weights and the timings in seconds: ``total`` (files, start-up, run and
        teardown) and :class:`FlowerDeployment`'s ``startup``, ``nodes`` and ``run``.
    """
    if len(clients) < 1:
        raise ValueError("clients must be a non-empty list of (x, y) pairs")
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ppml-flwr-data-") as tmp:
        cfgs = []
        for cid, (x, y) in enumerate(clients):
            path = Path(tmp) / f"client-{cid}.npz"
            np.savez(path, x=np.asarray(x, dtype=np.float32), y=np.asarray(y, dtype=np.int64))
            cfgs.append({"data-path": str(path), "client-id": cid})
        init = Path(tmp) / "init.npz"
        np.savez(init, **{k: np.asarray(v, dtype=np.float32) for k, v in initial_weights.items()})
        with FlowerDeployment(cfgs, verbose=verbose) as dep:
            weights = dep.run(APP_DIR, {
                "init-path": str(init), "num-server-rounds": int(rounds), "num-clients": len(clients),
                "local-epochs": int(epochs), "batch-size": int(batch_size), "lr": float(lr), "seed": int(seed),
                "in-features": int(in_features), "hidden": int(hidden), "num-classes": int(num_classes),
            }, timeout=timeout)
            timings = dict(dep.timings)
    timings["total"] = time.monotonic() - t0
    return weights, timings
