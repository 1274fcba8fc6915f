"""The TensorFlow side of :mod:`helpers.tensorflow_bridge`: runs in ``.venv-tf`` only, never imported
by the main environment (it is started as ``python -m helpers._tf_worker job.npz result.npz``).

Also the one definition of the appendix's Keras models (:func:`build_model`), so that the notebook
and the bridge train the same network.
"""
from __future__ import annotations

import json
import sys

import numpy as np


def tutorial_cnn(num_classes: int = 10):
    """The Keras CNN of TensorFlow Privacy's tutorial "Implement Differential Privacy with TensorFlow
    Privacy" (g3doc/tutorials/classification_privacy.ipynb): two strided convolutions with max-pooling,
    Dense(32), logits."""
    import tensorflow as tf

    return tf.keras.Sequential([
        tf.keras.layers.Conv2D(16, 8, strides=2, padding="same", activation="relu", input_shape=(28, 28, 1)),
        tf.keras.layers.MaxPool2D(2, 1),
        tf.keras.layers.Conv2D(32, 4, strides=2, padding="valid", activation="relu"),
        tf.keras.layers.MaxPool2D(2, 1),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(32, activation="relu"),
        tf.keras.layers.Dense(num_classes),
    ])


def build_model(model: str, num_classes: int, input_shape: tuple[int, ...]):
    import tensorflow as tf

    if model == "tutorial_cnn":
        return tutorial_cnn(num_classes)
    if model == "mlp":
        return tf.keras.Sequential([
            tf.keras.layers.Flatten(input_shape=input_shape),
            tf.keras.layers.Dense(128, activation="relu"),
            tf.keras.layers.Dense(num_classes),
        ])
    return tf.keras.models.model_from_json(model)


def run(job_path: str, out_path: str) -> None:
    import tensorflow as tf
    import tensorflow_privacy
    from tensorflow_privacy.privacy.analysis import compute_dp_sgd_privacy_lib

    with np.load(job_path, allow_pickle=False) as job:
        s = json.loads(str(job["settings"]))
        x, y = job["x"], job["y"]
        test = (job["x_test"], job["y_test"]) if "x_test" in job else None
    tf.keras.utils.set_random_seed(s["seed"])
    rows = np.random.default_rng(s["seed"]).permutation(len(x))[: s["n_train"]]
    x, y = x[rows], y[rows]

    model = build_model(s["model"], s["num_classes"], x.shape[1:])
    optimizer = tensorflow_privacy.DPKerasSGDOptimizer(
        l2_norm_clip=s["max_norm"], noise_multiplier=s["noise_multiplier"],
        num_microbatches=s["batch_size"], learning_rate=s["lr"], momentum=s["momentum"])
    # A vector of per-example losses: the optimizer splits it into microbatches (one example each).
    loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=tf.losses.Reduction.NONE)
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    fit = model.fit(x, y, epochs=s["epochs"], batch_size=s["batch_size"], shuffle=True, verbose=0,
                    validation_data=test)
    test_accuracy = None
    if test is not None:
        test_accuracy = float(model.evaluate(test[0], test[1], batch_size=1000, verbose=0)[1])
    eps_tf, _order = compute_dp_sgd_privacy_lib.compute_dp_sgd_privacy(
        n=s["n_train"], batch_size=s["batch_size"], noise_multiplier=s["noise_multiplier"],
        epochs=s["epochs"], delta=s["delta"])
    weights = model.get_weights()
    meta = {
        "n_weights": len(weights), "epsilon_tf_privacy": float(eps_tf), "test_accuracy": test_accuracy,
        "history": {k: [float(v) for v in vals] for k, vals in fit.history.items()},
        "model_json": model.to_json(), "tensorflow": tf.__version__,
        "tensorflow_privacy": getattr(tensorflow_privacy, "__version__", ""),
    }
    np.savez(out_path, meta=np.array(json.dumps(meta)), **{f"w{i}": w for i, w in enumerate(weights)})


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m helpers._tf_worker job.npz result.npz")
    run(sys.argv[1], sys.argv[2])
