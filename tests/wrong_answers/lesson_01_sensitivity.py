"""Lesson 01: wrong answers students write, and other right ones."""
from wrong_answers import Right, Wrong

WRONG = {
    "remove-one-neighbours": [
        Wrong("a loop that stops one row early", visible=True, message="shape", source='''
            def remove_one_neighbours(db):
                db = np.asarray(db)
                if db.ndim != 1 or db.size == 0:
                    raise ValueError("db must be a non-empty 1-D array")
                return np.array([np.delete(db, i) for i in range(db.size - 1)])
        '''),
        Wrong("a list of arrays instead of one array", visible=True, message="numpy array", source='''
            def remove_one_neighbours(db):
                db = np.asarray(db)
                if db.ndim != 1 or db.size == 0:
                    raise ValueError("db must be a non-empty 1-D array")
                return [np.delete(db, i) for i in range(db.size)]
        '''),
        Wrong("changes the dtype to float", visible=True, message="dtype", source='''
            def remove_one_neighbours(db):
                db = np.asarray(db, dtype=float)
                if db.ndim != 1 or db.size == 0:
                    raise ValueError("db must be a non-empty 1-D array")
                n = db.size
                return np.broadcast_to(db, (n, n))[~np.eye(n, dtype=bool)].reshape(n, n - 1)
        '''),
        Wrong("no validation: numpy raises ValueError only by accident", visible=True, message="by accident", source='''
            def remove_one_neighbours(db):
                db = np.asarray(db)
                n = db.size
                return np.broadcast_to(db, (n, n))[~np.eye(n, dtype=bool)].reshape(n, n - 1)
        '''),
        Wrong("sets entry i to 0 instead of removing it", visible=True, message="shape", source='''
            def remove_one_neighbours(db):
                db = np.asarray(db)
                if db.ndim != 1 or db.size == 0:
                    raise ValueError("db must be a non-empty 1-D array")
                return np.where(np.eye(db.size, dtype=bool), 0, db)
        '''),
        Wrong("transposes the copies: row i repeats entry i", visible=True, message="differ", source='''
            def remove_one_neighbours(db):
                db = np.asarray(db)
                if db.ndim != 1 or db.size == 0:
                    raise ValueError("db must be a non-empty 1-D array")
                n = db.size
                return np.broadcast_to(db, (n, n)).T[~np.eye(n, dtype=bool)].reshape(n, n - 1)
        '''),
        Wrong("a boolean mask left in the result (db * mask)", source='''
            def remove_one_neighbours(db):
                db = np.asarray(db)
                if db.ndim != 1 or db.size == 0:
                    raise ValueError("db must be a non-empty 1-D array")
                n = db.size
                keep = ~np.eye(n, dtype=bool)
                return (np.broadcast_to(db, (n, n)) * keep)[:, 1:]
        '''),
    ],
    "empirical-sensitivity": [
        Wrong("the loop skips the last neighbour", visible=True, message="returned", source='''
            def empirical_sensitivity(query, db, *, neighbours="remove", norm=1):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("neighbours must be 'remove' or 'replace'")
                if norm not in (1, 2, np.inf):
                    raise ValueError("norm must be 1, 2 or np.inf")
                db = np.asarray(db)
                rows = H.remove_one_neighbours(db) if neighbours == "remove" else H.replace_one_neighbours(db)
                base = np.asarray(query(db), dtype=float)
                best = 0.0
                for row in rows[:-1]:
                    best = max(best, float(np.linalg.norm(np.atleast_1d(base - np.asarray(query(row), dtype=float)), ord=norm)))
                return best
        '''),
        Wrong("always the L1 norm, whatever norm= says", visible=True, message="returned", source='''
            def empirical_sensitivity(query, db, *, neighbours="remove", norm=1):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("neighbours must be 'remove' or 'replace'")
                if norm not in (1, 2, np.inf):
                    raise ValueError("norm must be 1, 2 or np.inf")
                db = np.asarray(db)
                rows = H.remove_one_neighbours(db) if neighbours == "remove" else H.replace_one_neighbours(db)
                base = np.asarray(query(db), dtype=float)
                return float(max(np.abs(base - np.asarray(query(r), dtype=float)).sum() for r in rows))
        '''),
        Wrong("ignores neighbours= (always remove-one)", visible=True, message="returned", source='''
            def empirical_sensitivity(query, db, *, neighbours="remove", norm=1):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("neighbours must be 'remove' or 'replace'")
                if norm not in (1, 2, np.inf):
                    raise ValueError("norm must be 1, 2 or np.inf")
                db = np.asarray(db)
                base = np.asarray(query(db), dtype=float)
                return float(max(np.linalg.norm(np.atleast_1d(base - np.asarray(query(r), dtype=float)), ord=norm)
                                 for r in H.remove_one_neighbours(db)))
        '''),
        Wrong("the global sensitivity of a count instead of the empirical one", visible=True, message="returned", source='''
            def empirical_sensitivity(query, db, *, neighbours="remove", norm=1):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("neighbours must be 'remove' or 'replace'")
                if norm not in (1, 2, np.inf):
                    raise ValueError("norm must be 1, 2 or np.inf")
                return 1.0
        '''),
        Wrong("delegates to a sibling: helpers' l1/l2_sensitivity", visible=True, message="course function", source='''
            def empirical_sensitivity(query, db, *, neighbours="remove", norm=1):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("neighbours must be 'remove' or 'replace'")
                if norm not in (1, 2, np.inf):
                    raise ValueError("norm must be 1, 2 or np.inf")
                db = np.asarray(db)
                rows = H.remove_one_neighbours(db) if neighbours == "remove" else H.replace_one_neighbours(db)
                if norm == 1:
                    return float(H.l1_sensitivity(query, db, rows))
                if norm == 2:
                    return float(H.l2_sensitivity(query, db, rows))
                base = np.asarray(query(db), dtype=float)
                return float(max(np.abs(base - np.asarray(query(r), dtype=float)).max() for r in rows))
        '''),
        Wrong("no validation of neighbours= ('add' is read as replace)", visible=True, message="expected it to raise", source='''
            def empirical_sensitivity(query, db, *, neighbours="remove", norm=1):
                if norm not in (1, 2, np.inf):
                    raise ValueError("norm must be 1, 2 or np.inf")
                db = np.asarray(db)
                rows = H.remove_one_neighbours(db) if neighbours == "remove" else H.replace_one_neighbours(db)
                base = np.asarray(query(db), dtype=float)
                return float(max(np.linalg.norm(np.atleast_1d(base - np.asarray(query(r), dtype=float)), ord=norm)
                                 for r in rows))
        '''),
        Wrong("the change of the first coordinate only (vector queries)", source='''
            def empirical_sensitivity(query, db, *, neighbours="remove", norm=1):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("neighbours must be 'remove' or 'replace'")
                if norm not in (1, 2, np.inf):
                    raise ValueError("norm must be 1, 2 or np.inf")
                db = np.asarray(db)
                rows = H.remove_one_neighbours(db) if neighbours == "remove" else H.replace_one_neighbours(db)
                first = lambda v: float(np.atleast_1d(np.asarray(v, dtype=float))[0])
                return float(max(abs(first(query(db)) - first(query(r))) for r in rows))
        '''),
    ],
    "mean-sensitivity": [
        Wrong("the inverse, n / (upper - lower)", visible=True, message="returned", source='''
            def mean_sensitivity(*, n, lower, upper, neighbours="remove"):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("bad neighbours")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if neighbours == "remove" and n < 2:
                    raise ValueError("n must be >= 2")
                if lower > upper:
                    raise ValueError("lower > upper")
                return float(n / (upper - lower))
        '''),
        Wrong("upper / n: forgets the lower bound", visible=True, message="returned", source='''
            def mean_sensitivity(*, n, lower, upper, neighbours="remove"):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("bad neighbours")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if neighbours == "remove" and n < 2:
                    raise ValueError("n must be >= 2")
                if lower > upper:
                    raise ValueError("lower > upper")
                return float(upper / n)
        '''),
        Wrong("remove-one divides by n - 1 (the neighbour's size)", visible=True, message="returned", source='''
            def mean_sensitivity(*, n, lower, upper, neighbours="remove"):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("bad neighbours")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if neighbours == "remove" and n < 2:
                    raise ValueError("n must be >= 2")
                if lower > upper:
                    raise ValueError("lower > upper")
                return float((upper - lower) / (n - 1 if neighbours == "remove" else n))
        '''),
        Wrong("upper - lower: forgets to divide by n", visible=True, message="returned", source='''
            def mean_sensitivity(*, n, lower, upper, neighbours="remove"):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("bad neighbours")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if neighbours == "remove" and n < 2:
                    raise ValueError("n must be >= 2")
                if lower > upper:
                    raise ValueError("lower > upper")
                return float(upper - lower)
        '''),
        Wrong("no check that remove-one needs n >= 2", visible=True, message="expected it to raise", source='''
            def mean_sensitivity(*, n, lower, upper, neighbours="remove"):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("bad neighbours")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if lower > upper:
                    raise ValueError("lower > upper")
                return float((upper - lower) / n)
        '''),
        Wrong("integer division (upper - lower) // n", source='''
            def mean_sensitivity(*, n, lower, upper, neighbours="remove"):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("bad neighbours")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if neighbours == "remove" and n < 2:
                    raise ValueError("n must be >= 2")
                if lower > upper:
                    raise ValueError("lower > upper")
                return float((upper - lower) // n)
        '''),
        Wrong("accepts a fractional n", source='''
            def mean_sensitivity(*, n, lower, upper, neighbours="remove"):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("bad neighbours")
                if n < 1 or (neighbours == "remove" and n < 2):
                    raise ValueError("n too small")
                if lower > upper:
                    raise ValueError("lower > upper")
                return float((upper - lower) / n)
        '''),
    ],
    "differencing-attack": [
        Wrong("the wrong sign: query(without) - query(db)", visible=True, message="returned", source='''
            def differencing_attack(query, db, *, index):
                db = np.asarray(db)
                if db.ndim != 1 or db.size < 2:
                    raise ValueError("db needs at least 2 rows")
                if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < db.size:
                    raise ValueError("bad index")
                return float(query(np.delete(db, index)) - query(db))
        '''),
        Wrong("off by one: removes row index - 1", visible=True, message="returned", source='''
            def differencing_attack(query, db, *, index):
                db = np.asarray(db)
                if db.ndim != 1 or db.size < 2:
                    raise ValueError("db needs at least 2 rows")
                if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < db.size:
                    raise ValueError("bad index")
                return float(query(db) - query(np.delete(db, index - 1)))
        '''),
        Wrong("peeks at db[index] instead of asking two queries", visible=True, message="returned", source='''
            def differencing_attack(query, db, *, index):
                db = np.asarray(db)
                if db.ndim != 1 or db.size < 2:
                    raise ValueError("db needs at least 2 rows")
                if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < db.size:
                    raise ValueError("bad index")
                return float(db[index])
        '''),
        Wrong("accepts negative indices", visible=True, message="expected it to raise", source='''
            def differencing_attack(query, db, *, index):
                db = np.asarray(db)
                if db.ndim != 1 or db.size < 2:
                    raise ValueError("db needs at least 2 rows")
                if index >= db.size:
                    raise ValueError("bad index")
                return float(query(db) - query(np.delete(db, index)))
        '''),
        Wrong("index == n slips through (> instead of >=)", visible=True, message="IndexError", source='''
            def differencing_attack(query, db, *, index):
                db = np.asarray(db)
                if db.ndim != 1 or db.size < 2:
                    raise ValueError("db needs at least 2 rows")
                if index < 0 or index > db.size:
                    raise ValueError("bad index")
                return float(query(db) - query(np.delete(db, index)))
        '''),
        Wrong("truncates the difference with int()", source='''
            def differencing_attack(query, db, *, index):
                db = np.asarray(db)
                if db.ndim != 1 or db.size < 2:
                    raise ValueError("db needs at least 2 rows")
                if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < db.size:
                    raise ValueError("bad index")
                return int(query(db) - query(np.delete(db, index)))
        '''),
    ],
    "answer-subset-queries": [
        Wrong("draws the noise before the subsets", visible=True, message="differ", source='''
            def answer_subset_queries(db, *, n_queries, noise_bound, rng=None):
                db = np.asarray(db)
                if db.ndim != 1 or db.size == 0 or not np.isin(db, (0, 1)).all():
                    raise ValueError("db must be a 0/1 vector")
                if n_queries < 1 or noise_bound < 0:
                    raise ValueError("bad arguments")
                rng = np.random.default_rng(rng)
                noise = rng.uniform(-noise_bound, noise_bound, size=n_queries)
                queries = rng.integers(0, 2, size=(n_queries, db.size))
                return queries, (queries @ db + noise).astype(np.float64)
        '''),
        Wrong("the global np.random instead of rng", visible=True, message="differ", source='''
            def answer_subset_queries(db, *, n_queries, noise_bound, rng=None):
                db = np.asarray(db)
                if db.ndim != 1 or db.size == 0 or not np.isin(db, (0, 1)).all():
                    raise ValueError("db must be a 0/1 vector")
                if n_queries < 1 or noise_bound < 0:
                    raise ValueError("bad arguments")
                queries = np.random.randint(0, 2, size=(n_queries, db.size))
                noise = np.random.uniform(-noise_bound, noise_bound, size=n_queries)
                return queries, (queries @ db + noise).astype(np.float64)
        '''),
        Wrong("noise Uniform[0, E] instead of [-E, E]", visible=True, message="differ", source='''
            def answer_subset_queries(db, *, n_queries, noise_bound, rng=None):
                db = np.asarray(db)
                if db.ndim != 1 or db.size == 0 or not np.isin(db, (0, 1)).all():
                    raise ValueError("db must be a 0/1 vector")
                if n_queries < 1 or noise_bound < 0:
                    raise ValueError("bad arguments")
                rng = np.random.default_rng(rng)
                queries = rng.integers(0, 2, size=(n_queries, db.size))
                noise = rng.uniform(0, noise_bound, size=n_queries)
                return queries, (queries @ db + noise).astype(np.float64)
        '''),
        Wrong("Gaussian noise of scale noise_bound (unbounded)", visible=True, message="differ", source='''
            def answer_subset_queries(db, *, n_queries, noise_bound, rng=None):
                db = np.asarray(db)
                if db.ndim != 1 or db.size == 0 or not np.isin(db, (0, 1)).all():
                    raise ValueError("db must be a 0/1 vector")
                if n_queries < 1 or noise_bound < 0:
                    raise ValueError("bad arguments")
                rng = np.random.default_rng(rng)
                queries = rng.integers(0, 2, size=(n_queries, db.size))
                noise = rng.normal(0, noise_bound, size=n_queries)
                return queries, (queries @ db + noise).astype(np.float64)
        '''),
        Wrong("rounds the answers to integers", visible=True, message="floats", source='''
            def answer_subset_queries(db, *, n_queries, noise_bound, rng=None):
                db = np.asarray(db)
                if db.ndim != 1 or db.size == 0 or not np.isin(db, (0, 1)).all():
                    raise ValueError("db must be a 0/1 vector")
                if n_queries < 1 or noise_bound < 0:
                    raise ValueError("bad arguments")
                rng = np.random.default_rng(rng)
                queries = rng.integers(0, 2, size=(n_queries, db.size))
                noise = rng.uniform(-noise_bound, noise_bound, size=n_queries)
                return queries, np.round(queries @ db + noise).astype(int)
        '''),
        Wrong("no check that db holds only 0 and 1", visible=True, message="expected it to raise", source='''
            def answer_subset_queries(db, *, n_queries, noise_bound, rng=None):
                db = np.asarray(db)
                if n_queries < 1 or noise_bound < 0:
                    raise ValueError("bad arguments")
                rng = np.random.default_rng(rng)
                queries = rng.integers(0, 2, size=(n_queries, db.size))
                noise = rng.uniform(-noise_bound, noise_bound, size=n_queries)
                return queries, (queries @ db + noise).astype(np.float64)
        '''),
        Wrong("returns (answers, queries)", visible=True, message="position 0", source='''
            def answer_subset_queries(db, *, n_queries, noise_bound, rng=None):
                db = np.asarray(db)
                if db.ndim != 1 or db.size == 0 or not np.isin(db, (0, 1)).all():
                    raise ValueError("db must be a 0/1 vector")
                if n_queries < 1 or noise_bound < 0:
                    raise ValueError("bad arguments")
                rng = np.random.default_rng(rng)
                queries = rng.integers(0, 2, size=(n_queries, db.size))
                noise = rng.uniform(-noise_bound, noise_bound, size=n_queries)
                return (queries @ db + noise).astype(np.float64), queries
        '''),
    ],
    "reconstruct": [
        Wrong("rounds at 0 instead of 1/2", visible=True, message="differ", source='''
            def reconstruct(queries, answers):
                queries = np.asarray(queries, dtype=float)
                answers = np.asarray(answers, dtype=float)
                if queries.ndim != 2 or answers.shape != (queries.shape[0],):
                    raise ValueError("bad shapes")
                z, *_ = np.linalg.lstsq(queries, answers, rcond=None)
                return (z > 0).astype(np.int64)
        '''),
        Wrong("returns booleans", visible=True, message="dtype", source='''
            def reconstruct(queries, answers):
                queries = np.asarray(queries, dtype=float)
                answers = np.asarray(answers, dtype=float)
                if queries.ndim != 2 or answers.shape != (queries.shape[0],):
                    raise ValueError("bad shapes")
                z, *_ = np.linalg.lstsq(queries, answers, rcond=None)
                return z > 0.5
        '''),
        Wrong("returns the unrounded least-squares solution", visible=True, message="dtype", source='''
            def reconstruct(queries, answers):
                queries = np.asarray(queries, dtype=float)
                answers = np.asarray(answers, dtype=float)
                if queries.ndim != 2 or answers.shape != (queries.shape[0],):
                    raise ValueError("bad shapes")
                z, *_ = np.linalg.lstsq(queries, answers, rcond=None)
                return z
        '''),
        Wrong("no validation: lstsq fails only by accident", visible=True, message="by accident", source='''
            def reconstruct(queries, answers):
                z, *_ = np.linalg.lstsq(np.asarray(queries, dtype=float), np.asarray(answers, dtype=float), rcond=None)
                return (z > 0.5).astype(np.int64)
        '''),
        Wrong("np.round instead of a threshold at 1/2 (gives -1 and 2)", source='''
            def reconstruct(queries, answers):
                queries = np.asarray(queries, dtype=float)
                answers = np.asarray(answers, dtype=float)
                if queries.ndim != 2 or answers.shape != (queries.shape[0],):
                    raise ValueError("bad shapes")
                z, *_ = np.linalg.lstsq(queries, answers, rcond=None)
                return np.round(z).astype(np.int64)
        '''),
        Wrong("averages answers per person instead of solving the system", source='''
            def reconstruct(queries, answers):
                queries = np.asarray(queries, dtype=float)
                answers = np.asarray(answers, dtype=float)
                if queries.ndim != 2 or answers.shape != (queries.shape[0],):
                    raise ValueError("bad shapes")
                z = (queries.T @ answers) / np.maximum(queries.sum(axis=0), 1) / (queries.shape[1] / 2)
                return (z > 0.5).astype(np.int64)
        '''),
    ],
}

RIGHT = {
    "remove-one-neighbours": [
        Right("a loop with np.delete", '''
            def remove_one_neighbours(db):
                db = np.asarray(db)
                if db.ndim != 1:
                    raise ValueError("db must be 1-D")
                if len(db) == 0:
                    raise ValueError("db must not be empty")
                return np.array([np.delete(db, i) for i in range(len(db))], dtype=db.dtype).reshape(len(db), len(db) - 1)
        '''),
    ],
    "empirical-sensitivity": [
        Right("builds the neighbours itself with np.delete / a flipped bit", '''
            def empirical_sensitivity(query, db, *, neighbours="remove", norm=1):
                if neighbours not in ("remove", "replace"):
                    raise ValueError(f"unknown neighbours {neighbours!r}")
                if norm not in (1, 2, np.inf):
                    raise ValueError(f"unknown norm {norm!r}")
                db = np.asarray(db)
                base = np.atleast_1d(np.asarray(query(db), dtype=float))
                best = 0.0
                for i in range(len(db)):
                    if neighbours == "remove":
                        other = np.delete(db, i)
                    else:
                        other = db.copy()
                        other[i] = 1 - other[i]
                    change = base - np.atleast_1d(np.asarray(query(other), dtype=float))
                    best = max(best, float(np.linalg.norm(change, ord=norm)))
                return best
        '''),
    ],
    "reconstruct": [
        Right("the normal equations with np.linalg.pinv", '''
            def reconstruct(queries, answers):
                q = np.asarray(queries, dtype=float)
                a = np.asarray(answers, dtype=float)
                if q.ndim != 2:
                    raise ValueError("queries must be 2-D")
                if a.shape != (q.shape[0],):
                    raise ValueError("answers must have shape (m,)")
                return (np.linalg.pinv(q) @ a > 0.5).astype(np.int64)
        '''),
    ],
}
