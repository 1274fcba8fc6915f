"""Lesson 08: wrong answers students write, and other right ones.

The privacy bugs here are the owner's: approving a job that declares no ε (or ε = inf, or bounds with
lower == upper: sensitivity 0, no noise), charging a refused job or charging all scientists one total,
a negative ε that refunds budget, a sensitivity read off the data or a count of the rows that survive
a filter, noise from a generator the scientist could reproduce, and a leak detector that compares strings.
"""
from wrong_answers import Right, Wrong

# ----------------------------------------------------------------------------- make_mock
_MOCK_VALIDATION = '''
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError("n must be an integer >= 1")
    for column, (lo, hi) in schema.items():
        if not lo < hi:
            raise ValueError("need lo < hi")
'''


def _mock(body: str, validation: str = _MOCK_VALIDATION) -> str:
    return "def make_mock(schema, *, n, rng=None):\n" + validation + body


# ----------------------------------------------------------------------------- review
_REVIEW_HEAD = '''
def review(declaration, *, columns):
    import math
    def number(x):
        return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) and math.isfinite(x)
    reasons = []
'''
_KEYS = '''
    if set(declaration) != {"query", "column", "lower", "upper", "epsilon", "delta"}:
        reasons.append("wrong keys")
'''
_QUERY = '''
    if declaration.get("query") not in ("sum", "mean"):
        reasons.append("bad query")
    if declaration.get("column") not in columns:
        reasons.append("bad column")
'''
_EPS = '''
    eps = declaration.get("epsilon")
    if not (number(eps) and eps > 0):
        reasons.append("bad epsilon")
'''
_DELTA = '''
    delta = declaration.get("delta")
    if not (number(delta) and 0 <= delta < 1):
        reasons.append("bad delta")
'''
_BOUNDS = '''
    lower, upper = declaration.get("lower"), declaration.get("upper")
    if not (number(lower) and number(upper) and lower < upper):
        reasons.append("bad bounds")
'''


def _review(keys: str = _KEYS, query: str = _QUERY, eps: str = _EPS, delta: str = _DELTA, bounds: str = _BOUNDS) -> str:
    return _REVIEW_HEAD.strip("\n") + "\n" + "".join(p.strip("\n") + "\n" for p in (keys, query, eps, delta, bounds)
                                                      if p) + "    return reasons\n"


# ----------------------------------------------------------------------------- charge
_CHARGE_VALIDATION = '''
    import math
    if not (isinstance(epsilon, (int, float)) and math.isfinite(epsilon) and epsilon > 0):
        raise ValueError("epsilon must be a finite number > 0")
    if not (isinstance(delta, (int, float)) and 0 <= delta < 1):
        raise ValueError("delta must be in [0, 1)")
'''


def _charge(body: str, validation: str = _CHARGE_VALIDATION) -> str:
    return ("def charge(ledger, scientist, *, epsilon, delta, epsilon_budget, delta_budget):\n"
            + validation.strip("\n") + "\n" + body.strip("\n") + "\n")


_SPENT = '''
    spent = ledger.get(scientist, [])
    eps_spent = sum(e for e, _ in spent)
    delta_spent = sum(d for _, d in spent)
'''

# ----------------------------------------------------------------------------- run_query
_QUERY_HEAD = '''
def run_query(table, declaration, *, rng=None):
    lower, upper = float(declaration["lower"]), float(declaration["upper"])
    epsilon, delta = declaration["epsilon"], declaration["delta"]
'''
_CLIP = '''
    values = np.clip(np.asarray(table[declaration["column"]], dtype=float), lower, upper)
'''
_SENS = '''
    if declaration["query"] == "sum":
        exact, sensitivity = float(values.sum()), upper - lower
    else:
        exact, sensitivity = float(values.mean()), (upper - lower) / len(values)
'''
_NOISE = '''
    if delta == 0:
        return float(H.laplace_mechanism(exact, sensitivity=sensitivity, epsilon=epsilon, rng=rng))
    return float(H.gaussian_mechanism(exact, sensitivity=sensitivity, epsilon=epsilon, delta=delta, rng=rng))
'''


def _query(clip: str = _CLIP, sens: str = _SENS, noise: str = _NOISE) -> str:
    return "".join(p.strip("\n") + "\n" for p in (_QUERY_HEAD, clip, sens, noise))


# ----------------------------------------------------------------------------- find_leaks
_RIGHT_RE = r'r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?"'


def _leaks(pattern: str) -> str:
    return f'''
def find_leaks(text, private_values):
    import re
    numbers = {{float(m) for m in re.findall({pattern}, text)}}
    return sorted({{float(v) for v in np.asarray(private_values, dtype=float).ravel() if float(v) in numbers}})
'''


WRONG = {
    "make-mock": [
        Wrong("global np.random instead of the rng given", visible=True, message="from the rng you are given",
              source=_mock('''
    return {column: np.random.uniform(lo, hi, size=n) for column, (lo, hi) in schema.items()}
''')),
        Wrong("a fixed-seed generator of their own, ignoring rng", visible=True, message="from the rng you are given",
              source=_mock('''
    rng = np.random.default_rng(0)
    return {column: rng.uniform(lo, hi, size=n) for column, (lo, hi) in schema.items()}
''')),
        Wrong("a normal distribution centred in the bounds", visible=True, message="rng.uniform(lo, hi, size=n)",
              source=_mock('''
    if rng is None:
        rng = np.random.default_rng()
    return {c: np.clip(rng.normal((lo + hi) / 2, (hi - lo) / 6, size=n), lo, hi) for c, (lo, hi) in schema.items()}
''')),
        Wrong("whole numbers (rounded draws)", visible=True, message="floats, not integers", source=_mock('''
    if rng is None:
        rng = np.random.default_rng()
    return {column: np.round(rng.uniform(lo, hi, size=n)) for column, (lo, hi) in schema.items()}
''')),
        Wrong("one (n, k) draw for all columns: another order of draws than the text asks", visible=True,
              message="in the schema's order", source=_mock('''
    if rng is None:
        rng = np.random.default_rng()
    lows = np.array([lo for lo, _ in schema.values()])
    highs = np.array([hi for _, hi in schema.values()])
    draws = rng.uniform(lows, highs, size=(n, len(schema)))
    return {column: draws[:, i] for i, column in enumerate(schema)}
''')),
        Wrong("lists instead of numpy arrays", visible=True, message="numpy array", source=_mock('''
    if rng is None:
        rng = np.random.default_rng()
    return {column: list(rng.uniform(lo, hi, size=n)) for column, (lo, hi) in schema.items()}
''')),
        Wrong("no validation: reversed or equal bounds give a mock anyway", visible=True, message="expected it to raise",
              source=_mock('''
    if rng is None:
        rng = np.random.default_rng()
    return {column: rng.uniform(lo, hi, size=n) for column, (lo, hi) in schema.items()}
''', validation="")),
        Wrong("rng=None gives a fixed seed 'for reproducibility'", source=_mock('''
    if rng is None:
        rng = np.random.default_rng(42)
    return {column: rng.uniform(lo, hi, size=n) for column, (lo, hi) in schema.items()}
''')),
        Wrong("delegates to helpers.remote.make_mock", visible=True, message="reference solution", source='''
def make_mock(schema, *, n, rng=None):
    return R.make_mock(schema, n=n, rng=rng)
'''),
    ],
    "review-rule": [
        Wrong("a missing epsilon defaults to 1.0 and is approved", visible=True, message="must not run",
              source=_review(keys='''
    if not {"query", "column", "lower", "upper", "delta"} <= set(declaration) or len(declaration) > 6:
        reasons.append("wrong keys")
''', eps='''
    eps = declaration.get("epsilon", 1.0)
    if not (number(eps) and eps > 0):
        reasons.append("bad epsilon")
''')),
        Wrong("epsilon >= 0: epsilon = 0 approved", visible=True, message="epsilon must be > 0", source=_review(eps='''
    eps = declaration.get("epsilon")
    if not (number(eps) and eps >= 0):
        reasons.append("bad epsilon")
''')),
        Wrong("no finiteness check: epsilon = inf approved", visible=True, message="no privacy at all",
              source=_review(eps='''
    eps = declaration.get("epsilon")
    if not (isinstance(eps, (int, float)) and eps > 0):
        reasons.append("bad epsilon")
''')),
        Wrong("required keys checked, extra keys ignored", visible=True, message="an extra key", source=_review(keys='''
    if not {"query", "column", "lower", "upper", "epsilon", "delta"} <= set(declaration):
        reasons.append("missing keys")
''')),
        Wrong("lower <= upper: lower == upper (sensitivity 0, no noise) approved", visible=True,
              message="sensitivity 0", source=_review(bounds='''
    lower, upper = declaration.get("lower"), declaration.get("upper")
    if not (number(lower) and number(upper) and lower <= upper):
        reasons.append("bad bounds")
''')),
        Wrong("delta not checked", visible=True, message="delta must be < 1", source=_review(delta="")),
        Wrong("column not checked", visible=True, message="a column the table does not have", source=_review(query='''
    if declaration.get("query") not in ("sum", "mean"):
        reasons.append("bad query")
''')),
        Wrong("returns True/False instead of a list of reasons", visible=True, message="expected []", source='''
def review(declaration, *, columns):
    import math
    keys = {"query", "column", "lower", "upper", "epsilon", "delta"}
    if set(declaration) != keys or declaration["query"] not in ("sum", "mean") or declaration["column"] not in columns:
        return False
    eps, delta = declaration["epsilon"], declaration["delta"]
    ok = isinstance(eps, (int, float)) and math.isfinite(eps) and eps > 0 and 0 <= delta < 1
    return bool(ok and declaration["lower"] < declaration["upper"])
'''),
        Wrong("epsilon <= 0 refused, but NaN slips through (nan <= 0 is False)", source=_review(eps='''
    eps = declaration.get("epsilon")
    if eps is None or isinstance(eps, (str, bool)) or eps <= 0 or eps == float("inf"):
        reasons.append("bad epsilon")
''')),
        Wrong("raises KeyError on a missing key instead of returning a reason", source='''
def review(declaration, *, columns):
    import math
    reasons = []
    if len(declaration) != 6:
        reasons.append("wrong keys")
    if declaration["query"] not in ("sum", "mean") or declaration["column"] not in columns:
        reasons.append("bad query")
    eps, delta = declaration["epsilon"], declaration["delta"]
    if not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps > 0):
        reasons.append("bad epsilon")
    if not (isinstance(delta, (int, float)) and 0 <= delta < 1):
        reasons.append("bad delta")
    if not declaration["lower"] < declaration["upper"]:
        reasons.append("bad bounds")
    return reasons
'''),
        Wrong("delegates to helpers.remote.review", visible=True, message="reference solution", source='''
def review(declaration, *, columns):
    return R.review(declaration, columns=columns)
'''),
    ],
    "budget-check": [
        Wrong("strict <: a budget that fits exactly is refused", visible=True, message="exactly is allowed",
              source=_charge(_SPENT + '''
    if eps_spent + epsilon < epsilon_budget and delta_spent + delta < delta_budget:
        ledger.setdefault(scientist, []).append((epsilon, delta))
        return True
    return False
''')),
        Wrong("spends before checking: a refused query is still charged", visible=True, message="must spend nothing",
              source=_charge('''
    ledger.setdefault(scientist, []).append((epsilon, delta))
    eps_spent = sum(e for e, _ in ledger[scientist])
    delta_spent = sum(d for _, d in ledger[scientist])
    return eps_spent <= epsilon_budget and delta_spent <= delta_budget
''')),
        Wrong("delta ignored", visible=True, message="over the delta budget", source=_charge(_SPENT + '''
    if eps_spent + epsilon <= epsilon_budget:
        ledger.setdefault(scientist, []).append((epsilon, delta))
        return True
    return False
''')),
        Wrong("one total for all scientists", visible=True, message="each scientist has their own budget",
              source=_charge('''
    eps_spent = sum(e for entries in ledger.values() for e, _ in entries)
    delta_spent = sum(d for entries in ledger.values() for _, d in entries)
    if eps_spent + epsilon <= epsilon_budget and delta_spent + delta <= delta_budget:
        ledger.setdefault(scientist, []).append((epsilon, delta))
        return True
    return False
''')),
        Wrong("compares the request with the budget, forgetting what was spent", visible=True,
              message="over the epsilon budget", source=_charge('''
    if epsilon <= epsilon_budget and delta <= delta_budget:
        ledger.setdefault(scientist, []).append((epsilon, delta))
        return True
    return False
''')),
        Wrong("max instead of sum (parallel composition for queries on the same people)", visible=True,
              message="over the epsilon budget", source=_charge('''
    spent = ledger.get(scientist, [])
    eps_spent = max([e for e, _ in spent], default=0.0)
    delta_spent = max([d for _, d in spent], default=0.0)
    if eps_spent + epsilon <= epsilon_budget and delta_spent + delta <= delta_budget:
        ledger.setdefault(scientist, []).append((epsilon, delta))
        return True
    return False
''')),
        Wrong("no validation: a negative epsilon refunds budget", visible=True, message="expected it to raise",
              source=_charge(_SPENT + '''
    if eps_spent + epsilon <= epsilon_budget and delta_spent + delta <= delta_budget:
        ledger.setdefault(scientist, []).append((epsilon, delta))
        return True
    return False
''', validation="")),
        Wrong("KeyError for a scientist not yet in the ledger", source=_charge('''
    eps_spent = sum(e for e, _ in ledger[scientist])
    delta_spent = sum(d for _, d in ledger[scientist])
    if eps_spent + epsilon <= epsilon_budget and delta_spent + delta <= delta_budget:
        ledger[scientist].append((epsilon, delta))
        return True
    return False
''')),
        Wrong("returns None when refusing", source=_charge(_SPENT + '''
    if eps_spent + epsilon <= epsilon_budget and delta_spent + delta <= delta_budget:
        ledger.setdefault(scientist, []).append((epsilon, delta))
        return True
''')),
        Wrong("delegates to helpers.remote.charge", visible=True, message="reference solution", source='''
def charge(ledger, scientist, *, epsilon, delta, epsilon_budget, delta_budget):
    return R.charge(ledger, scientist, epsilon=epsilon, delta=delta, epsilon_budget=epsilon_budget,
                    delta_budget=delta_budget)
'''),
    ],
    "private-query": [
        Wrong("no clamping", visible=True, message="Clamp into [lower, upper]", source=_query(clip='''
    values = np.asarray(table[declaration["column"]], dtype=float)
''')),
        Wrong("drops out-of-range values instead of clamping them (n then depends on the data)", visible=True,
              message="Clamp into [lower, upper]", source=_query(clip='''
    values = np.asarray(table[declaration["column"]], dtype=float)
    values = values[(values >= lower) & (values <= upper)]
''')),
        Wrong("the mean's sensitivity U - L, forgetting / n", visible=True, message="(upper - lower)/n", source=_query(sens='''
    if declaration["query"] == "sum":
        exact, sensitivity = float(values.sum()), upper - lower
    else:
        exact, sensitivity = float(values.mean()), upper - lower
''')),
        Wrong("a sensitivity read off the data: (max - min)/n", visible=True, message="never from the data",
              source=_query(sens='''
    spread = float(values.max() - values.min())
    if declaration["query"] == "sum":
        exact, sensitivity = float(values.sum()), spread
    else:
        exact, sensitivity = float(values.mean()), spread / len(values)
''')),
        Wrong("the sum's remove-one sensitivity max(|L|, |U|) under replace-one neighbours", visible=True,
              message="upper - lower", source=_query(sens='''
    if declaration["query"] == "sum":
        exact, sensitivity = float(values.sum()), max(abs(lower), abs(upper))
    else:
        exact, sensitivity = float(values.mean()), (upper - lower) / len(values)
''')),
        Wrong("always Laplace, ignoring delta", visible=True, message="delta > 0 -> H.gaussian_mechanism",
              source=_query(noise='''
    return float(H.laplace_mechanism(exact, sensitivity=sensitivity, epsilon=epsilon, rng=rng))
''')),
        Wrong("noise from the global np.random", visible=True, message="with the rng given", source=_query(noise='''
    if delta == 0:
        return float(exact + np.random.laplace(0.0, sensitivity / epsilon))
    return float(H.gaussian_mechanism(exact, sensitivity=sensitivity, epsilon=epsilon, delta=delta, rng=rng))
''')),
        Wrong("returns the exact answer: 'the scientist adds the noise'", visible=True, message="H.laplace_mechanism",
              source=_query(noise='''
    return float(exact)
''')),
        Wrong("epsilon / 2 'to be safe'", source=_query(noise='''
    if delta == 0:
        return float(H.laplace_mechanism(exact, sensitivity=sensitivity, epsilon=epsilon / 2, rng=rng))
    return float(H.gaussian_mechanism(exact, sensitivity=sensitivity, epsilon=epsilon / 2, delta=delta, rng=rng))
''')),
        Wrong("delegates to lesson 03's private_mean / private_sum", visible=True,
              message="computes what this exercise asks", source='''
def run_query(table, declaration, *, rng=None):
    values, lower, upper = table[declaration["column"]], declaration["lower"], declaration["upper"]
    if declaration["query"] == "mean":
        return H.private_mean(values, lower=lower, upper=upper, epsilon=declaration["epsilon"], rng=rng)
    return H.private_sum(values, lower=lower, upper=upper, epsilon=declaration["epsilon"], rng=rng)
'''),
        Wrong("delegates to helpers.remote.run_query", visible=True, message="reference solution", source='''
def run_query(table, declaration, *, rng=None):
    return R.run_query(table, declaration, rng=rng)
'''),
    ],
    "leak-detector": [
        Wrong("substring search with the value's short form: finds 7 inside 70", visible=True,
              message="'7' is not in '70'", source='''
def find_leaks(text, private_values):
    return sorted({float(v) for v in np.asarray(private_values, dtype=float) if f"{v:g}" in text})
'''),
        Wrong("substring search with str(float): misses 7 written as '7'", visible=True, message="compare values",
              source='''
def find_leaks(text, private_values):
    return sorted({float(v) for v in np.asarray(private_values, dtype=float) if str(float(v)) in text})
'''),
        Wrong("integers only (\\d+): -3.5 and 4.2e1 are missed", visible=True, message="sign, decimals",
              source=_leaks(r'r"\d+"')),
        Wrong("no sign: -3.5 read as 3.5", visible=True, message="'-3.5' is not 3.5",
              source=_leaks(r'r"(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?"')),
        Wrong("no scientific notation: 4.2e1 read as 4.2 and 1", visible=True, message="scientific notation",
              source=_leaks(r'r"[-+]?(?:\d+\.\d*|\.\d+|\d+)"')),
        Wrong("no leading-point decimals: .5 read as 5", visible=True, message=".5",
              source=_leaks(r'r"[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?"')),
        Wrong("one entry per occurrence, unsorted", visible=True, message="once each", source=f'''
def find_leaks(text, private_values):
    import re
    values = set(np.asarray(private_values, dtype=float).tolist())
    return [float(m) for m in re.findall({_RIGHT_RE}, text) if float(m) in values]
'''),
        Wrong("compares rounded numbers: 58.1 'leaks' 58", visible=True, message="compare values", source=f'''
def find_leaks(text, private_values):
    import re
    numbers = {{round(float(m)) for m in re.findall({_RIGHT_RE}, text)}}
    return sorted({{float(v) for v in np.asarray(private_values, dtype=float) if round(float(v)) in numbers}})
'''),
        Wrong("delegates to helpers.remote.find_leaks", visible=True, message="reference solution", source='''
def find_leaks(text, private_values):
    return R.find_leaks(text, private_values)
'''),
    ],
}

RIGHT = {
    "make-mock": [
        Right("a loop, the generator made after validation", '''
def make_mock(schema, *, n, rng=None):
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError("bad n")
    if any(not lo < hi for lo, hi in schema.values()):
        raise ValueError("bad bounds")
    rng = np.random.default_rng() if rng is None else rng
    mock = {}
    for column in schema:
        lo, hi = schema[column]
        mock[column] = rng.uniform(low=lo, high=hi, size=n)
    return mock
'''),
    ],
    "review-rule": [
        Right("stops at the first reason", '''
def review(declaration, *, columns):
    import math
    def number(x):
        return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) and math.isfinite(x)
    if sorted(declaration) != sorted(["query", "column", "lower", "upper", "epsilon", "delta"]):
        return ["the declaration must have exactly the six keys"]
    if declaration["query"] not in ("sum", "mean"):
        return ["unknown query"]
    if declaration["column"] not in columns:
        return ["unknown column"]
    if not number(declaration["epsilon"]) or declaration["epsilon"] <= 0:
        return ["epsilon"]
    if not number(declaration["delta"]) or not 0 <= declaration["delta"] < 1:
        return ["delta"]
    if not (number(declaration["lower"]) and number(declaration["upper"])) or declaration["lower"] >= declaration["upper"]:
        return ["bounds"]
    return []
'''),
    ],
    "budget-check": [
        Right("math.fsum and the remaining budget; setdefault before the check", '''
def charge(ledger, scientist, *, epsilon, delta, epsilon_budget, delta_budget):
    import math
    if not (isinstance(epsilon, (int, float)) and 0 < epsilon < math.inf):
        raise ValueError("epsilon")
    if not (isinstance(delta, (int, float)) and 0 <= delta < 1):
        raise ValueError("delta")
    entries = ledger.setdefault(scientist, [])
    eps_left = epsilon_budget - math.fsum(e for e, _ in entries)
    delta_left = delta_budget - math.fsum(d for _, d in entries)
    if epsilon > eps_left + 1e-12 or delta > delta_left + 1e-18:
        return False
    entries.append((epsilon, delta))
    return True
'''),
    ],
    "private-query": [
        Right("H.clamp and the Laplace draw written out", '''
def run_query(table, declaration, *, rng=None):
    if rng is None:
        rng = np.random.default_rng()
    values = H.clamp(table[declaration["column"]], lower=declaration["lower"], upper=declaration["upper"])
    width = declaration["upper"] - declaration["lower"]
    if declaration["query"] == "mean":
        exact, sensitivity = values.mean(), width / values.size
    else:
        exact, sensitivity = values.sum(), width
    if declaration["delta"] > 0:
        return float(H.gaussian_mechanism(float(exact), sensitivity=sensitivity, epsilon=declaration["epsilon"],
                                          delta=declaration["delta"], rng=rng))
    return float(exact + rng.laplace(0.0, sensitivity / declaration["epsilon"]))
'''),
    ],
    "leak-detector": [
        Right("a loop over the private values with a set of parsed numbers", r'''
def find_leaks(text, private_values):
    import re
    found = set()
    for token in re.findall(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", text):
        found.add(float(token))
    leaked = []
    for v in np.asarray(private_values, dtype=float).ravel():
        if float(v) in found and float(v) not in leaked:
            leaked.append(float(v))
    return sorted(leaked)
'''),
    ],
}
