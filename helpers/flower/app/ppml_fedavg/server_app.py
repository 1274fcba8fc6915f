"""ServerApp: Flower's FedAvg (weighted by each client's number of examples), weights in/out via files.

Imports only flwr and NumPy (no torch): the server side of FedAvg is an average of arrays.
"""

import os
import time
from collections.abc import Iterable

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg


app = ServerApp()


def _to_record(weights) -> ArrayRecord:
    return ArrayRecord({k: Array(np.ascontiguousarray(v, dtype=np.float32)) for k, v in weights.items()})


def _load(path: str) -> dict:
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


class FastPollGrid:
    """Grid wrapper: poll for replies every `interval` s instead of Flower's fixed 3 s.

    flwr 1.42 `HttpGrid.send_and_receive` (flwr/superlink/grid/http_grid.py:384-413)
    sleeps 3 s between pulls; this reimplements it with `push_messages` /
    `pull_messages`, which are part of the public `Grid` API.
    """

    def __init__(self, grid: Grid, interval: float) -> None:
        self._grid = grid
        self._interval = interval

    def __getattr__(self, name):  # everything else goes to the real grid
        return getattr(self._grid, name)

    def send_and_receive(self, messages: Iterable[Message], *,
                         timeout: float | None = None) -> Iterable[Message]:
        pending = set(self._grid.push_messages(messages))
        deadline = None if timeout is None else time.monotonic() + timeout
        replies: list[Message] = []
        while pending and (deadline is None or time.monotonic() < deadline):
            got = list(self._grid.pull_messages(pending))
            replies.extend(got)
            pending -= {m.metadata.reply_to_message_id for m in got}
            if pending:
                time.sleep(self._interval)
        return replies


@app.main()
def main(grid: Grid, context: Context) -> None:
    run_fedavg(grid, context.run_config)


def run_fedavg(grid: Grid, cfg) -> None:
    """The whole server side, callable without a ServerApp (e.g. from run_simulation)."""
    initial = _to_record(_load(str(cfg["init-path"])))
    strategy = FedAvg(
        fraction_train=1.0,
        fraction_evaluate=0.0,   # no client-side evaluation round trip
        min_train_nodes=int(cfg["num-clients"]),      # wait for all clients ...
        min_available_nodes=int(cfg["num-clients"]),  # ... and train on all of them
        weighted_by_key="num-examples",
    )
    result = strategy.start(
        grid=FastPollGrid(grid, float(cfg["poll-interval"])),
        initial_arrays=initial,
        num_rounds=int(cfg["num-server-rounds"]),
        timeout=float(cfg["round-timeout"]),
        train_config=ConfigRecord({}),
    )
    out = str(cfg["output-path"])
    if out:
        tmp = out + ".tmp.npz"
        np.savez(tmp, **{k: v.numpy() for k, v in result.arrays.items()})
        os.replace(tmp, out)  # atomic: the notebook never sees a half-written file
