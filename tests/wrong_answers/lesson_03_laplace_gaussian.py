"""Lesson 03: wrong answers students write, and other right ones.

Several wrong answers here are privacy bugs, not only wrong numbers: a sensitivity read off the data
(too little noise whenever nobody sits at a bound), the other neighbour relation's sensitivity, no
clamping, a noise draw from a generator of the student's own, ε instead of ε/2 in a split budget.
"""
from wrong_answers import Right, Wrong

# ----------------------------------------------------------------------------- shared pieces
_SUM_VALIDATION = '''
    if not lower < upper:
        raise ValueError("lower must be < upper")
    if neighbours not in ("replace", "remove"):
        raise ValueError("bad neighbours")
'''

_MEAN_HEAD = '''
def private_mean(values, *, lower, upper, epsilon, rng=None, neighbours="replace"):
    if not lower < upper:
        raise ValueError("lower must be < upper")
    if neighbours not in ("replace", "remove"):
        raise ValueError("bad neighbours")
    if rng is None:
        rng = np.random.default_rng()
    clamped = np.clip(np.asarray(values, dtype=float), lower, upper)
    n = clamped.size
'''


def _sum(sensitivity: str, *, clamp: str = "np.clip(np.asarray(values, dtype=float), lower, upper)",
         total: str = "float(clamped.sum())", noise: str = "H.laplace_mechanism({total}, sensitivity=sens, "
                                                                "epsilon=epsilon, rng=rng)") -> str:
    """A private_sum whose sensitivity, clamping, total or noise is replaced by a student's version."""
    return (
        "def private_sum(values, *, lower, upper, epsilon, rng=None, neighbours=\"replace\"):\n"
        + _SUM_VALIDATION
        + f"    clamped = {clamp}\n"
        + f"    sens = {sensitivity}\n"
        + f"    return float({noise.format(total=total)})\n"
    )


_RIGHT_SENS = '(upper - lower) if neighbours == "replace" else max(abs(lower), abs(upper))'


def _mean(replace: str, remove: str) -> str:
    """A private_mean with the student's replace-one and remove-one bodies (indented 8 spaces)."""
    return _MEAN_HEAD + '    if neighbours == "replace":\n' + replace + remove


_RIGHT_REPLACE = '''
        return float(H.laplace_mechanism(float(clamped.mean()), sensitivity=(upper - lower) / n, epsilon=epsilon, rng=rng))
'''.lstrip("\n")
_RIGHT_REMOVE = '''
    noisy_sum = H.laplace_mechanism(float(clamped.sum()), sensitivity=max(abs(lower), abs(upper)), epsilon=epsilon / 2, rng=rng)
    noisy_count = H.laplace_mechanism(float(n), sensitivity=1.0, epsilon=epsilon / 2, rng=rng)
    return float(np.clip(noisy_sum / max(noisy_count, 1.0), lower, upper))
'''.lstrip("\n")


def _remove(sum_sens: str = "max(abs(lower), abs(upper))", sum_eps: str = "epsilon / 2",
            count_eps: str = "epsilon / 2", result: str = "np.clip(noisy_sum / max(noisy_count, 1.0), lower, upper)",
            count: str = "H.laplace_mechanism(float(n), sensitivity=1.0, epsilon={count_eps}, rng=rng)") -> str:
    return (
        f"    noisy_sum = H.laplace_mechanism(float(clamped.sum()), sensitivity={sum_sens}, epsilon={sum_eps}, rng=rng)\n"
        f"    noisy_count = {count.format(count_eps=count_eps)}\n"
        f"    return float({result})\n"
    )


def _classic(body: str, *, check_large: str = "epsilon >= 1") -> str:
    return (
        "def gaussian_sigma_classic(*, sensitivity, epsilon, delta):\n"
        "    if not epsilon > 0:\n"
        "        raise ValueError('epsilon must be > 0')\n"
        f"    if {check_large}:\n"
        "        raise ValueError('the classic Gaussian needs epsilon < 1: use the analytic Gaussian')\n"
        "    if not 0 < delta < 1:\n"
        "        raise ValueError('delta must be in (0, 1)')\n"
        "    if not sensitivity >= 0:\n"
        "        raise ValueError('sensitivity must be >= 0')\n"
        f"    return {body}\n"
    )


def _delta(body: str, *, zero: bool = True) -> str:
    return (
        "def gaussian_delta(*, sigma, sensitivity, epsilon):\n"
        "    if not sigma > 0:\n"
        "        raise ValueError('sigma must be > 0')\n"
        "    if not sensitivity >= 0:\n"
        "        raise ValueError('sensitivity must be >= 0')\n"
        "    if not epsilon >= 0:\n"
        "        raise ValueError('epsilon must be >= 0')\n"
        + ("    if sensitivity == 0:\n        return 0.0\n" if zero else "")
        + "    a = sensitivity / (2 * sigma)\n"
        "    c = epsilon * sigma / sensitivity\n"
        f"    return float({body})\n"
    )


def _advanced(eps_total: str, delta_total: str = "k * delta + delta_prime", *,
              k_check: str = "isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1") -> str:
    return (
        "def advanced_composition(*, epsilon, delta, k, delta_prime):\n"
        "    if not epsilon > 0:\n"
        "        raise ValueError('epsilon must be > 0')\n"
        "    if not 0 <= delta < 1:\n"
        "        raise ValueError('delta must be in [0, 1)')\n"
        f"    if {k_check}:\n"
        "        raise ValueError('k must be an integer >= 1')\n"
        "    if not 0 < delta_prime < 1:\n"
        "        raise ValueError('delta_prime must be in (0, 1)')\n"
        f"    return float({eps_total}), float({delta_total})\n"
    )


_ADV = "np.sqrt(2 * k * np.log(1 / delta_prime)) * epsilon + k * epsilon * (np.exp(epsilon) - 1)"
_PHI = "norm.cdf(a - c) - np.exp(epsilon) * norm.cdf(-a - c)"
_CLASSIC = "sensitivity * np.sqrt(2 * np.log(1.25 / delta)) / epsilon"

WRONG = {
    "laplace-scale": [
        Wrong("the inverse formula ε/Δ", visible=True, message="not ε/Δ", source='''
            def laplace_scale(*, sensitivity, epsilon):
                if not epsilon > 0 or not sensitivity >= 0:
                    raise ValueError("bad arguments")
                return epsilon / sensitivity if sensitivity > 0 else 0.0
        '''),
        Wrong("multiplies: Δ·ε", visible=True, message="not Δ·ε", source='''
            def laplace_scale(*, sensitivity, epsilon):
                if not epsilon > 0 or not sensitivity >= 0:
                    raise ValueError("bad arguments")
                return sensitivity * epsilon
        '''),
        Wrong("the noise's standard deviation √2·Δ/ε instead of the scale", visible=True,
              message="not the noise's standard deviation", source='''
            def laplace_scale(*, sensitivity, epsilon):
                if not epsilon > 0 or not sensitivity >= 0:
                    raise ValueError("bad arguments")
                return np.sqrt(2) * sensitivity / epsilon
        '''),
        Wrong("no validation: epsilon = 0 divides by zero", visible=True, message="expected ValueError", source='''
            def laplace_scale(*, sensitivity, epsilon):
                return sensitivity / epsilon
        '''),
        Wrong("checks epsilon < 0 only, so epsilon = 0 divides by zero", visible=True, message="expected ValueError",
              source='''
            def laplace_scale(*, sensitivity, epsilon):
                if epsilon < 0 or sensitivity < 0:
                    raise ValueError("bad arguments")
                return sensitivity / epsilon
        '''),
        Wrong("accepts a negative sensitivity", visible=True, message="expected it to raise", source='''
            def laplace_scale(*, sensitivity, epsilon):
                if not epsilon > 0:
                    raise ValueError("epsilon must be > 0")
                return sensitivity / epsilon
        '''),
        Wrong("delegates to the course's H.laplace_scale", visible=True, message="reference solution", source='''
            def laplace_scale(*, sensitivity, epsilon):
                return H.laplace_scale(sensitivity=sensitivity, epsilon=epsilon)
        '''),
        Wrong("integer division //", source='''
            def laplace_scale(*, sensitivity, epsilon):
                if not epsilon > 0 or not sensitivity >= 0:
                    raise ValueError("bad arguments")
                return float(sensitivity // epsilon)
        '''),
        Wrong("rounds the scale to two decimals", source='''
            def laplace_scale(*, sensitivity, epsilon):
                if not epsilon > 0 or not sensitivity >= 0:
                    raise ValueError("bad arguments")
                return round(sensitivity / epsilon, 2)
        '''),
    ],
    "laplace-mechanism": [
        Wrong("noise from the global np.random instead of rng", visible=True, message="from the rng you are given",
              source='''
            def laplace_mechanism(value, *, sensitivity, epsilon, rng=None):
                b = H.laplace_scale(sensitivity=sensitivity, epsilon=epsilon)
                value = np.asarray(value, dtype=float)
                out = value + np.random.laplace(0.0, b, size=value.shape)
                return float(out) if out.ndim == 0 else out
        '''),
        Wrong("a fresh generator of its own, ignoring rng", visible=True, message="from the rng you are given",
              source='''
            def laplace_mechanism(value, *, sensitivity, epsilon, rng=None):
                b = H.laplace_scale(sensitivity=sensitivity, epsilon=epsilon)
                value = np.asarray(value, dtype=float)
                out = value + np.random.default_rng().laplace(0.0, b, size=value.shape)
                return float(out) if out.ndim == 0 else out
        '''),
        Wrong("one noise draw for the whole array", visible=True, message="one independent draw per entry", source='''
            def laplace_mechanism(value, *, sensitivity, epsilon, rng=None):
                b = H.laplace_scale(sensitivity=sensitivity, epsilon=epsilon)
                if rng is None:
                    rng = np.random.default_rng()
                value = np.asarray(value, dtype=float)
                out = value + rng.laplace(0.0, b)
                return float(out) if out.ndim == 0 else out
        '''),
        Wrong("the inverse scale ε/Δ", visible=True, message="b = Δ/ε", source='''
            def laplace_mechanism(value, *, sensitivity, epsilon, rng=None):
                if not epsilon > 0 or not sensitivity >= 0:
                    raise ValueError("bad arguments")
                if rng is None:
                    rng = np.random.default_rng()
                value = np.asarray(value, dtype=float)
                out = value + rng.laplace(0.0, epsilon / sensitivity, size=value.shape)
                return float(out) if out.ndim == 0 else out
        '''),
        Wrong("b taken as the standard deviation: Laplace scale b/√2", visible=True, message="not the standard deviation",
              source='''
            def laplace_mechanism(value, *, sensitivity, epsilon, rng=None):
                b = H.laplace_scale(sensitivity=sensitivity, epsilon=epsilon)
                if rng is None:
                    rng = np.random.default_rng()
                value = np.asarray(value, dtype=float)
                out = value + rng.laplace(0.0, b / np.sqrt(2), size=value.shape)
                return float(out) if out.ndim == 0 else out
        '''),
        Wrong("b taken as the variance: Laplace scale √(b/2)", visible=True, message="b = Δ/ε", source='''
            def laplace_mechanism(value, *, sensitivity, epsilon, rng=None):
                b = H.laplace_scale(sensitivity=sensitivity, epsilon=epsilon)
                if rng is None:
                    rng = np.random.default_rng()
                value = np.asarray(value, dtype=float)
                out = value + rng.laplace(0.0, np.sqrt(b / 2), size=value.shape)
                return float(out) if out.ndim == 0 else out
        '''),
        Wrong("Gaussian noise of standard deviation b", visible=True, message="rng.laplace", source='''
            def laplace_mechanism(value, *, sensitivity, epsilon, rng=None):
                b = H.laplace_scale(sensitivity=sensitivity, epsilon=epsilon)
                if rng is None:
                    rng = np.random.default_rng()
                value = np.asarray(value, dtype=float)
                out = value + rng.normal(0.0, b, size=value.shape)
                return float(out) if out.ndim == 0 else out
        '''),
        Wrong("rng=None gives a fixed-seed generator: predictable noise", visible=True, message="rng=None", source='''
            def laplace_mechanism(value, *, sensitivity, epsilon, rng=None):
                b = H.laplace_scale(sensitivity=sensitivity, epsilon=epsilon)
                if rng is None:
                    rng = np.random.default_rng(0)
                value = np.asarray(value, dtype=float)
                out = value + rng.laplace(0.0, b, size=value.shape)
                return float(out) if out.ndim == 0 else out
        '''),
        Wrong("rng=None not handled (AttributeError)", visible=True, message="rng is None", source='''
            def laplace_mechanism(value, *, sensitivity, epsilon, rng=None):
                b = H.laplace_scale(sensitivity=sensitivity, epsilon=epsilon)
                value = np.asarray(value, dtype=float)
                out = value + rng.laplace(0.0, b, size=value.shape)
                return float(out) if out.ndim == 0 else out
        '''),
        Wrong("returns a list for an array", visible=True, message="numpy array", source='''
            def laplace_mechanism(value, *, sensitivity, epsilon, rng=None):
                b = H.laplace_scale(sensitivity=sensitivity, epsilon=epsilon)
                if rng is None:
                    rng = np.random.default_rng()
                value = np.asarray(value, dtype=float)
                out = value + rng.laplace(0.0, b, size=value.shape)
                return float(out) if out.ndim == 0 else out.tolist()
        '''),
        Wrong("no validation: epsilon = 0 divides by zero", visible=True, message="expected ValueError", source='''
            def laplace_mechanism(value, *, sensitivity, epsilon, rng=None):
                b = sensitivity / epsilon
                if rng is None:
                    rng = np.random.default_rng()
                value = np.asarray(value, dtype=float)
                out = value + rng.laplace(0.0, b, size=value.shape)
                return float(out) if out.ndim == 0 else out
        '''),
        Wrong("delegates to the course's H.laplace_mechanism", visible=True, message="reference solution", source='''
            def laplace_mechanism(value, *, sensitivity, epsilon, rng=None):
                return H.laplace_mechanism(value, sensitivity=sensitivity, epsilon=epsilon, rng=rng)
        '''),
        Wrong("subtracts a draw with the wrong shape: noise only on the first entry", source='''
            def laplace_mechanism(value, *, sensitivity, epsilon, rng=None):
                b = H.laplace_scale(sensitivity=sensitivity, epsilon=epsilon)
                if rng is None:
                    rng = np.random.default_rng()
                value = np.array(value, dtype=float)
                if value.ndim == 0:
                    return float(value + rng.laplace(0.0, b))
                value.flat[0] += rng.laplace(0.0, b)
                return value
        '''),
    ],
    "private-sum": [
        Wrong("a sensitivity read off the data: max - min / largest |x| of the clamped values", visible=True,
              message="never from the data", source=_sum(
                  '(clamped.max() - clamped.min()) if neighbours == "replace" else np.abs(clamped).max()')),
        Wrong("the largest |value| in the data for both relations", visible=True, message="never from the data",
              source=_sum("np.abs(clamped).max()")),
        Wrong("the relations swapped: max(|L|,|U|) for replace, U - L for remove", visible=True,
              message="max(|lower|, |upper|)",
              source=_sum('max(abs(lower), abs(upper)) if neighbours == "replace" else upper - lower')),
        Wrong("U - L for remove-one too (ignores neighbours)", visible=True, message="max(|lower|, |upper|)",
              source=_sum("upper - lower")),
        Wrong("max(|L|, |U|) for replace-one too", visible=True, message="upper - lower",
              source=_sum("max(abs(lower), abs(upper))")),
        Wrong("max(lower, upper) for remove-one: forgets the absolute value", visible=True, message="Clamp each value",
              source=_sum('upper - lower if neighbours == "replace" else max(lower, upper)')),
        Wrong("no clamping", visible=True, message="Clamp each value", source=_sum(
            _RIGHT_SENS, clamp="np.asarray(values, dtype=float)")),
        Wrong("clamps the sum instead of each value", visible=True, message="Clamp each value", source=_sum(
            _RIGHT_SENS, clamp="np.asarray(values, dtype=float)",
            total="float(np.clip(clamped.sum(), lower, upper))")),
        Wrong("clamps the sum into [n·lower, n·upper]", visible=True, message="Clamp each value", source=_sum(
            _RIGHT_SENS, clamp="np.asarray(values, dtype=float)",
            total="float(np.clip(clamped.sum(), clamped.size * lower, clamped.size * upper))")),
        Wrong("noise from the global np.random", visible=True, message="rng you are given", source=_sum(
            _RIGHT_SENS, noise="{total} + np.random.laplace(0.0, sens / epsilon)")),
        Wrong("a fresh generator of its own, ignoring rng", visible=True, message="rng you are given", source=_sum(
            _RIGHT_SENS, noise="{total} + np.random.default_rng().laplace(0.0, sens / epsilon)")),
        Wrong("one noise draw per value instead of one for the sum", visible=True, message="ONE Laplace draw",
              source=_sum(_RIGHT_SENS, total="clamped",
                          noise="np.sum(H.laplace_mechanism({total}, sensitivity=sens, epsilon=epsilon, rng=rng))")),
        Wrong("the scale ε/Δ (arguments swapped)", source=_sum(
            _RIGHT_SENS, noise="H.laplace_mechanism({total}, sensitivity=epsilon, epsilon=sens, rng=rng)")),
        Wrong("unknown neighbours silently treated as remove-one", visible=True, message="expected it to raise",
              source='''
            def private_sum(values, *, lower, upper, epsilon, rng=None, neighbours="replace"):
                if not lower < upper:
                    raise ValueError("lower must be < upper")
                sens = upper - lower if neighbours == "replace" else max(abs(lower), abs(upper))
                clamped = np.clip(np.asarray(values, dtype=float), lower, upper)
                return float(H.laplace_mechanism(float(clamped.sum()), sensitivity=sens, epsilon=epsilon, rng=rng))
        '''),
        Wrong("accepts lower == upper", visible=True, message="expected it to raise", source='''
            def private_sum(values, *, lower, upper, epsilon, rng=None, neighbours="replace"):
                if lower > upper:
                    raise ValueError("lower must be <= upper")
                if neighbours not in ("replace", "remove"):
                    raise ValueError("bad neighbours")
                sens = upper - lower if neighbours == "replace" else max(abs(lower), abs(upper))
                clamped = np.clip(np.asarray(values, dtype=float), lower, upper)
                return float(H.laplace_mechanism(float(clamped.sum()), sensitivity=sens, epsilon=epsilon, rng=rng))
        '''),
        Wrong("delegates to the course's H.private_sum", visible=True, message="reference solution", source='''
            def private_sum(values, *, lower, upper, epsilon, rng=None, neighbours="replace"):
                return H.private_sum(values, lower=lower, upper=upper, epsilon=epsilon, rng=rng, neighbours=neighbours)
        '''),
        Wrong("the sensitivity from lesson 01's H.sum_sensitivity", visible=True, message="course function", source='''
            def private_sum(values, *, lower, upper, epsilon, rng=None, neighbours="replace"):
                if not lower < upper:
                    raise ValueError("lower must be < upper")
                if neighbours not in ("replace", "remove"):
                    raise ValueError("bad neighbours")
                sens = H.sum_sensitivity(lower=lower, upper=upper, neighbours=neighbours)
                clamped = np.clip(np.asarray(values, dtype=float), lower, upper)
                return float(H.laplace_mechanism(float(clamped.sum()), sensitivity=sens, epsilon=epsilon, rng=rng))
        '''),
    ],
    "private-mean": [
        Wrong("replace-one: sensitivity 1 for the mean", visible=True, message="not 1",
              source=_mean(_RIGHT_REPLACE.replace("(upper - lower) / n", "1.0"), _RIGHT_REMOVE)),
        Wrong("replace-one: (U - L)/(n - 1)", visible=True, message="(n - 1)",
              source=_mean(_RIGHT_REPLACE.replace("(upper - lower) / n", "(upper - lower) / max(n - 1, 1)"),
                           _RIGHT_REMOVE)),
        Wrong("replace-one: the data's own range / n", visible=True, message="not the data's own range",
              source=_mean(_RIGHT_REPLACE.replace("(upper - lower) / n", "(clamped.max() - clamped.min()) / n"),
                           _RIGHT_REMOVE)),
        Wrong("remove-one: the data's largest |value| as the sum's sensitivity", visible=True,
              message="not the data's largest |value|",
              source=_mean(_RIGHT_REPLACE, _remove(sum_sens="np.abs(clamped).max()"))),
        Wrong("remove-one: U - L as the sum's sensitivity", visible=True, message="max(|lower|, |upper|)",
              source=_mean(_RIGHT_REPLACE, _remove(sum_sens="upper - lower"))),
        Wrong("remove-one: ε instead of ε/2 for both draws", visible=True, message="epsilon/2",
              source=_mean(_RIGHT_REPLACE, _remove(sum_eps="epsilon", count_eps="epsilon"))),
        Wrong("remove-one: ε/2 for the sum but ε for the count (1.5ε in total)", visible=True, message="epsilon/2",
              source=_mean(_RIGHT_REPLACE, _remove(count_eps="epsilon"))),
        Wrong("remove-one: divides by the true n (no noisy count)", visible=True, message="each of the two draws",
              source=_mean(_RIGHT_REPLACE, _remove(result="np.clip(noisy_sum / n, lower, upper)"))),
        Wrong("remove-one: divides by the realised noisy count without the floor at 1", visible=True,
              message="max(noisy count, 1)",
              source=_mean(_RIGHT_REPLACE, _remove(result="np.clip(noisy_sum / noisy_count, lower, upper)"))),
        Wrong("remove-one: no clip of the ratio into [lower, upper]", source=_mean(
            _RIGHT_REPLACE, _remove(result="noisy_sum / max(noisy_count, 1.0)"))),
        Wrong("remove-one: one Laplace draw with (U - L)/n, the replace-one formula", visible=True,
              message="each of the two draws", source=_mean(
                  _RIGHT_REPLACE,
                  "    return float(H.laplace_mechanism(float(clamped.mean()), sensitivity=(upper - lower) / n, "
                  "epsilon=epsilon, rng=rng))\n")),
        Wrong("remove-one: the count drawn from the global np.random", visible=True, message="rng you are given",
              source=_mean(_RIGHT_REPLACE, _remove(count="float(n) + np.random.laplace(0.0, 1.0 / ({count_eps}))"))),
        Wrong("no clamping", visible=True, message="Clamp first", source=_mean(_RIGHT_REPLACE, _RIGHT_REMOVE).replace(
            "np.clip(np.asarray(values, dtype=float), lower, upper)", "np.asarray(values, dtype=float)")),
        Wrong("replace-one sensitivity from lesson 01's H.mean_sensitivity", visible=True, message="course function",
              source=_mean(_RIGHT_REPLACE.replace(
                  "(upper - lower) / n", "H.mean_sensitivity(n=n, lower=lower, upper=upper, neighbours='replace')"),
                  _RIGHT_REMOVE)),
        Wrong("delegates to the course's H.private_mean", visible=True, message="reference solution", source='''
            def private_mean(values, *, lower, upper, epsilon, rng=None, neighbours="replace"):
                return H.private_mean(values, lower=lower, upper=upper, epsilon=epsilon, rng=rng, neighbours=neighbours)
        '''),
        Wrong("accepts an unknown neighbours value", visible=True, message="expected it to raise",
              source=_mean(_RIGHT_REPLACE, _RIGHT_REMOVE).replace(
                  '    if neighbours not in ("replace", "remove"):\n        raise ValueError("bad neighbours")\n', "")),
    ],
    "gaussian-sigma-classic": [
        Wrong("log10 instead of the natural log", visible=True, message="np.log10",
              source=_classic("sensitivity * np.sqrt(2 * np.log10(1.25 / delta)) / epsilon")),
        Wrong("forgets the factor 2 under the square root", visible=True, message="the factor 2",
              source=_classic("sensitivity * np.sqrt(np.log(1.25 / delta)) / epsilon")),
        Wrong("ln(1/δ) instead of ln(1.25/δ)", visible=True, message="1.25/δ",
              source=_classic("sensitivity * np.sqrt(2 * np.log(1 / delta)) / epsilon")),
        Wrong("returns the variance σ²", visible=True, message="not σ²",
              source=_classic("(sensitivity * np.sqrt(2 * np.log(1.25 / delta)) / epsilon) ** 2")),
        Wrong("multiplies by ε instead of dividing", visible=True, message="σ = Δ·sqrt",
              source=_classic("sensitivity * np.sqrt(2 * np.log(1.25 / delta)) * epsilon")),
        Wrong("accepts ε >= 1 (no refusal)", visible=True, message="only proved for ε < 1",
              source=_classic(_CLASSIC, check_large="False")),
        Wrong("refuses ε > 1 but accepts ε = 1", visible=True, message="ε = 1 included",
              source=_classic(_CLASSIC, check_large="epsilon > 1")),
        Wrong("no check on δ: δ = 0 divides by zero", visible=True, message="ValueError", source='''
            import math

            def gaussian_sigma_classic(*, sensitivity, epsilon, delta):
                if not 0 < epsilon < 1:
                    raise ValueError("epsilon must be in (0, 1); use the analytic Gaussian for larger epsilon")
                if sensitivity < 0:
                    raise ValueError("sensitivity must be >= 0")
                return sensitivity * math.sqrt(2 * math.log(1.25 / delta)) / epsilon
        '''),
        Wrong("delegates to the course's analytic σ (a different formula)", visible=True, message="course function",
              source=_classic("H.gaussian_sigma_analytic(sensitivity=sensitivity, epsilon=epsilon, delta=delta)")),
    ],
    "gaussian-delta": [
        Wrong("sign error: +εσ/Δ in both arguments", visible=True, message="both arguments subtract",
              source=_delta("norm.cdf(a + c) - np.exp(epsilon) * norm.cdf(-a + c)")),
        Wrong("sign error: the second argument adds Δ/(2σ)", visible=True, message="the second subtracts it",
              source=_delta("norm.cdf(a - c) - np.exp(epsilon) * norm.cdf(a - c)")),
        Wrong("forgets the factor e^ε", visible=True, message="multiplied by e^ε",
              source=_delta("norm.cdf(a - c) - norm.cdf(-a - c)")),
        Wrong("adds the second term", visible=True, message="subtracted",
              source=_delta("norm.cdf(a - c) + np.exp(epsilon) * norm.cdf(-a - c)")),
        Wrong("the density norm.pdf instead of the CDF", visible=True, message="not the density",
              source=_delta("norm.pdf(a - c) - np.exp(epsilon) * norm.pdf(-a - c)")),
        Wrong("σ/Δ and Δ/σ swapped", visible=True, message="both arguments subtract εσ/Δ", source='''
            def gaussian_delta(*, sigma, sensitivity, epsilon):
                if not sigma > 0 or not sensitivity >= 0 or not epsilon >= 0:
                    raise ValueError("bad arguments")
                if sensitivity == 0:
                    return 0.0
                a = sigma / (2 * sensitivity)
                c = epsilon * sensitivity / sigma
                return float(norm.cdf(a - c) - np.exp(epsilon) * norm.cdf(-a - c))
        '''),
        Wrong("divides by zero for sensitivity 0", visible=True, message="sensitivity 0 return 0.0",
              source=_delta(_PHI, zero=False)),
        Wrong("no check on epsilon", visible=True, message="expected it to raise", source='''
            def gaussian_delta(*, sigma, sensitivity, epsilon):
                if not sigma > 0 or not sensitivity >= 0:
                    raise ValueError("bad arguments")
                if sensitivity == 0:
                    return 0.0
                a = sensitivity / (2 * sigma)
                c = epsilon * sigma / sensitivity
                return float(norm.cdf(a - c) - np.exp(epsilon) * norm.cdf(-a - c))
        '''),
        Wrong("delegates to the course's H.gaussian_delta", visible=True, message="reference solution", source='''
            def gaussian_delta(*, sigma, sensitivity, epsilon):
                return H.gaussian_delta(sigma=sigma, sensitivity=sensitivity, epsilon=epsilon)
        '''),
    ],
    "advanced-composition": [
        Wrong("k·ε instead of √k·ε in the first term", visible=True, message="(not k)",
              source=_advanced("np.sqrt(2 * np.log(1 / delta_prime)) * k * epsilon + k * epsilon * (np.exp(epsilon) - 1)")),
        Wrong("forgets k·δ: δ_total = δ'", visible=True, message="each run's δ counts k times",
              source=_advanced(_ADV, "delta_prime")),
        Wrong("δ_total = δ + δ' (one run's δ only)", visible=True, message="each run's δ counts k times",
              source=_advanced(_ADV, "delta + delta_prime")),
        Wrong("log10 instead of the natural log", visible=True, message="natural log",
              source=_advanced(_ADV.replace("np.log(", "np.log10("))),
        Wrong("ln(1/δ) of the mechanism instead of ln(1/δ')", visible=True, message="not of 1/δ",
              source=_advanced("np.sqrt(2 * k * np.log(1 / max(delta, 1e-300))) * epsilon "
                               "+ k * epsilon * (np.exp(epsilon) - 1)")),
        Wrong("forgets the second term k·ε·(e^ε − 1)", visible=True, message="e^ε − 1",
              source=_advanced("np.sqrt(2 * k * np.log(1 / delta_prime)) * epsilon")),
        Wrong("e^ε instead of e^ε − 1", visible=True, message="e^ε − 1",
              source=_advanced("np.sqrt(2 * k * np.log(1 / delta_prime)) * epsilon + k * epsilon * np.exp(epsilon)")),
        Wrong("returns sequential composition (k·ε, k·δ)", visible=True, message="√k",
              source=_advanced("k * epsilon", "k * delta")),
        Wrong("accepts a fractional k", source=_advanced(_ADV, k_check="k < 1")),
        Wrong("no check on delta_prime: δ' = 0 gives infinity", visible=True, message="expected it to raise", source='''
            def advanced_composition(*, epsilon, delta, k, delta_prime):
                if not epsilon > 0 or not 0 <= delta < 1:
                    raise ValueError("bad epsilon or delta")
                if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
                    raise ValueError("k must be an integer >= 1")
                with np.errstate(divide="ignore"):
                    eps = np.sqrt(2 * k * np.log(1 / np.float64(delta_prime))) * epsilon + k * epsilon * np.expm1(epsilon)
                return float(eps), float(k * delta + delta_prime)
        '''),
        Wrong("delegates to the course's H.advanced_composition", visible=True, message="reference solution", source='''
            def advanced_composition(*, epsilon, delta, k, delta_prime):
                return H.advanced_composition(epsilon=epsilon, delta=delta, k=k, delta_prime=delta_prime)
        '''),
    ],
}

RIGHT = {
    "laplace-scale": [
        Right("validates with a different order and message", '''
            def laplace_scale(*, sensitivity, epsilon):
                if sensitivity < 0:
                    raise ValueError(f"a sensitivity is never negative, got {sensitivity}")
                if epsilon <= 0:
                    raise ValueError(f"epsilon must be positive, got {epsilon}")
                return float(sensitivity) / float(epsilon)
        '''),
    ],
    "laplace-mechanism": [
        Right("its own laplace_scale, np.shape and np.add", '''
            def laplace_mechanism(value, *, sensitivity, epsilon, rng=None):
                b = laplace_scale(sensitivity=sensitivity, epsilon=epsilon)
                rng = np.random.default_rng() if rng is None else rng
                noise = rng.laplace(0.0, b, size=np.shape(value))
                if np.ndim(value) == 0:
                    return float(value) + float(noise)
                return np.add(np.asarray(value, dtype=float), noise)
        '''),
    ],
    "private-sum": [
        Right("calls its own laplace_mechanism (Exercise 2)", '''
            def private_sum(values, *, lower, upper, epsilon, rng=None, neighbours="replace"):
                if neighbours not in ("replace", "remove"):
                    raise ValueError(f"unknown neighbours {neighbours!r}")
                if lower >= upper:
                    raise ValueError("need lower < upper")
                sens = upper - lower if neighbours == "replace" else max(-lower, upper, lower, -upper)
                total = sum(min(max(float(v), lower), upper) for v in values)
                return float(laplace_mechanism(total, sensitivity=sens, epsilon=epsilon, rng=rng))
        '''),
        Right("draws rng.laplace itself", '''
            def private_sum(values, *, lower, upper, epsilon, rng=None, neighbours="replace"):
                if not lower < upper or neighbours not in ("replace", "remove"):
                    raise ValueError("bad bounds or neighbours")
                if not epsilon > 0:
                    raise ValueError("epsilon must be > 0")
                rng = np.random.default_rng() if rng is None else rng
                sens = upper - lower if neighbours == "replace" else max(abs(lower), abs(upper))
                return float(np.clip(values, lower, upper).sum() + rng.laplace(0.0, sens / epsilon))
        '''),
    ],
    "private-mean": [
        Right("the noisy sum from the course's H.private_sum (Exercise 3)", '''
            def private_mean(values, *, lower, upper, epsilon, rng=None, neighbours="replace"):
                if not lower < upper:
                    raise ValueError("lower must be < upper")
                if neighbours not in ("replace", "remove"):
                    raise ValueError("bad neighbours")
                rng = np.random.default_rng() if rng is None else rng
                n = len(values)
                if neighbours == "replace":
                    mean = float(np.mean(np.clip(values, lower, upper)))
                    return float(laplace_mechanism(mean, sensitivity=(upper - lower) / n, epsilon=epsilon, rng=rng))
                noisy_sum = H.private_sum(values, lower=lower, upper=upper, epsilon=epsilon / 2, rng=rng,
                                          neighbours="remove")
                noisy_count = H.laplace_mechanism(float(n), sensitivity=1, epsilon=epsilon / 2, rng=rng)
                return float(min(max(noisy_sum / max(noisy_count, 1.0), lower), upper))
        '''),
    ],
    "gaussian-sigma-classic": [
        Right("math instead of numpy", '''
            import math

            def gaussian_sigma_classic(*, sensitivity, epsilon, delta):
                if epsilon <= 0 or delta <= 0 or delta >= 1 or sensitivity < 0:
                    raise ValueError("bad arguments")
                if epsilon >= 1:
                    raise ValueError("epsilon >= 1: use gaussian_sigma_analytic")
                return sensitivity * math.sqrt(2 * math.log(1.25 / delta)) / epsilon
        '''),
    ],
    "gaussian-delta": [
        Right("Φ written with math.erfc", '''
            import math

            def gaussian_delta(*, sigma, sensitivity, epsilon):
                if sigma <= 0 or sensitivity < 0 or epsilon < 0:
                    raise ValueError("bad arguments")
                if sensitivity == 0:
                    return 0.0
                phi = lambda x: 0.5 * math.erfc(-x / math.sqrt(2))
                r, s = sensitivity / (2 * sigma), epsilon * sigma / sensitivity
                return phi(r - s) - math.exp(epsilon) * phi(-r - s)
        '''),
    ],
    "advanced-composition": [
        Right("math.expm1 and math.log", '''
            import math

            def advanced_composition(*, epsilon, delta, k, delta_prime):
                if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
                    raise ValueError("k must be a positive integer")
                if not (epsilon > 0 and 0 <= delta < 1 and 0 < delta_prime < 1):
                    raise ValueError("bad epsilon, delta or delta_prime")
                eps = math.sqrt(2 * k * math.log(1 / delta_prime)) * epsilon + k * epsilon * math.expm1(epsilon)
                return (eps, k * delta + delta_prime)
        '''),
    ],
}
