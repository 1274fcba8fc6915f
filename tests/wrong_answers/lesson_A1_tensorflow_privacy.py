"""Appendix A1 (TensorFlow Privacy): wrong answers students write, and other right ones.

The exercises are plain Python (no TensorFlow), so this catalogue runs in the main environment; the
notebook feeds the answers to DPKerasSGDOptimizer and compute_dp_sgd_privacy in the ppml-tf kernel.
The privacy bugs here: one microbatch for the whole batch (no per-example clipping), σ·C passed as the
noise multiplier, σ = 0 accepted, and every way of mis-counting the accountant's steps or sampling rate.
"""
from wrong_answers import Right, Wrong

# ----------------------------------------------------------------------------- Exercise 1
_VALIDATE = '''
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError("batch_size must be a positive int")
    if not l2_norm_clip > 0 or not noise_multiplier > 0 or not learning_rate > 0:
        raise ValueError("l2_norm_clip, noise_multiplier and learning_rate must be > 0")
'''


def _settings(body: str, validate: str = _VALIDATE) -> str:
    return ("def dp_optimizer_settings(*, l2_norm_clip, noise_multiplier, batch_size, learning_rate):\n"
            + validate.strip("\n") + "\n" + body)


_OK = ('    return {"l2_norm_clip": l2_norm_clip, "noise_multiplier": noise_multiplier,\n'
       '            "num_microbatches": batch_size, "learning_rate": learning_rate}\n')

# ----------------------------------------------------------------------------- Exercise 2
_EPS_VALIDATE = '''
    for value in (n, batch_size):
        if not isinstance(value, int) or value < 1:
            raise ValueError("n and batch_size must be positive ints")
    if batch_size > n:
        raise ValueError("batch_size > n")
    if not noise_multiplier > 0 or not epochs > 0:
        raise ValueError("noise_multiplier and epochs must be > 0")
    if not 0 < delta < 1:
        raise ValueError("delta must be in (0, 1)")
'''


def _eps(steps: str = "math.ceil(epochs * n / batch_size)", q: str = "batch_size / n",
         sigma: str = "noise_multiplier", delta: str = "delta", extra: str = "",
         validate: str = _EPS_VALIDATE) -> str:
    return ("def dp_sgd_epsilon(*, n, batch_size, noise_multiplier, epochs, delta):\n"
            + validate.strip("\n") + "\n"
            + f"    steps = {steps}\n"
            + f"    return float(accounting.epsilon(noise_multiplier={sigma}, sample_rate={q}, steps=steps, "
              f"delta={delta}{extra}))\n")


WRONG = {
    "dp-optimizer-settings": [
        Wrong("one microbatch for the whole batch: clips the batch's mean gradient, not each example's",
              visible=True, message="one example per microbatch", source=_settings(
                  '    return {"l2_norm_clip": l2_norm_clip, "noise_multiplier": noise_multiplier,\n'
                  '            "num_microbatches": 1, "learning_rate": learning_rate}\n')),
        Wrong("σ·C passed as the noise multiplier (the optimizer multiplies by C itself)",
              visible=True, message="σ itself", source=_settings(
                  '    return {"l2_norm_clip": l2_norm_clip, "noise_multiplier": noise_multiplier * l2_norm_clip,\n'
                  '            "num_microbatches": batch_size, "learning_rate": learning_rate}\n')),
        Wrong("microbatches of two examples to halve the cost", visible=True,
              message="one example per microbatch", source=_settings(
                  '    return {"l2_norm_clip": l2_norm_clip, "noise_multiplier": noise_multiplier,\n'
                  '            "num_microbatches": batch_size // 2, "learning_rate": learning_rate}\n')),
        Wrong("the tutorial's variable name `microbatches` as the key", visible=True, message="keys",
              source=_settings(
                  '    return {"l2_norm_clip": l2_norm_clip, "noise_multiplier": noise_multiplier,\n'
                  '            "microbatches": batch_size, "learning_rate": learning_rate}\n')),
        Wrong("no validation at all", visible=True, message="raise ValueError", source=_settings(_OK, validate="")),
        Wrong("accepts σ = 0 (no noise: no privacy)", visible=True, message="raise ValueError", source=_settings(_OK,
              '    if not isinstance(batch_size, int) or batch_size < 1:\n'
              '        raise ValueError("batch_size must be a positive int")\n'
              '    if not l2_norm_clip > 0 or noise_multiplier < 0 or not learning_rate > 0:\n'
              '        raise ValueError("bad settings")\n')),
        Wrong("learning rate divided by the batch size (the optimizer already averages)", source=_settings(
            '    return {"l2_norm_clip": l2_norm_clip, "noise_multiplier": noise_multiplier,\n'
            '            "num_microbatches": batch_size, "learning_rate": learning_rate / batch_size}\n')),
        Wrong("a list of positional values instead of the keyword dict", source=_settings(
            '    return [l2_norm_clip, noise_multiplier, batch_size, learning_rate]\n')),
        Wrong("noise multiplier divided by the clipping norm", source=_settings(
            '    return {"l2_norm_clip": l2_norm_clip, "noise_multiplier": noise_multiplier / l2_norm_clip,\n'
            '            "num_microbatches": batch_size, "learning_rate": learning_rate}\n')),
        Wrong("delegates to the course's reference", source='''
            def dp_optimizer_settings(*, l2_norm_clip, noise_multiplier, batch_size, learning_rate):
                from helpers import tensorflow_bridge
                return tensorflow_bridge.dp_optimizer_settings(l2_norm_clip=l2_norm_clip,
                    noise_multiplier=noise_multiplier, batch_size=batch_size, learning_rate=learning_rate)
        '''),
    ],
    "dp-sgd-epsilon": [
        Wrong("epochs as the number of steps", visible=True, message="counts steps", source=_eps(steps="epochs")),
        Wrong("sampling rate 1/L", visible=True, message="sampling rate 1/L", source=_eps(q="1 / batch_size")),
        Wrong("the classic conversion (the tutorial's 0.79)", visible=True, message="classic",
              source=_eps(extra=', conversion="classic"')),
        Wrong("σ halved, as compute_dp_sgd_privacy_statement's default does", visible=True, message="σ/2",
              source=_eps(sigma="noise_multiplier / 2")),
        Wrong("one step per example: epochs·n steps", visible=True, message="batch of L examples",
              source=_eps(steps="math.ceil(epochs * n)")),
        Wrong("steps rounded down", visible=True, message="ceil", source=_eps(steps="int(epochs * n / batch_size)")),
        Wrong("steps rounded to the nearest integer", source=_eps(steps="round(epochs * n / batch_size)")),
        Wrong("δ = 1/n instead of the δ given", visible=True, message="δ = 1/n", source=_eps(delta="1 / n")),
        Wrong("no validation (n = 0 divides by zero)", visible=True, message="raise ValueError",
              source=_eps(validate="")),
        Wrong("epochs rounded up to whole epochs", source=_eps(steps="math.ceil(epochs) * math.ceil(n / batch_size)")),
        Wrong("delegates to the course's reference", source='''
            def dp_sgd_epsilon(*, n, batch_size, noise_multiplier, epochs, delta):
                from helpers import tensorflow_bridge
                return tensorflow_bridge.dp_sgd_epsilon(n=n, batch_size=batch_size,
                    noise_multiplier=noise_multiplier, epochs=epochs, delta=delta)
        '''),
    ],
}

RIGHT = {
    "dp-optimizer-settings": [
        Right("dict(...) and validation in another order", '''
            def dp_optimizer_settings(*, l2_norm_clip, noise_multiplier, batch_size, learning_rate):
                for name, value in [("l2_norm_clip", l2_norm_clip), ("noise_multiplier", noise_multiplier),
                                    ("learning_rate", learning_rate)]:
                    if value <= 0:
                        raise ValueError(f"{name} must be > 0")
                if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
                    raise ValueError("batch_size must be a positive integer")
                return dict(l2_norm_clip=l2_norm_clip, noise_multiplier=noise_multiplier,
                            num_microbatches=batch_size, learning_rate=learning_rate)
        '''),
    ],
    "dp-sgd-epsilon": [
        Right("the RDP curve composed by hand, steps by integer arithmetic when possible", '''
            def dp_sgd_epsilon(*, n, batch_size, noise_multiplier, epochs, delta):
                if not (isinstance(n, int) and isinstance(batch_size, int)) or n <= 0 or batch_size <= 0:
                    raise ValueError("n and batch_size must be positive integers")
                if batch_size > n or noise_multiplier <= 0 or epochs <= 0 or not 0 < delta < 1:
                    raise ValueError("invalid DP-SGD parameters")
                steps = math.ceil(epochs * n / batch_size)
                orders = accounting.DEFAULT_ORDERS
                rdp = steps * accounting.rdp_subsampled_gaussian(noise_multiplier=noise_multiplier,
                                                                  sample_rate=batch_size / n, orders=orders)
                eps, _ = accounting.rdp_to_epsilon(rdp, orders, delta=delta)
                return float(eps)
        '''),
    ],
}
