"""ClientApp: one call of the course's `helpers.federated.client_update` per `train` message.

The SuperNode tells this process where its data is through node-config
(`flower-supernode --node-config 'data-path="/abs/c0.npz" client-id=0'`): no data travels
through Flower. The minibatch order comes from `helpers.federated.client_seed(seed, round,
client-id)`, the seed the from-scratch `helpers.federated.fedavg` uses, so both compute the
same local update.

Flower starts a fresh process for every message, so this module keeps the process start lean: it
imports only flwr and NumPy at load time; `train` imports torch and exactly the course modules it
needs (`_course_modules`), and `helpers.training.fit` steps with plain SGD rather than torch.optim
(whose first use imports torch._dynamo: see `helpers._plain_sgd`).
"""

import importlib.util
import sys

import numpy as np
from flwr.app import Array, ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

app = ClientApp()


def _course_modules():
    """`helpers.federated` and `helpers.models`, without running `helpers/__init__.py`.

    The package's `__init__` imports every Part I module and with them SciPy (1-2.5 s of CPU per
    process here); a ClientApp needs none of it. So, in this throwaway process only, `helpers` is
    registered as a bare package (its path, not its `__init__`) before the two submodules (and
    those they import: `training`, `_validation`, `_torchutils`) are loaded. If `helpers` was
    already imported (e.g. a simulation running clients in the notebook's process), it is used as is.
    """
    if "helpers" not in sys.modules:
        spec = importlib.util.find_spec("helpers")
        if spec is None or spec.submodule_search_locations is None:
            raise ImportError("the course's `helpers` package is not importable on this SuperNode")
        sys.modules["helpers"] = importlib.util.module_from_spec(spec)  # __path__ set, __init__ not run
    from helpers import federated, models

    return federated, models


@app.train()
def train(msg: Message, context: Context) -> Message:
    import torch

    federated, models = _course_modules()
    torch.set_num_threads(1)
    cfg, node = context.run_config, context.node_config
    with np.load(str(node["data-path"])) as f:
        x, y = torch.from_numpy(f["x"].astype(np.float32)), torch.from_numpy(f["y"].astype(np.int64))
    model = models.mlp(in_features=int(cfg["in-features"]), hidden=int(cfg["hidden"]),
                       num_classes=int(cfg["num-classes"]))
    weights = {k: v.numpy() for k, v in msg.content["arrays"].items()}
    server_round = int(msg.content["config"]["server-round"])  # set by Flower's FedAvg, 1-based
    gen = torch.Generator().manual_seed(
        federated.client_seed(int(cfg["seed"]), server_round, int(node["client-id"])))
    new, n = federated.client_update(model, weights, x, y, epochs=int(cfg["local-epochs"]),
                                     batch_size=int(cfg["batch-size"]), lr=float(cfg["lr"]), generator=gen)
    return Message(
        content=RecordDict({
            "arrays": ArrayRecord({k: Array(np.ascontiguousarray(v, dtype=np.float32)) for k, v in new.items()}),
            # Flower's FedAvg weights each reply by this key (weighted_by_key="num-examples")
            "metrics": MetricRecord({"num-examples": n}),
        }),
        reply_to=msg,
    )

# No @app.evaluate(): the ServerApp runs FedAvg(fraction_evaluate=0.0), so no evaluate
# messages (and no extra clientapp processes) are ever sent.
