"""Lesson 04: wrong answers students write, and other right ones."""
from wrong_answers import Right, Wrong

# The validation every assign_teachers answer below shares (the mistakes are elsewhere).
_KEYS_OK = '''
    p = 2**31 - 1
    keys = np.asarray(keys)
    if keys.ndim != 1 or keys.size == 0 or keys.dtype.kind not in "iu":
        raise ValueError("keys must be a non-empty 1-D array of integers")
    if keys.min() < 0 or keys.max() >= p:
        raise ValueError("keys out of range")
    if isinstance(num_teachers, bool) or not isinstance(num_teachers, (int, np.integer)) or num_teachers < 1:
        raise ValueError("num_teachers must be an integer >= 1")
'''


def _assign(body: str) -> str:
    return "def assign_teachers(keys, *, num_teachers, rng):" + _KEYS_OK + body


WRONG = {
    "assign-teachers": [
        Wrong("the old recipe: slices of a permutation of range(n), one teacher per slice", visible=True,
              message="adding one example", source=_assign('''
    n = keys.size
    m = -(-n // num_teachers)
    teacher = np.empty(n, dtype=np.int64)
    teacher[rng.permutation(n)] = np.arange(n) // m
    return teacher
''')),
        Wrong("round-robin key % num_teachers: no random hash", visible=True, message="different seeds", source=_assign('''
    return keys.astype(np.int64) % num_teachers
''')),
        Wrong("draws b before a", visible=True, message="returned", source=_assign('''
    b = rng.integers(0, p)
    a = rng.integers(1, p)
    return (a * keys.astype(np.int64) + b) % p % num_teachers
''')),
        Wrong("forgets the mod p: (a k + b) mod T", visible=True, message="returned", source=_assign('''
    a = rng.integers(1, p)
    b = rng.integers(0, p)
    return (a * keys.astype(np.int64) + b) % num_teachers
''')),
        Wrong("the global np.random instead of rng", visible=True, message="same seed", source=_assign('''
    a = np.random.randint(1, p)
    b = np.random.randint(0, p)
    return (a * keys.astype(np.int64) + b) % p % num_teachers
''')),
        Wrong("a fixed seed of its own: the same hash for every rng", visible=True, message="different seeds", source=_assign('''
    own = np.random.default_rng(0)
    a = own.integers(1, p)
    b = own.integers(0, p)
    return (a * keys.astype(np.int64) + b) % p % num_teachers
''')),
        Wrong("computes in float: a k loses precision beyond 2**53", visible=True, message="dtype", source=_assign('''
    a = rng.integers(1, p)
    b = rng.integers(0, p)
    return (a * keys.astype(float) + b) % p % num_teachers
''')),
        Wrong("Python ints times int32 keys: silent int32 overflow", source=_assign('''
    a = int(rng.integers(1, p))
    b = int(rng.integers(0, p))
    return ((a * keys + b) % p % num_teachers).astype(np.int64)
''')),
        Wrong("no validation of the key range (a negative key gets a teacher)", visible=True,
              message="expected it to raise", source='''
def assign_teachers(keys, *, num_teachers, rng):
    p = 2**31 - 1
    keys = np.asarray(keys)
    if keys.ndim != 1:
        raise ValueError("keys must be 1-D")
    if num_teachers < 1:
        raise ValueError("num_teachers must be >= 1")
    a = rng.integers(1, p)
    b = rng.integers(0, p)
    return (a * keys.astype(np.int64) + b) % p % num_teachers
'''),
        Wrong("returns the shards (a list of index arrays) instead of the teacher of each example", visible=True,
              message="numpy array", source=_assign('''
    a = rng.integers(1, p)
    b = rng.integers(0, p)
    teacher = (a * keys.astype(np.int64) + b) % p % num_teachers
    return [np.flatnonzero(teacher == t) for t in range(num_teachers)]
''')),
        Wrong("hashes each example's position instead of its key", visible=True, message="returned",
              source=_assign('''
    a = rng.integers(1, p)
    b = rng.integers(0, p)
    return (a * np.arange(keys.size, dtype=np.int64) + b) % p % num_teachers
''')),
    ],
    "vote-counts": [
        Wrong("one-hot rows np.eye(K)[preds], checking only labels >= K: a label -1 counts as class K-1", visible=True,
              message="expected it to raise", source='''
def vote_counts(teacher_preds, *, num_classes):
    preds = np.asarray(teacher_preds)
    if preds.ndim != 2:
        raise ValueError("teacher_preds must be 2-D")
    if preds.max() >= num_classes:
        raise ValueError("label out of range")
    return np.eye(num_classes, dtype=np.int64)[preds].sum(axis=0)
'''),
        Wrong("counts per teacher (rows) instead of per query (columns)", visible=True, message="returned", source='''
def vote_counts(teacher_preds, *, num_classes):
    preds = np.asarray(teacher_preds)
    if preds.ndim != 2:
        raise ValueError("teacher_preds must be 2-D")
    if preds.size and (preds.min() < 0 or preds.max() >= num_classes):
        raise ValueError("label out of range")
    return np.stack([np.bincount(row, minlength=num_classes) for row in preds])
'''),
        Wrong("reshapes instead of transposing (the view mistake)", visible=True, message="returned", source='''
def vote_counts(teacher_preds, *, num_classes):
    preds = np.asarray(teacher_preds)
    if preds.ndim != 2:
        raise ValueError("teacher_preds must be 2-D")
    if preds.size and (preds.min() < 0 or preds.max() >= num_classes):
        raise ValueError("label out of range")
    by_query = preds.reshape(preds.shape[1], preds.shape[0])
    return np.stack([np.bincount(row, minlength=num_classes) for row in by_query])
'''),
        Wrong("sizes the table with len(set(labels)) instead of num_classes", visible=True, message="shape", source='''
def vote_counts(teacher_preds, *, num_classes):
    preds = np.asarray(teacher_preds)
    if preds.ndim != 2:
        raise ValueError("teacher_preds must be 2-D")
    if preds.size and (preds.min() < 0 or preds.max() >= num_classes):
        raise ValueError("label out of range")
    k = len(set(preds.ravel().tolist()))
    out = np.zeros((preds.shape[1], k), dtype=np.int64)
    for t in range(preds.shape[0]):
        for i in range(preds.shape[1]):
            out[i, min(preds[t, i], k - 1)] += 1
    return out
'''),
        Wrong("np.bincount without minlength (rows of different lengths)", visible=True, message="raised", source='''
def vote_counts(teacher_preds, *, num_classes):
    preds = np.asarray(teacher_preds)
    if preds.ndim != 2:
        raise ValueError("teacher_preds must be 2-D")
    if preds.size and (preds.min() < 0 or preds.max() >= num_classes):
        raise ValueError("label out of range")
    return np.stack([np.bincount(preds[:, i]) for i in range(preds.shape[1])])
'''),
        Wrong("float counts from np.zeros", visible=True, message="integers", source='''
def vote_counts(teacher_preds, *, num_classes):
    preds = np.asarray(teacher_preds)
    if preds.ndim != 2:
        raise ValueError("teacher_preds must be 2-D")
    if preds.size and (preds.min() < 0 or preds.max() >= num_classes):
        raise ValueError("label out of range")
    out = np.zeros((preds.shape[1], num_classes))
    for i in range(preds.shape[1]):
        out[i] = np.bincount(preds[:, i], minlength=num_classes)
    return out
'''),
        Wrong("no check of the label range (a label >= num_classes adds a column)", visible=True,
              message="by accident", source='''
def vote_counts(teacher_preds, *, num_classes):
    preds = np.asarray(teacher_preds)
    if preds.ndim != 2:
        raise ValueError("teacher_preds must be 2-D")
    return np.stack([np.bincount(preds[:, i], minlength=num_classes) for i in range(preds.shape[1])])
'''),
        Wrong("no check that teacher_preds is 2-D (fails by accident)", visible=True, message="expected ValueError",
              source='''
def vote_counts(teacher_preds, *, num_classes):
    preds = np.asarray(teacher_preds)
    if preds.size and (preds.min() < 0 or preds.max() >= num_classes):
        raise ValueError("label out of range")
    return np.stack([np.bincount(preds[:, i], minlength=num_classes) for i in range(preds.shape[1])])
'''),
        Wrong("one-hot sum over the wrong axis", visible=True, message="returned", source='''
def vote_counts(teacher_preds, *, num_classes):
    preds = np.asarray(teacher_preds)
    if preds.ndim != 2:
        raise ValueError("teacher_preds must be 2-D")
    if preds.size and (preds.min() < 0 or preds.max() >= num_classes):
        raise ValueError("label out of range")
    one_hot = np.eye(num_classes, dtype=np.int64)[preds]  # (T, Q, K)
    return one_hot.sum(axis=1)
'''),
    ],
    "laplace-noisy-argmax": [
        Wrong("Laplace scale gamma instead of 1/gamma", visible=True, message="returned", source='''
def laplace_noisy_argmax(counts, *, gamma, rng):
    if not gamma > 0:
        raise ValueError("gamma must be > 0")
    counts = np.asarray(counts, dtype=float)
    winner = np.argmax(counts + rng.laplace(0.0, gamma, size=counts.shape), axis=-1)
    return int(winner) if counts.ndim == 1 else winner
'''),
        Wrong("the global np.random instead of rng", visible=True, message="returned", source='''
def laplace_noisy_argmax(counts, *, gamma, rng):
    if not gamma > 0:
        raise ValueError("gamma must be > 0")
    counts = np.asarray(counts, dtype=float)
    winner = np.argmax(counts + np.random.laplace(0.0, 1 / gamma, size=counts.shape), axis=-1)
    return int(winner) if counts.ndim == 1 else winner
'''),
        Wrong("one noise value for the whole array (size= forgotten)", visible=True, message="returned", source='''
def laplace_noisy_argmax(counts, *, gamma, rng):
    if not gamma > 0:
        raise ValueError("gamma must be > 0")
    counts = np.asarray(counts, dtype=float)
    winner = np.argmax(counts + rng.laplace(0.0, 1 / gamma), axis=-1)
    return int(winner) if counts.ndim == 1 else winner
'''),
        Wrong("argmax over the queries (axis 0)", visible=True, message="returned", source='''
def laplace_noisy_argmax(counts, *, gamma, rng):
    if not gamma > 0:
        raise ValueError("gamma must be > 0")
    counts = np.asarray(counts, dtype=float)
    winner = np.argmax(counts + rng.laplace(0.0, 1 / gamma, size=counts.shape), axis=0)
    return int(winner) if counts.ndim == 1 else winner
'''),
        Wrong("Gaussian noise of std 1/gamma instead of Laplace", visible=True, message="returned", source='''
def laplace_noisy_argmax(counts, *, gamma, rng):
    if not gamma > 0:
        raise ValueError("gamma must be > 0")
    counts = np.asarray(counts, dtype=float)
    winner = np.argmax(counts + rng.normal(0.0, 1 / gamma, size=counts.shape), axis=-1)
    return int(winner) if counts.ndim == 1 else winner
'''),
        Wrong("scale 1/(2 gamma): calibrates to the per-answer epsilon 2 gamma with sensitivity 1", source='''
def laplace_noisy_argmax(counts, *, gamma, rng):
    if not gamma > 0:
        raise ValueError("gamma must be > 0")
    counts = np.asarray(counts, dtype=float)
    winner = np.argmax(counts + rng.laplace(0.0, 1 / (2 * gamma), size=counts.shape), axis=-1)
    return int(winner) if counts.ndim == 1 else winner
'''),
        Wrong("no validation of gamma", visible=True, message="expected it to raise", source='''
def laplace_noisy_argmax(counts, *, gamma, rng):
    counts = np.asarray(counts, dtype=float)
    winner = np.argmax(counts + rng.laplace(0.0, 1 / abs(gamma) if gamma else 1.0, size=counts.shape), axis=-1)
    return int(winner) if counts.ndim == 1 else winner
'''),
        Wrong("delegates to a sibling: lesson 03's H.laplace_mechanism", visible=True, message="course function",
              source='''
def laplace_noisy_argmax(counts, *, gamma, rng):
    if not gamma > 0:
        raise ValueError("gamma must be > 0")
    counts = np.asarray(counts, dtype=float)
    winner = np.argmax(H.laplace_mechanism(counts, sensitivity=1.0, epsilon=gamma, rng=rng), axis=-1)
    return int(winner) if counts.ndim == 1 else winner
'''),
        Wrong("a fixed seed of its own for the noise", visible=True, message="returned", source='''
def laplace_noisy_argmax(counts, *, gamma, rng):
    if not gamma > 0:
        raise ValueError("gamma must be > 0")
    counts = np.asarray(counts, dtype=float)
    noise = np.random.default_rng(42).laplace(0.0, 1 / gamma, size=counts.shape)
    winner = np.argmax(counts + noise, axis=-1)
    return int(winner) if counts.ndim == 1 else winner
'''),
    ],
    "log-moment": [
        Wrong("epsilon0 = gamma instead of 2 gamma", visible=True, message="returned", source='''
def data_independent_log_moment(l, *, gamma):
    if not l > 0 or not gamma > 0:
        raise ValueError("l and gamma must be > 0")
    eps0 = gamma
    return min(0.5 * eps0 ** 2 * l * (l + 1), eps0 * l)
'''),
        Wrong("only the first term: no min with eps0 * l", visible=True, message="returned", source='''
def data_independent_log_moment(l, *, gamma):
    if not l > 0 or not gamma > 0:
        raise ValueError("l and gamma must be > 0")
    eps0 = 2 * gamma
    return 0.5 * eps0 ** 2 * l * (l + 1)
'''),
        Wrong("max instead of min", visible=True, message="returned", source='''
def data_independent_log_moment(l, *, gamma):
    if not l > 0 or not gamma > 0:
        raise ValueError("l and gamma must be > 0")
    eps0 = 2 * gamma
    return max(0.5 * eps0 ** 2 * l * (l + 1), eps0 * l)
'''),
        Wrong("l (l - 1) instead of l (l + 1)", visible=True, message="returned", source='''
def data_independent_log_moment(l, *, gamma):
    if not l > 0 or not gamma > 0:
        raise ValueError("l and gamma must be > 0")
    eps0 = 2 * gamma
    return min(0.5 * eps0 ** 2 * l * (l - 1), eps0 * l)
'''),
        Wrong("forgets the factor 1/2", visible=True, message="returned", source='''
def data_independent_log_moment(l, *, gamma):
    if not l > 0 or not gamma > 0:
        raise ValueError("l and gamma must be > 0")
    eps0 = 2 * gamma
    return min(eps0 ** 2 * l * (l + 1), eps0 * l)
'''),
        Wrong("no validation of l", visible=True, message="expected it to raise", source='''
def data_independent_log_moment(l, *, gamma):
    if not gamma > 0:
        raise ValueError("gamma must be > 0")
    eps0 = 2 * gamma
    return min(0.5 * eps0 ** 2 * l * (l + 1), eps0 * l)
'''),
        Wrong("delegates to a sibling: H.pate.log_moment_bound with q = 1 (its data-independent branch)",
              visible=True, message="course function", source='''
def data_independent_log_moment(l, *, gamma):
    if not l > 0 or not gamma > 0:
        raise ValueError("l and gamma must be > 0")
    return float(H.pate.log_moment_bound(1.0, l, gamma=gamma))
'''),
        Wrong("rounds l to an integer first", source='''
def data_independent_log_moment(l, *, gamma):
    if not l > 0 or not gamma > 0:
        raise ValueError("l and gamma must be > 0")
    l = max(1, round(l))
    eps0 = 2 * gamma
    return min(0.5 * eps0 ** 2 * l * (l + 1), eps0 * l)
'''),
    ],
    "independent-epsilon": [
        Wrong("basic composition: T * 2 gamma", visible=True, message="returned", source='''
def data_independent_epsilon(num_queries, *, gamma, delta, moments=8):
    if not 0 < delta < 1 or not gamma > 0:
        raise ValueError("bad delta or gamma")
    return float(num_queries * 2 * gamma)
'''),
        Wrong("max over l instead of min", visible=True, message="returned", source='''
def data_independent_epsilon(num_queries, *, gamma, delta, moments=8):
    if not 0 < delta < 1 or not gamma > 0:
        raise ValueError("bad delta or gamma")
    return float(max((num_queries * min(2 * gamma**2 * l * (l + 1), 2 * gamma * l) + np.log(1 / delta)) / l
                     for l in range(1, moments + 1)))
'''),
        Wrong("off by one: orders 1 .. moments - 1", visible=True, message="returned", source='''
def data_independent_epsilon(num_queries, *, gamma, delta, moments=8):
    if not 0 < delta < 1 or not gamma > 0:
        raise ValueError("bad delta or gamma")
    return float(min((num_queries * min(2 * gamma**2 * l * (l + 1), 2 * gamma * l) + np.log(1 / delta)) / l
                     for l in range(1, max(moments, 2))))
'''),
        Wrong("+ ln(delta) instead of + ln(1/delta)", visible=True, message="returned", source='''
def data_independent_epsilon(num_queries, *, gamma, delta, moments=8):
    if not 0 < delta < 1 or not gamma > 0:
        raise ValueError("bad delta or gamma")
    return float(min((num_queries * min(2 * gamma**2 * l * (l + 1), 2 * gamma * l) + np.log(delta)) / l
                     for l in range(1, moments + 1)))
'''),
        Wrong("forgets to multiply the log moment by the number of queries", visible=True, message="returned", source='''
def data_independent_epsilon(num_queries, *, gamma, delta, moments=8):
    if not 0 < delta < 1 or not gamma > 0:
        raise ValueError("bad delta or gamma")
    return float(min((min(2 * gamma**2 * l * (l + 1), 2 * gamma * l) + np.log(1 / delta)) / l
                     for l in range(1, moments + 1)))
'''),
        Wrong("sqrt(T) instead of T (advanced-composition reflex)", visible=True, message="returned", source='''
def data_independent_epsilon(num_queries, *, gamma, delta, moments=8):
    if not 0 < delta < 1 or not gamma > 0:
        raise ValueError("bad delta or gamma")
    return float(min((np.sqrt(num_queries) * min(2 * gamma**2 * l * (l + 1), 2 * gamma * l) + np.log(1 / delta)) / l
                     for l in range(1, moments + 1)))
'''),
        Wrong("no validation of delta (1/0 fails by accident)", visible=True, message="expected ValueError", source='''
def data_independent_epsilon(num_queries, *, gamma, delta, moments=8):
    with np.errstate(divide="ignore"):
        return float(min((num_queries * min(2 * gamma**2 * l * (l + 1), 2 * gamma * l) + np.log(1 / delta)) / l
                         for l in range(1, moments + 1)))
'''),
        Wrong("delegates to a sibling: H.pate.perform_analysis's data-independent value", visible=True,
              message="course function", source='''
def data_independent_epsilon(num_queries, *, gamma, delta, moments=8):
    if not 0 < delta < 1 or not gamma > 0:
        raise ValueError("bad delta or gamma")
    preds = np.zeros((2, num_queries), dtype=int)
    return float(H.pate.perform_analysis(preds, preds[0], gamma, delta=delta, moments=moments)[1])
'''),
        Wrong("validates delta but not gamma (the text asks for both): gamma = 0 returns a number", visible=True,
              message="expected", source='''
def data_independent_epsilon(num_queries, *, gamma, delta, moments=8):
    if not 0 < delta < 1:
        raise ValueError("delta must be in (0, 1)")
    ls = np.arange(1, moments + 1)
    alphas = np.minimum(2 * gamma ** 2 * ls * (ls + 1), 2 * gamma * ls)
    return float(np.min((num_queries * alphas + np.log(1 / delta)) / ls))
'''),
        Wrong("uses the moment order l = moments only (no minimum)", source='''
def data_independent_epsilon(num_queries, *, gamma, delta, moments=8):
    if not 0 < delta < 1 or not gamma > 0:
        raise ValueError("bad delta or gamma")
    l = moments
    return float((num_queries * min(2 * gamma**2 * l * (l + 1), 2 * gamma * l) + np.log(1 / delta)) / l)
'''),
    ],
    "gnmax-q": [
        Wrong("K = the number of classes that received a vote: the cap is too low when a class has no vote",
              visible=True, message="gnmax_q_bound([5, 5, 0], sigma=50)", source='''
def gnmax_q_bound(counts, *, sigma):
    if not sigma > 0:
        raise ValueError("sigma must be > 0")
    counts = np.asarray(counts, dtype=float)
    top = np.argmax(counts)
    q = np.sum(0.5 * special.erfc((counts[top] - np.delete(counts, top)) / (2 * sigma)))
    return float(min(q, 1 - 1 / np.count_nonzero(counts)))
'''),
        Wrong("erfc(gap / sigma): forgets that two noisy counts differ by N(0, 2 sigma^2)", visible=True,
              message="returned", source='''
def gnmax_q_bound(counts, *, sigma):
    if not sigma > 0:
        raise ValueError("sigma must be > 0")
    counts = np.asarray(counts, dtype=float)
    top = np.argmax(counts)
    q = np.sum(0.5 * special.erfc((counts[top] - np.delete(counts, top)) / sigma))
    return float(min(q, 1 - 1 / len(counts)))
'''),
        Wrong("Pr[N(0, sigma^2) > gap]: one noisy count instead of the difference of two", visible=True,
              message="returned", source='''
def gnmax_q_bound(counts, *, sigma):
    if not sigma > 0:
        raise ValueError("sigma must be > 0")
    counts = np.asarray(counts, dtype=float)
    top = np.argmax(counts)
    q = np.sum(0.5 * special.erfc((counts[top] - np.delete(counts, top)) / (np.sqrt(2) * sigma)))
    return float(min(q, 1 - 1 / len(counts)))
'''),
        Wrong("no cap at 1 - 1/K", visible=True, message="returned", source='''
def gnmax_q_bound(counts, *, sigma):
    if not sigma > 0:
        raise ValueError("sigma must be > 0")
    counts = np.asarray(counts, dtype=float)
    top = np.argmax(counts)
    return float(np.sum(0.5 * special.erfc((counts[top] - np.delete(counts, top)) / (2 * sigma))))
'''),
        Wrong("sums over every class, the plurality class included", visible=True, message="returned", source='''
def gnmax_q_bound(counts, *, sigma):
    if not sigma > 0:
        raise ValueError("sigma must be > 0")
    counts = np.asarray(counts, dtype=float)
    q = np.sum(0.5 * special.erfc((counts.max() - counts) / (2 * sigma)))
    return float(min(q, 1 - 1 / len(counts)))
'''),
        Wrong("only the runner-up class", visible=True, message="gnmax_q_bound", source='''
def gnmax_q_bound(counts, *, sigma):
    if not sigma > 0:
        raise ValueError("sigma must be > 0")
    counts = np.sort(np.asarray(counts, dtype=float))
    q = 0.5 * special.erfc((counts[-1] - counts[-2]) / (2 * sigma))
    return float(min(q, 1 - 1 / len(counts)))
'''),
        Wrong("forgets the factor 1/2", visible=True, message="returned", source='''
def gnmax_q_bound(counts, *, sigma):
    if not sigma > 0:
        raise ValueError("sigma must be > 0")
    counts = np.asarray(counts, dtype=float)
    top = np.argmax(counts)
    q = np.sum(special.erfc((counts[top] - np.delete(counts, top)) / (2 * sigma)))
    return float(min(q, 1 - 1 / len(counts)))
'''),
        Wrong("delegates to a sibling: exp(H.pate.gnmax_log_q(...)) (the issue's example)", visible=True,
              message="course function", source='''
def gnmax_q_bound(counts, *, sigma):
    if not sigma > 0:
        raise ValueError("sigma must be > 0")
    return float(np.exp(H.pate.gnmax_log_q(np.asarray(counts, dtype=float), sigma=sigma)))
'''),
        Wrong("no validation of sigma", visible=True, message="expected it to raise", source='''
def gnmax_q_bound(counts, *, sigma):
    counts = np.asarray(counts, dtype=float)
    top = np.argmax(counts)
    q = np.sum(0.5 * special.erfc((counts[top] - np.delete(counts, top)) / (2 * abs(sigma) + 1e-300)))
    return float(min(q, 1 - 1 / len(counts)))
'''),
        Wrong("integer gaps with an int32 cast: large sigma rounds the gap / (2 sigma) to 0", source='''
def gnmax_q_bound(counts, *, sigma):
    if not sigma > 0:
        raise ValueError("sigma must be > 0")
    counts = np.asarray(counts)
    top = np.argmax(counts)
    z = ((counts[top] - np.delete(counts, top)) // (2 * sigma)).astype(np.int32)
    q = np.sum(0.5 * special.erfc(z))
    return float(min(q, 1 - 1 / len(counts)))
'''),
    ],
}

RIGHT = {
    "assign-teachers": [
        Right("a Python loop over the keys, validation in another order", '''
def assign_teachers(keys, *, num_teachers, rng):
    if isinstance(num_teachers, bool) or not isinstance(num_teachers, (int, np.integer)) or num_teachers < 1:
        raise ValueError("num_teachers must be an integer >= 1")
    keys = np.asarray(keys)
    if keys.ndim != 1 or len(keys) == 0:
        raise ValueError("keys must be a non-empty 1-D array")
    if not np.issubdtype(keys.dtype, np.integer):
        raise ValueError("keys must be integers")
    p = 2**31 - 1
    if np.any(keys < 0) or np.any(keys > p - 1):
        raise ValueError("keys must be in 0 .. p - 1")
    a = int(rng.integers(1, p))
    b = int(rng.integers(0, p))
    return np.array([((a * int(k) + b) % p) % num_teachers for k in keys], dtype=np.int64)
'''),
    ],
    "vote-counts": [
        Right("a double loop over teachers and queries", '''
def vote_counts(teacher_preds, *, num_classes):
    preds = np.asarray(teacher_preds)
    if preds.ndim != 2:
        raise ValueError("teacher_preds must have shape (num_teachers, num_queries)")
    if np.any(preds < 0) or np.any(preds >= num_classes):
        raise ValueError("a label is outside 0 .. num_classes - 1")
    counts = np.zeros((preds.shape[1], num_classes), dtype=int)
    for t in range(preds.shape[0]):
        for i in range(preds.shape[1]):
            counts[i, preds[t, i]] += 1
    return counts
'''),
        Right("one-hot sum over the teachers", '''
def vote_counts(teacher_preds, *, num_classes):
    preds = np.asarray(teacher_preds)
    if preds.ndim != 2:
        raise ValueError("teacher_preds must be 2-D")
    if preds.size and (preds.min() < 0 or preds.max() >= num_classes):
        raise ValueError("label out of range")
    return np.eye(num_classes, dtype=np.int64)[preds].sum(axis=0)
'''),
    ],
    "laplace-noisy-argmax": [
        Right("noise drawn query by query (the same stream as one call)", '''
def laplace_noisy_argmax(counts, *, gamma, rng):
    if gamma <= 0:
        raise ValueError("gamma must be positive")
    counts = np.asarray(counts, dtype=float)
    if counts.ndim == 1:
        return int(np.argmax(counts + rng.laplace(0.0, 1.0 / gamma, size=counts.shape)))
    return np.array([np.argmax(row + rng.laplace(0.0, 1.0 / gamma, size=row.shape)) for row in counts])
'''),
    ],
    "log-moment": [
        Right("vectorised with np.minimum, validating l and gamma as the text says", '''
def data_independent_log_moment(l, *, gamma):
    if not (gamma > 0 and l > 0):
        raise ValueError("l and gamma must be > 0")
    eps0 = 2 * gamma
    return float(np.minimum(0.5 * eps0 ** 2 * l * (l + 1), eps0 * l))
'''),
        Right("the two terms written out with gamma", '''
def data_independent_log_moment(l, *, gamma):
    if gamma <= 0:
        raise ValueError("gamma must be > 0")
    if l <= 0:
        raise ValueError("l must be > 0")
    return float(min(2 * gamma * gamma * l * (l + 1), 2 * gamma * l))
'''),
    ],
    "independent-epsilon": [
        Right("fully vectorised over the orders, validating delta and gamma as the text says", '''
def data_independent_epsilon(num_queries, *, gamma, delta, moments=8):
    if not (0 < delta < 1):
        raise ValueError("delta must be in (0, 1)")
    if gamma <= 0:
        raise ValueError("gamma must be > 0")
    ls = np.arange(1, moments + 1, dtype=float)
    alphas = np.minimum(2 * gamma ** 2 * ls * (ls + 1), 2 * gamma * ls)
    return float(np.min((num_queries * alphas + np.log(1 / delta)) / ls))
'''),
        Right("calls the course's version of Exercise 4, vectorised over l", '''
def data_independent_epsilon(num_queries, *, gamma, delta, moments=8):
    if not 0 < delta < 1:
        raise ValueError("delta must be in (0, 1)")
    ls = np.arange(1, moments + 1)
    alphas = np.array([H.pate.data_independent_log_moment(l, gamma=gamma) for l in ls])
    return float(np.min((num_queries * alphas + np.log(1 / delta)) / ls))
'''),
    ],
    "gnmax-q": [
        Right("vectorised with math.erfc through np.vectorize, sigma validated first", '''
def gnmax_q_bound(counts, *, sigma):
    if sigma <= 0:
        raise ValueError("sigma must be > 0")
    counts = np.asarray(counts, dtype=float)
    top = int(np.argmax(counts))
    gaps = counts[top] - np.delete(counts, top)
    q = float(np.sum(0.5 * np.vectorize(math.erfc)(gaps / (2 * sigma))))
    return min(q, 1.0 - 1.0 / counts.size)
'''),
        Right("a loop with scipy.stats.norm.sf of the gap over sqrt(2) sigma", '''
def gnmax_q_bound(counts, *, sigma):
    from scipy import stats
    if sigma <= 0:
        raise ValueError("sigma must be > 0")
    counts = np.asarray(counts, dtype=float)
    top = int(np.argmax(counts))
    q = 0.0
    for i, c in enumerate(counts):
        if i != top:
            q += stats.norm.sf((counts[top] - c) / (np.sqrt(2) * sigma))
    return float(min(q, 1 - 1 / len(counts)))
'''),
    ],
}
