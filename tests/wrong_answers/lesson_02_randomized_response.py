"""Lesson 02: wrong answers students write, and other right ones.

The worst of them break privacy rather than accuracy: a coin the collector can predict (a seed
of the student's own, a pattern, the global generator reseeded by someone else) lets it undo the
randomization, so they must fail however good the overall yes-rates look.
"""
from wrong_answers import Right, Wrong

# Validation every randomize_responses answer below shares (so that each one differs from the
# solution only by its mistake).
_CHECK_RR = '''
    db = np.asarray(db)
    if db.ndim != 1 or db.size == 0:
        raise ValueError("db must be a non-empty 1-D array")
    if not np.isin(db, (0, 1)).all():
        raise ValueError("db must hold only 0 and 1")
    if not 0 <= p_truth <= 1:
        raise ValueError("p_truth must be in [0, 1]")
'''


def _rr(body: str) -> str:
    """A randomize_responses with the shared validation and the given body (8-space indented)."""
    head = "def randomize_responses(db, *, p_truth=0.5, rng=None):\n"
    return head + _CHECK_RR.strip("\n") + "\n" + body.strip("\n") + "\n"


WRONG = {
    "rr-randomize": [
        Wrong("answers the opposite instead of a fair coin", visible=True, message="FAIR coin", source=_rr('''
    rng = np.random.default_rng(rng)
    tell_truth = rng.random(db.size) < p_truth
    return np.where(tell_truth, db, 1 - db).astype(int)
''')),
        Wrong("the second coin has bias p_truth instead of 1/2", visible=True, message="share of 'yes'", source=_rr('''
    rng = np.random.default_rng(rng)
    tell_truth = rng.random(db.size) < p_truth
    coin = rng.random(db.size) < p_truth
    return np.where(tell_truth, db, coin).astype(int)
''')),
        Wrong("reads p_truth as the probability of flipping the coin", visible=True, message="share of 'yes'",
              source=_rr('''
    rng = np.random.default_rng(rng)
    use_coin = rng.random(db.size) < p_truth
    coin = rng.random(db.size) < 0.5
    return np.where(use_coin, coin, db).astype(int)
''')),
        Wrong("rng.integers(0, 1): the 'coin' is always 0 (the upper bound is exclusive)", visible=True,
              message="share of 'yes'", source=_rr('''
    rng = np.random.default_rng(rng)
    tell_truth = rng.random(db.size) < p_truth
    coin = rng.integers(0, 1, size=db.size)
    return np.where(tell_truth, db, coin).astype(int)
''')),
        Wrong("one coin shared by everyone (a scalar draw)", visible=True, message="share of 'yes'", source=_rr('''
    rng = np.random.default_rng(rng)
    tell_truth = rng.random(db.size) < p_truth
    coin = int(rng.random() < 0.5)
    return np.where(tell_truth, db, coin).astype(int)
''')),
        Wrong("one first coin for the whole survey: all tell the truth or none", visible=True, message="share of 'yes'",
              source=_rr('''
    rng = np.random.default_rng(rng)
    coin = (rng.random(db.size) < 0.5).astype(int)
    if rng.random() < p_truth:
        return db.astype(int)
    return coin
''')),
        Wrong("the second coin from a fixed-seed generator of its own (a public coin: epsilon = inf)", visible=True,
              message="different seeds gave the same result", source=_rr('''
    rng = np.random.default_rng(rng)
    tell_truth = rng.random(db.size) < p_truth
    coin = np.random.default_rng(42).random(db.size) < 0.5
    return np.where(tell_truth, db, coin).astype(int)
''')),
        Wrong("the first coin from a fixed-seed generator of its own (who tells the truth is public)", visible=True,
              message="same people told the truth", source=_rr('''
    rng = np.random.default_rng(rng)
    tell_truth = np.random.default_rng(0).random(db.size) < p_truth
    coin = rng.random(db.size) < 0.5
    return np.where(tell_truth, db, coin).astype(int)
''')),
        Wrong("a deterministic first coin: the first p_truth * n people tell the truth", visible=True,
              message="same people told the truth", source=_rr('''
    rng = np.random.default_rng(rng)
    tell_truth = np.arange(db.size) < round(p_truth * db.size)
    coin = rng.random(db.size) < 0.5
    return np.where(tell_truth, db, coin).astype(int)
''')),
        Wrong("a deterministic first coin spread evenly: exactly a share p_truth tells the truth", visible=True,
              message="same people told the truth", source=_rr('''
    rng = np.random.default_rng(rng)
    tell_truth = (np.arange(db.size) * p_truth) % 1 < p_truth
    coin = rng.random(db.size) < 0.5
    return np.where(tell_truth, db, coin).astype(int)
''')),
        Wrong("a deterministic second coin: alternating 0, 1, 0, 1", visible=True,
              message="different seeds gave the same result", source=_rr('''
    rng = np.random.default_rng(rng)
    tell_truth = rng.random(db.size) < p_truth
    coin = np.arange(db.size) % 2
    return np.where(tell_truth, db, coin).astype(int)
''')),
        Wrong("the global np.random instead of rng", visible=True, message="same seed gave different results",
              source=_rr('''
    tell_truth = np.random.random(db.size) < p_truth
    coin = np.random.random(db.size) < 0.5
    return np.where(tell_truth, db, coin).astype(int)
''')),
        Wrong("the first coin from the global np.random, the second from rng", visible=True,
              message="same seed gave different results", source=_rr('''
    rng = np.random.default_rng(rng)
    tell_truth = np.random.rand(db.size) < p_truth
    coin = rng.random(db.size) < 0.5
    return np.where(tell_truth, db, coin).astype(int)
''')),
        Wrong("a new unseeded generator, ignoring rng", visible=True, message="same seed gave different results",
              source=_rr('''
    gen = np.random.default_rng()
    tell_truth = gen.random(db.size) < p_truth
    coin = gen.random(db.size) < 0.5
    return np.where(tell_truth, db, coin).astype(int)
''')),
        Wrong("re-creates the generator from rng for every person (an int seed gives everyone the same coins)",
              source=_rr('''
    out = np.empty(db.size, dtype=int)
    for i in range(db.size):
        gen = np.random.default_rng(rng)
        out[i] = db[i] if gen.random() < p_truth else int(gen.random() < 0.5)
    return out
''')),
        Wrong("returns booleans", visible=True, message="integer", source=_rr('''
    rng = np.random.default_rng(rng)
    tell_truth = rng.random(db.size) < p_truth
    coin = rng.random(db.size) < 0.5
    return np.where(tell_truth, db == 1, coin)
''')),
        Wrong("returns floats", visible=True, message="integer", source=_rr('''
    rng = np.random.default_rng(rng)
    tell_truth = rng.random(db.size) < p_truth
    coin = rng.random(db.size) < 0.5
    return np.where(tell_truth, db, coin) * 1.0
''')),
        Wrong("returns a list", visible=True, message="numpy array", source=_rr('''
    rng = np.random.default_rng(rng)
    return [int(x) if rng.random() < p_truth else int(rng.random() < 0.5) for x in db]
''')),
        Wrong("overwrites db in place (the true answers are lost)", visible=True, message="changed the db",
              source=_rr('''
    rng = np.random.default_rng(rng)
    lie = rng.random(db.size) >= p_truth
    coin = (rng.random(db.size) < 0.5).astype(db.dtype)
    db[lie] = coin[lie]
    return db
''')),
        Wrong("no validation of db's values (2 passes through)", visible=True, message="expected it to raise",
              source='''
            def randomize_responses(db, *, p_truth=0.5, rng=None):
                db = np.asarray(db)
                if db.ndim != 1 or db.size == 0:
                    raise ValueError("db must be a non-empty 1-D array")
                if not 0 <= p_truth <= 1:
                    raise ValueError("p_truth must be in [0, 1]")
                rng = np.random.default_rng(rng)
                tell_truth = rng.random(db.size) < p_truth
                coin = rng.random(db.size) < 0.5
                return np.where(tell_truth, db, coin).astype(int)
        '''),
        Wrong("no validation of p_truth", visible=True, message="expected it to raise", source='''
            def randomize_responses(db, *, p_truth=0.5, rng=None):
                db = np.asarray(db)
                if db.ndim != 1 or db.size == 0 or not np.isin(db, (0, 1)).all():
                    raise ValueError("db must be a non-empty 1-D array of 0/1")
                rng = np.random.default_rng(rng)
                tell_truth = rng.random(db.size) < p_truth
                coin = rng.random(db.size) < 0.5
                return np.where(tell_truth, db, coin).astype(int)
        '''),
        Wrong("checks only that values are 0/1 on a 2-D db (no shape check)", source='''
            def randomize_responses(db, *, p_truth=0.5, rng=None):
                db = np.asarray(db)
                if db.size == 0 or not np.isin(db, (0, 1)).all():
                    raise ValueError("db must be non-empty and hold only 0/1")
                if not 0 <= p_truth <= 1:
                    raise ValueError("p_truth must be in [0, 1]")
                rng = np.random.default_rng(rng)
                tell_truth = rng.random(db.shape) < p_truth
                coin = rng.random(db.shape) < 0.5
                return np.where(tell_truth, db, coin).astype(int)
        '''),
        Wrong("delegates to the course's reference H.randomize_responses", visible=True, message="reference solution",
              source='''
            def randomize_responses(db, *, p_truth=0.5, rng=None):
                return H.randomize_responses(db, p_truth=p_truth, rng=rng)
        '''),
    ],
    "rr-epsilon": [
        Wrong("the inverse ratio ln((1-p)/(1+p))", visible=True, message="returned", source='''
            def rr_epsilon(*, p_truth):
                if not 0 <= p_truth <= 1:
                    raise ValueError("p_truth must be in [0, 1]")
                if p_truth == 1:
                    return math.inf
                return math.log((1 - p_truth) / (1 + p_truth))
        '''),
        Wrong("log10 instead of the natural log", visible=True, message="natural log", source='''
            def rr_epsilon(*, p_truth):
                if not 0 <= p_truth <= 1:
                    raise ValueError("p_truth must be in [0, 1]")
                if p_truth == 1:
                    return math.inf
                return math.log10((1 + p_truth) / (1 - p_truth))
        '''),
        Wrong("the ratio without the log (e^epsilon, not epsilon)", visible=True, message="returned", source='''
            def rr_epsilon(*, p_truth):
                if not 0 <= p_truth <= 1:
                    raise ValueError("p_truth must be in [0, 1]")
                if p_truth == 1:
                    return math.inf
                return (1 + p_truth) / (1 - p_truth)
        '''),
        Wrong("forgets p_truth = 1 (division by zero)", visible=True, message="ZeroDivisionError", source='''
            def rr_epsilon(*, p_truth):
                if not 0 <= p_truth <= 1:
                    raise ValueError("p_truth must be in [0, 1]")
                return math.log((1 + p_truth) / (1 - p_truth))
        '''),
        Wrong("ln(p/(1-p)): the odds of telling the truth, not of saying yes", visible=True, message="returned",
              source='''
            def rr_epsilon(*, p_truth):
                if not 0 <= p_truth <= 1:
                    raise ValueError("p_truth must be in [0, 1]")
                if p_truth in (0, 1):
                    return 0.0 if p_truth == 0 else math.inf
                return math.log(p_truth / (1 - p_truth))
        '''),
        Wrong("always ln 3 (the fair-coin value)", visible=True, message="returned", source='''
            def rr_epsilon(*, p_truth):
                if not 0 <= p_truth <= 1:
                    raise ValueError("p_truth must be in [0, 1]")
                return math.log(3)
        '''),
        Wrong("returns 0 instead of infinity at p_truth = 1", visible=True, message="returned", source='''
            def rr_epsilon(*, p_truth):
                if not 0 <= p_truth <= 1:
                    raise ValueError("p_truth must be in [0, 1]")
                if p_truth == 1:
                    return 0.0
                return math.log((1 + p_truth) / (1 - p_truth))
        '''),
        Wrong("validation with < and > lets NaN through", visible=True, message="expected it to raise", source='''
            def rr_epsilon(*, p_truth):
                if p_truth < 0 or p_truth > 1:
                    raise ValueError("p_truth must be in [0, 1]")
                if p_truth == 1:
                    return math.inf
                return math.log((1 + p_truth) / (1 - p_truth))
        '''),
        Wrong("no validation", source='''
            def rr_epsilon(*, p_truth):
                if p_truth == 1:
                    return math.inf
                return math.log((1 + p_truth) / (1 - p_truth))
        '''),
        Wrong("epsilon of the yes-probabilities' difference, ln(1 + p)", source='''
            def rr_epsilon(*, p_truth):
                if not 0 <= p_truth <= 1:
                    raise ValueError("p_truth must be in [0, 1]")
                if p_truth == 1:
                    return math.inf
                return math.log(1 + p_truth)
        '''),
        Wrong("delegates to the course's H.rr_epsilon", visible=True, message="reference solution", source='''
            def rr_epsilon(*, p_truth):
                return H.rr_epsilon(p_truth=p_truth)
        '''),
    ],
    "rr-p-truth": [
        Wrong("the inverse, (e^eps + 1)/(e^eps - 1)", visible=True, message="returned", source='''
            def p_truth_for_epsilon(*, epsilon):
                if not (math.isfinite(epsilon) and epsilon > 0):
                    raise ValueError("epsilon must be > 0")
                return (math.exp(epsilon) + 1) / (math.exp(epsilon) - 1)
        '''),
        Wrong("tanh(eps) instead of tanh(eps/2)", visible=True, message="returned", source='''
            def p_truth_for_epsilon(*, epsilon):
                if not (math.isfinite(epsilon) and epsilon > 0):
                    raise ValueError("epsilon must be > 0")
                return math.tanh(epsilon)
        '''),
        Wrong("e^eps/(1 + e^eps): OpenDP's keep-or-flip probability, not p_truth", visible=True, message="returned",
              source='''
            def p_truth_for_epsilon(*, epsilon):
                if not (math.isfinite(epsilon) and epsilon > 0):
                    raise ValueError("epsilon must be > 0")
                return math.exp(epsilon) / (1 + math.exp(epsilon))
        '''),
        Wrong("10**eps (the inverse of log10)", visible=True, message="returned", source='''
            def p_truth_for_epsilon(*, epsilon):
                if not (math.isfinite(epsilon) and epsilon > 0):
                    raise ValueError("epsilon must be > 0")
                return (10 ** epsilon - 1) / (10 ** epsilon + 1)
        '''),
        Wrong("1 - e^(-eps)", visible=True, message="returned", source='''
            def p_truth_for_epsilon(*, epsilon):
                if not (math.isfinite(epsilon) and epsilon > 0):
                    raise ValueError("epsilon must be > 0")
                return 1 - math.exp(-epsilon)
        '''),
        Wrong("no check that epsilon is finite (inf gives p = 1: no privacy)", source='''
            def p_truth_for_epsilon(*, epsilon):
                if not epsilon > 0:
                    raise ValueError("epsilon must be > 0")
                return math.tanh(epsilon / 2)
        '''),
        Wrong("accepts epsilon = 0", visible=True, message="expected it to raise", source='''
            def p_truth_for_epsilon(*, epsilon):
                if epsilon < 0 or not math.isfinite(epsilon):
                    raise ValueError("epsilon must be >= 0")
                return math.tanh(epsilon / 2)
        '''),
        Wrong("validation with <= lets NaN through", visible=True, message="expected it to raise", source='''
            def p_truth_for_epsilon(*, epsilon):
                if epsilon <= 0 or epsilon == math.inf:
                    raise ValueError("epsilon must be a finite number > 0")
                return math.tanh(epsilon / 2)
        '''),
        Wrong("delegates to the course's H.p_truth_for_epsilon", visible=True, message="reference solution", source='''
            def p_truth_for_epsilon(*, epsilon):
                return H.p_truth_for_epsilon(epsilon=epsilon)
        '''),
    ],
    "rr-estimate": [
        Wrong("clips the estimate to [0, 1] (biased)", visible=True, message="clip", source='''
            def estimate_proportion(responses, *, p_truth):
                responses = np.asarray(responses)
                if responses.ndim != 1 or responses.size == 0 or not np.isin(responses, (0, 1)).all():
                    raise ValueError("responses must be a non-empty 1-D array of 0/1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                return float(np.clip((responses.mean() - (1 - p_truth) / 2) / p_truth, 0, 1))
        '''),
        Wrong("clips only at 1 (a share cannot exceed 100 %)", source='''
            def estimate_proportion(responses, *, p_truth):
                responses = np.asarray(responses)
                if responses.ndim != 1 or responses.size == 0 or not np.isin(responses, (0, 1)).all():
                    raise ValueError("responses must be a non-empty 1-D array of 0/1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                return float(min(1.0, (responses.mean() - (1 - p_truth) / 2) / p_truth))
        '''),
        Wrong("the fair-coin shortcut 2*mean - 1/2 whatever p_truth", visible=True, message="returned", source='''
            def estimate_proportion(responses, *, p_truth):
                responses = np.asarray(responses)
                if responses.ndim != 1 or responses.size == 0 or not np.isin(responses, (0, 1)).all():
                    raise ValueError("responses must be a non-empty 1-D array of 0/1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                return float(2 * responses.mean() - 0.5)
        '''),
        Wrong("subtracts p instead of (1-p)/2", visible=True, message="returned", source='''
            def estimate_proportion(responses, *, p_truth):
                responses = np.asarray(responses)
                if responses.ndim != 1 or responses.size == 0 or not np.isin(responses, (0, 1)).all():
                    raise ValueError("responses must be a non-empty 1-D array of 0/1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                return float((responses.mean() - p_truth) / p_truth)
        '''),
        Wrong("subtracts (1-p) without the /2", visible=True, message="returned", source='''
            def estimate_proportion(responses, *, p_truth):
                responses = np.asarray(responses)
                if responses.ndim != 1 or responses.size == 0 or not np.isin(responses, (0, 1)).all():
                    raise ValueError("responses must be a non-empty 1-D array of 0/1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                return float((responses.mean() - (1 - p_truth)) / p_truth)
        '''),
        Wrong("forgets to divide by p", visible=True, message="returned", source='''
            def estimate_proportion(responses, *, p_truth):
                responses = np.asarray(responses)
                if responses.ndim != 1 or responses.size == 0 or not np.isin(responses, (0, 1)).all():
                    raise ValueError("responses must be a non-empty 1-D array of 0/1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                return float(responses.mean() - (1 - p_truth) / 2)
        '''),
        Wrong("multiplies by p instead of dividing", source='''
            def estimate_proportion(responses, *, p_truth):
                responses = np.asarray(responses)
                if responses.ndim != 1 or responses.size == 0 or not np.isin(responses, (0, 1)).all():
                    raise ValueError("responses must be a non-empty 1-D array of 0/1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                return float((responses.mean() - (1 - p_truth) / 2) * p_truth)
        '''),
        Wrong("the raw share of yes (no de-biasing)", source='''
            def estimate_proportion(responses, *, p_truth):
                responses = np.asarray(responses)
                if responses.ndim != 1 or responses.size == 0 or not np.isin(responses, (0, 1)).all():
                    raise ValueError("responses must be a non-empty 1-D array of 0/1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                return float(responses.mean())
        '''),
        Wrong("accepts p_truth = 0 (returns inf or nan)", visible=True, message="expected it to raise", source='''
            def estimate_proportion(responses, *, p_truth):
                responses = np.asarray(responses)
                if responses.ndim != 1 or responses.size == 0 or not np.isin(responses, (0, 1)).all():
                    raise ValueError("responses must be a non-empty 1-D array of 0/1")
                if not 0 <= p_truth <= 1:
                    raise ValueError("p_truth must be in [0, 1]")
                return float((responses.mean() - (1 - p_truth) / 2) / p_truth)
        '''),
        Wrong("no validation of the responses' values", visible=True, message="expected it to raise", source='''
            def estimate_proportion(responses, *, p_truth):
                responses = np.asarray(responses)
                if responses.ndim != 1 or responses.size == 0:
                    raise ValueError("responses must be a non-empty 1-D array")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                return float((responses.mean() - (1 - p_truth) / 2) / p_truth)
        '''),
        Wrong("delegates to the course's H.estimate_proportion", visible=True, message="reference solution", source='''
            def estimate_proportion(responses, *, p_truth):
                return H.estimate_proportion(responses, p_truth=p_truth)
        '''),
    ],
    "rr-std": [
        Wrong("forgets to divide by p", visible=True, message="returned", source='''
            def estimator_std(*, true_proportion, n, p_truth):
                if not 0 <= true_proportion <= 1:
                    raise ValueError("true_proportion must be in [0, 1]")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                lam = p_truth * true_proportion + (1 - p_truth) / 2
                return math.sqrt(lam * (1 - lam) / n)
        '''),
        Wrong("sd of the wrong variable: pi(1-pi) instead of lambda(1-lambda)", visible=True, message="returned",
              source='''
            def estimator_std(*, true_proportion, n, p_truth):
                if not 0 <= true_proportion <= 1:
                    raise ValueError("true_proportion must be in [0, 1]")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                return math.sqrt(true_proportion * (1 - true_proportion) / n) / p_truth
        '''),
        Wrong("the variance instead of the standard deviation", visible=True, message="returned", source='''
            def estimator_std(*, true_proportion, n, p_truth):
                if not 0 <= true_proportion <= 1:
                    raise ValueError("true_proportion must be in [0, 1]")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                lam = p_truth * true_proportion + (1 - p_truth) / 2
                return lam * (1 - lam) / n / p_truth ** 2
        '''),
        Wrong("1/n instead of 1/sqrt(n)", visible=True, message="returned", source='''
            def estimator_std(*, true_proportion, n, p_truth):
                if not 0 <= true_proportion <= 1:
                    raise ValueError("true_proportion must be in [0, 1]")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                lam = p_truth * true_proportion + (1 - p_truth) / 2
                return math.sqrt(lam * (1 - lam)) / n / p_truth
        '''),
        Wrong("lambda = p*pi + (1-p) (forgets the fair coin's 1/2)", visible=True, message="returned", source='''
            def estimator_std(*, true_proportion, n, p_truth):
                if not 0 <= true_proportion <= 1:
                    raise ValueError("true_proportion must be in [0, 1]")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                lam = p_truth * true_proportion + (1 - p_truth)
                return math.sqrt(lam * (1 - lam) / n) / p_truth
        '''),
        Wrong("only the privacy noise sqrt(1-p^2)/(2p sqrt n), no sampling error", visible=True, message="returned",
              source='''
            def estimator_std(*, true_proportion, n, p_truth):
                if not 0 <= true_proportion <= 1:
                    raise ValueError("true_proportion must be in [0, 1]")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                return math.sqrt(1 - p_truth ** 2) / (2 * p_truth * math.sqrt(n))
        '''),
        Wrong("the sample-variance habit: divides by n - 1", visible=True, message="returned", source='''
            def estimator_std(*, true_proportion, n, p_truth):
                if not 0 <= true_proportion <= 1:
                    raise ValueError("true_proportion must be in [0, 1]")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                lam = p_truth * true_proportion + (1 - p_truth) / 2
                return math.sqrt(lam * (1 - lam) / (n - 1)) / p_truth
        '''),
        Wrong("divides the sd by p squared", source='''
            def estimator_std(*, true_proportion, n, p_truth):
                if not 0 <= true_proportion <= 1:
                    raise ValueError("true_proportion must be in [0, 1]")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                lam = p_truth * true_proportion + (1 - p_truth) / 2
                return math.sqrt(lam * (1 - lam) / n) / p_truth ** 2
        '''),
        Wrong("accepts a non-integer n", source='''
            def estimator_std(*, true_proportion, n, p_truth):
                if not 0 <= true_proportion <= 1:
                    raise ValueError("true_proportion must be in [0, 1]")
                if n < 1:
                    raise ValueError("n must be >= 1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                lam = p_truth * true_proportion + (1 - p_truth) / 2
                return math.sqrt(lam * (1 - lam) / n) / p_truth
        '''),
        Wrong("delegates to a sibling: sampling error plus H.rr_noise_std", visible=True, message="course function",
              source='''
            def estimator_std(*, true_proportion, n, p_truth):
                if not 0 <= true_proportion <= 1:
                    raise ValueError("true_proportion must be in [0, 1]")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                noise = H.rr_noise_std(n=n, p_truth=p_truth)
                return math.sqrt(true_proportion * (1 - true_proportion) / n + noise ** 2)
        '''),
    ],
    "rr-noise-std": [
        Wrong("1/n instead of 1/sqrt(n)", visible=True, message="returned", source='''
            def rr_noise_std(*, n, p_truth):
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                return math.sqrt(1 - p_truth ** 2) / (2 * p_truth * n)
        '''),
        Wrong("forgets the 2 (the Bernoulli variance (1-p^2)/4)", visible=True, message="returned", source='''
            def rr_noise_std(*, n, p_truth):
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                return math.sqrt(1 - p_truth ** 2) / (p_truth * math.sqrt(n))
        '''),
        Wrong("the variance instead of the standard deviation", visible=True, message="returned", source='''
            def rr_noise_std(*, n, p_truth):
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                return (1 - p_truth ** 2) / (4 * p_truth ** 2 * n)
        '''),
        Wrong("sqrt(1 - p) instead of sqrt(1 - p^2)", visible=True, message="returned", source='''
            def rr_noise_std(*, n, p_truth):
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                return math.sqrt(1 - p_truth) / (2 * p_truth * math.sqrt(n))
        '''),
        Wrong("sd of the wrong variable: the worst-case population formula (lambda = 1/2)", visible=True,
              message="returned", source='''
            def rr_noise_std(*, n, p_truth):
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                return 1 / (2 * p_truth * math.sqrt(n))
        '''),
        Wrong("divides by p squared", source='''
            def rr_noise_std(*, n, p_truth):
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                return math.sqrt(1 - p_truth ** 2) / (2 * p_truth ** 2 * math.sqrt(n))
        '''),
        Wrong("no check of p_truth = 0 (ZeroDivisionError, not ValueError)", visible=True, message="ZeroDivisionError",
              source='''
            def rr_noise_std(*, n, p_truth):
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not 0 <= p_truth <= 1:
                    raise ValueError("p_truth must be in [0, 1]")
                return math.sqrt(1 - p_truth ** 2) / (2 * p_truth * math.sqrt(n))
        '''),
        Wrong("accepts a non-integer n", source='''
            def rr_noise_std(*, n, p_truth):
                if n < 1:
                    raise ValueError("n must be >= 1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                return math.sqrt(1 - p_truth ** 2) / (2 * p_truth * math.sqrt(n))
        '''),
        Wrong("delegates to a sibling: H.estimator_std at the worst case pi = 1/2", visible=True,
              message="course function", source='''
            def rr_noise_std(*, n, p_truth):
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                total = H.estimator_std(true_proportion=0.5, n=n, p_truth=p_truth)
                return math.sqrt(total ** 2 - 0.25 / n)
        '''),
    ],
    "rr-central-std": [
        Wrong("the Laplace scale 1/(n eps) instead of its standard deviation", visible=True, message="returned",
              source='''
            def central_laplace_std(*, n, epsilon):
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not (math.isfinite(epsilon) and epsilon > 0):
                    raise ValueError("epsilon must be > 0")
                return 1 / (n * epsilon)
        '''),
        Wrong("sensitivity 1 instead of 1/n (the count, not the share)", visible=True, message="returned", source='''
            def central_laplace_std(*, n, epsilon):
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not (math.isfinite(epsilon) and epsilon > 0):
                    raise ValueError("epsilon must be > 0")
                return math.sqrt(2) / epsilon
        '''),
        Wrong("2b instead of sqrt(2) b (the variance 2b^2 misread)", visible=True, message="returned", source='''
            def central_laplace_std(*, n, epsilon):
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not (math.isfinite(epsilon) and epsilon > 0):
                    raise ValueError("epsilon must be > 0")
                return 2 / (n * epsilon)
        '''),
        Wrong("the variance 2b^2 instead of the standard deviation", visible=True, message="returned", source='''
            def central_laplace_std(*, n, epsilon):
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not (math.isfinite(epsilon) and epsilon > 0):
                    raise ValueError("epsilon must be > 0")
                return 2 / (n * epsilon) ** 2
        '''),
        Wrong("the inverse scale eps/Delta", visible=True, message="returned", source='''
            def central_laplace_std(*, n, epsilon):
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not (math.isfinite(epsilon) and epsilon > 0):
                    raise ValueError("epsilon must be > 0")
                return math.sqrt(2) * n * epsilon
        '''),
        Wrong("remove-one sensitivity 1/(n-1)", source='''
            def central_laplace_std(*, n, epsilon):
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not (math.isfinite(epsilon) and epsilon > 0):
                    raise ValueError("epsilon must be > 0")
                return math.sqrt(2) / ((n - 1) * epsilon)
        '''),
        Wrong("estimates the sd from a small simulation of its own", source='''
            def central_laplace_std(*, n, epsilon):
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not (math.isfinite(epsilon) and epsilon > 0):
                    raise ValueError("epsilon must be > 0")
                return float(np.std(np.random.default_rng(0).laplace(scale=1 / (n * epsilon), size=10)))
        '''),
        Wrong("no check of epsilon = 0 (ZeroDivisionError, not ValueError)", visible=True, message="ZeroDivisionError",
              source='''
            def central_laplace_std(*, n, epsilon):
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if epsilon < 0:
                    raise ValueError("epsilon must be >= 0")
                return math.sqrt(2) / (n * epsilon)
        '''),
        Wrong("accepts a non-integer n", source='''
            def central_laplace_std(*, n, epsilon):
                if n < 1:
                    raise ValueError("n must be >= 1")
                if not (math.isfinite(epsilon) and epsilon > 0):
                    raise ValueError("epsilon must be > 0")
                return math.sqrt(2) / (n * epsilon)
        '''),
        Wrong("b/sqrt(2) instead of sqrt(2) b", source='''
            def central_laplace_std(*, n, epsilon):
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not (math.isfinite(epsilon) and epsilon > 0):
                    raise ValueError("epsilon must be > 0")
                return 1 / (math.sqrt(2) * n * epsilon)
        '''),
        Wrong("delegates to a sibling: lesson 03's H.laplace_scale times sqrt(2)", visible=True,
              message="course function", source='''
            def central_laplace_std(*, n, epsilon):
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not (math.isfinite(epsilon) and epsilon > 0):
                    raise ValueError("epsilon must be > 0")
                return math.sqrt(2) * H.laplace_scale(sensitivity=1 / n, epsilon=epsilon)
        '''),
    ],
}

RIGHT = {
    "rr-randomize": [
        Right("a loop, one person at a time, drawing both coins from rng", '''
            def randomize_responses(db, *, p_truth=0.5, rng=None):
                db = np.asarray(db)
                if db.ndim != 1:
                    raise ValueError("db must be 1-D")
                if len(db) == 0:
                    raise ValueError("db is empty")
                if not 0 <= p_truth <= 1:
                    raise ValueError("p_truth must be in [0, 1]")
                rng = np.random.default_rng(rng)
                out = np.empty(len(db), dtype=np.int64)
                for i, x in enumerate(db):
                    if x not in (0, 1):
                        raise ValueError(f"db[{i}] = {x} is not 0 or 1")
                    out[i] = int(x) if rng.random() < p_truth else int(rng.random() < 0.5)
                return out
        '''),
        Right("one uniform per person split into three intervals (truth, yes, no)", '''
            def randomize_responses(db, *, p_truth=0.5, rng=None):
                db = np.asarray(db)
                if db.ndim != 1 or db.size == 0 or not np.isin(db, (0, 1)).all():
                    raise ValueError("db must be a non-empty 1-D array of 0/1")
                if not (0 <= p_truth <= 1):
                    raise ValueError("p_truth must be in [0, 1]")
                rng = np.random.default_rng(rng)
                u = rng.random(db.size)
                return np.where(u < p_truth, db, (u < p_truth + (1 - p_truth) / 2)).astype(np.int32)
        '''),
        Right("the coin first, then the truth, with rng.integers and rng.binomial", '''
            def randomize_responses(db, *, p_truth=0.5, rng=None):
                if not 0 <= p_truth <= 1:
                    raise ValueError("p_truth must be in [0, 1]")
                db = np.asarray(db)
                if db.ndim != 1 or len(db) < 1 or not np.all((db == 0) | (db == 1)):
                    raise ValueError("db must be a non-empty 1-D array of 0/1")
                rng = np.random.default_rng(rng)
                coin = rng.integers(0, 2, size=len(db))
                truthful = rng.binomial(1, p_truth, size=len(db)).astype(bool)
                answers = coin.copy()
                answers[truthful] = db[truthful]
                return answers.astype(int)
        '''),
    ],
    "rr-epsilon": [
        Right("2 artanh(p), with numpy's log and inf", '''
            def rr_epsilon(*, p_truth):
                if not (0.0 <= p_truth <= 1.0):
                    raise ValueError(f"p_truth must be in [0, 1], got {p_truth}")
                if p_truth == 1:
                    return np.inf
                return 2 * math.atanh(p_truth)
        '''),
        Right("the ratio of the two yes-probabilities, with np.log", '''
            def rr_epsilon(*, p_truth):
                if np.isnan(p_truth) or p_truth < 0 or p_truth > 1:
                    raise ValueError("p_truth must be in [0, 1]")
                yes_if_1 = (1 + p_truth) / 2
                yes_if_0 = (1 - p_truth) / 2
                return float("inf") if yes_if_0 == 0 else float(np.log(yes_if_1 / yes_if_0))
        '''),
    ],
    "rr-p-truth": [
        Right("(e^eps - 1)/(e^eps + 1) with numpy", '''
            def p_truth_for_epsilon(*, epsilon):
                if not np.isfinite(epsilon) or epsilon <= 0:
                    raise ValueError("epsilon must be a finite number > 0")
                e = np.exp(epsilon)
                return float((e - 1) / (e + 1))
        '''),
    ],
    "rr-estimate": [
        Right("sum / len with Python floats", '''
            def estimate_proportion(responses, *, p_truth):
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                r = np.asarray(responses)
                if r.ndim != 1 or len(r) == 0:
                    raise ValueError("responses must be a non-empty 1-D array")
                if not set(np.unique(r).tolist()) <= {0, 1}:
                    raise ValueError("responses must be 0/1")
                share_yes = r.sum() / len(r)
                return (share_yes - (1 - p_truth) / 2) / p_truth
        '''),
    ],
    "rr-std": [
        Right("the sampling + privacy decomposition written out", '''
            def estimator_std(*, true_proportion, n, p_truth):
                if not 0 <= true_proportion <= 1:
                    raise ValueError("true_proportion must be in [0, 1]")
                if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
                    raise ValueError("n must be a positive integer")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                sampling = true_proportion * (1 - true_proportion)
                privacy = (1 - p_truth ** 2) / (4 * p_truth ** 2)
                return math.sqrt((sampling + privacy) / n)
        '''),
        Right("lambda from the two conditional yes-probabilities", '''
            def estimator_std(*, true_proportion, n, p_truth):
                if not 0 <= true_proportion <= 1:
                    raise ValueError("true_proportion must be in [0, 1]")
                if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
                    raise ValueError("n must be a positive integer")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                lam = true_proportion * (1 + p_truth) / 2 + (1 - true_proportion) * (1 - p_truth) / 2
                return float(np.sqrt(lam * (1 - lam) / n) / p_truth)
        '''),
    ],
    "rr-noise-std": [
        Right("the variance of one answer, averaged and rescaled", '''
            def rr_noise_std(*, n, p_truth):
                if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not 0 < p_truth <= 1:
                    raise ValueError("p_truth must be in (0, 1]")
                q = (1 + p_truth) / 2
                var_one = q * (1 - q)
                return math.sqrt(var_one / n) / p_truth
        '''),
    ],
    "rr-central-std": [
        Right("scale b = (1/n)/eps, then sqrt(2) b", '''
            def central_laplace_std(*, n, epsilon):
                if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if not (epsilon > 0 and math.isfinite(epsilon)):
                    raise ValueError("epsilon must be a finite number > 0")
                sensitivity = 1 / n
                b = sensitivity / epsilon
                return math.sqrt(2) * b
        '''),
    ],
}
