"""ClientApp: one call of the course's `helpers.federated.client_update` per `train` message.

The SuperNode tells this process where its data is through node-config
(`flower-supernode --node-config 'data-path="/abs/c0.npz" client-id=0'`): no data travels
through Flower. The minibatch order comes from `helpers.federated.client_seed(seed, round,
client-id)`, the seed the from-scratch `helpers.federated.fedavg` uses, so both compute the
same local update.

Flower starts a fresh process for every message, so this module keeps the process start lean: it
imports only flwr and NumPy at load time; `train` imports torch and the two course modules it
needs, and `helpers.training.fit` steps with plain SGD rather than torch.optim
(whose first use imports torch._dynamo: see `helpers._plain_sgd`).
"""

import numpy as np
from flwr.app import Array, ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

app = ClientApp()


@app.train()
def train(msg: Message, context: Context) -> Message:
    import torch

    from helpers import federated, models  # `import helpers` is lean: heavy modules load on first use

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
