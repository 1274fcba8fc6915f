"""Lesson 01: wrong answers students write, and other right ones."""
from wrong_answers import Right, Wrong

WRONG = {
    "remove-one-neighbours": [
        Wrong("checks the shape but not emptiness: numpy's reshape raises by accident", visible=True,
              message="by accident", source='''
            def remove_one_neighbours(db):
                db = np.asarray(db)
                if db.ndim != 1:
                    raise ValueError("db must be 1-D")
                n = db.size
                return np.broadcast_to(db, (n, n))[~np.eye(n, dtype=bool)].reshape(n, n - 1)
        '''),
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

        Wrong("raises for a one-person database (thinks a neighbour needs n >= 2)", visible=True,
              message="raised ValueError", source='''
            def remove_one_neighbours(db):
                db = np.asarray(db)
                if db.ndim != 1 or db.size < 2:
                    raise ValueError("db needs at least 2 people")
                n = db.size
                return np.broadcast_to(db, (n, n))[~np.eye(n, dtype=bool)].reshape(n, n - 1)
        '''),
        Wrong("checks only ndim > 1: a single number (0-D) is not rejected", visible=True,
              message="expected it to raise", source='''
            def remove_one_neighbours(db):
                db = np.asarray(db)
                if db.ndim > 1 or db.size == 0:
                    raise ValueError("db must be a non-empty 1-D array")
                n = db.size
                return np.broadcast_to(db, (n, n))[~np.eye(n, dtype=bool)].reshape(n, n - 1)
        '''),
        Wrong("casts to int (np.asarray(db, dtype=int)): float databases are truncated", visible=True,
              message="dtype", source='''
            def remove_one_neighbours(db):
                db = np.asarray(db, dtype=int)
                if db.ndim != 1 or db.size == 0:
                    raise ValueError("db must be a non-empty 1-D array")
                n = db.size
                return np.broadcast_to(db, (n, n))[~np.eye(n, dtype=bool)].reshape(n, n - 1)
        '''),
        Wrong("rows in reverse order: row i drops entry n - 1 - i", visible=True, message="differ", source='''
            def remove_one_neighbours(db):
                db = np.asarray(db)
                if db.ndim != 1 or db.size == 0:
                    raise ValueError("db must be a non-empty 1-D array")
                n = db.size
                return np.broadcast_to(db, (n, n))[~np.eye(n, dtype=bool)[::-1]].reshape(n, n - 1)
        '''),
        Wrong("goes through Python lists: an int32 or uint8 database comes back as int64", source='''
            def remove_one_neighbours(db):
                db = np.asarray(db)
                if db.ndim != 1 or db.size == 0:
                    raise ValueError("db must be a non-empty 1-D array")
                values = db.tolist()
                rows = [values[:i] + values[i + 1:] for i in range(len(values))]
                return np.array(rows, dtype=np.float64 if db.dtype.kind == "f" else np.int64).reshape(len(values), -1)
        '''),
        Wrong("assumes db is already an array: a list has no .ndim", source='''
            def remove_one_neighbours(db):
                if db.ndim != 1 or db.size == 0:
                    raise ValueError("db must be a non-empty 1-D array")
                n = db.size
                return np.broadcast_to(db, (n, n))[~np.eye(n, dtype=bool)].reshape(n, n - 1)
        '''),
        Wrong("delegates to the course version, imported under another name", visible=True,
              message="reference solution", source='''
            from helpers.databases import remove_one_neighbours as _course_version

            def remove_one_neighbours(db):
                return _course_version(db)
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

        Wrong("forgets the absolute value: the largest signed change f(D) - f(D')", visible=True,
              message="returned", source='''
            def empirical_sensitivity(query, db, *, neighbours="remove", norm=1):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("neighbours must be 'remove' or 'replace'")
                if norm not in (1, 2, np.inf):
                    raise ValueError("norm must be 1, 2 or np.inf")
                db = np.asarray(db)
                rows = H.remove_one_neighbours(db) if neighbours == "remove" else H.replace_one_neighbours(db)
                base = np.asarray(query(db), dtype=float)
                changes = [base - np.asarray(query(r), dtype=float) for r in rows]
                if base.ndim == 0:
                    return float(max(changes))
                return float(max(np.linalg.norm(c, ord=norm) for c in changes))
        '''),
        Wrong("swaps the relations: replace-one neighbours for neighbours='remove'", visible=True,
              message="returned", source='''
            def empirical_sensitivity(query, db, *, neighbours="remove", norm=1):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("neighbours must be 'remove' or 'replace'")
                if norm not in (1, 2, np.inf):
                    raise ValueError("norm must be 1, 2 or np.inf")
                db = np.asarray(db)
                rows = H.replace_one_neighbours(db) if neighbours == "remove" else H.remove_one_neighbours(db)
                base = np.asarray(query(db), dtype=float)
                return float(max(np.linalg.norm(np.atleast_1d(base - np.asarray(query(r), dtype=float)), ord=norm)
                                 for r in rows))
        '''),
        Wrong("replace-one sets person i's bit to 0 instead of flipping it", visible=True, message="returned", source='''
            def empirical_sensitivity(query, db, *, neighbours="remove", norm=1):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("neighbours must be 'remove' or 'replace'")
                if norm not in (1, 2, np.inf):
                    raise ValueError("norm must be 1, 2 or np.inf")
                db = np.asarray(db)
                base = np.atleast_1d(np.asarray(query(db), dtype=float))
                best = 0.0
                for i in range(len(db)):
                    if neighbours == "remove":
                        other = np.delete(db, i)
                    else:
                        other = db.copy()
                        other[i] = 0
                    best = max(best, float(np.linalg.norm(base - np.atleast_1d(np.asarray(query(other), dtype=float)), ord=norm)))
                return best
        '''),
        Wrong("replace-one sets person i's bit to 1 instead of flipping it", visible=True, message="returned", source='''
            def empirical_sensitivity(query, db, *, neighbours="remove", norm=1):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("neighbours must be 'remove' or 'replace'")
                if norm not in (1, 2, np.inf):
                    raise ValueError("norm must be 1, 2 or np.inf")
                db = np.asarray(db)
                base = np.atleast_1d(np.asarray(query(db), dtype=float))
                best = 0.0
                for i in range(len(db)):
                    if neighbours == "remove":
                        other = np.delete(db, i)
                    else:
                        other = db.copy()
                        other[i] = 1
                    best = max(best, float(np.linalg.norm(base - np.atleast_1d(np.asarray(query(other), dtype=float)), ord=norm)))
                return best
        '''),
        Wrong("the loop skips the first neighbour (range(1, n))", visible=True, message="returned", source='''
            def empirical_sensitivity(query, db, *, neighbours="remove", norm=1):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("neighbours must be 'remove' or 'replace'")
                if norm not in (1, 2, np.inf):
                    raise ValueError("norm must be 1, 2 or np.inf")
                db = np.asarray(db)
                rows = H.remove_one_neighbours(db) if neighbours == "remove" else H.replace_one_neighbours(db)
                base = np.atleast_1d(np.asarray(query(db), dtype=float))
                best = 0.0
                for i in range(1, len(rows)):
                    best = max(best, float(np.linalg.norm(base - np.atleast_1d(np.asarray(query(rows[i]), dtype=float)), ord=norm)))
                return best
        '''),
        Wrong("the spread of the neighbours' answers (max - min) instead of the change from f(D)", visible=True,
              message="returned", source='''
            def empirical_sensitivity(query, db, *, neighbours="remove", norm=1):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("neighbours must be 'remove' or 'replace'")
                if norm not in (1, 2, np.inf):
                    raise ValueError("norm must be 1, 2 or np.inf")
                db = np.asarray(db)
                rows = H.remove_one_neighbours(db) if neighbours == "remove" else H.replace_one_neighbours(db)
                values = np.array([np.atleast_1d(np.asarray(query(r), dtype=float)) for r in rows])
                return float(np.linalg.norm(values.max(axis=0) - values.min(axis=0), ord=norm))
        '''),
        Wrong("the average change over the neighbours instead of the largest", visible=True, message="returned", source='''
            def empirical_sensitivity(query, db, *, neighbours="remove", norm=1):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("neighbours must be 'remove' or 'replace'")
                if norm not in (1, 2, np.inf):
                    raise ValueError("norm must be 1, 2 or np.inf")
                db = np.asarray(db)
                rows = H.remove_one_neighbours(db) if neighbours == "remove" else H.replace_one_neighbours(db)
                base = np.atleast_1d(np.asarray(query(db), dtype=float))
                return float(np.mean([np.linalg.norm(base - np.atleast_1d(np.asarray(query(r), dtype=float)), ord=norm)
                                      for r in rows]))
        '''),
        Wrong("no validation of norm (norm=3 computes an L3 norm)", visible=True, message="expected it to raise", source='''
            def empirical_sensitivity(query, db, *, neighbours="remove", norm=1):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("neighbours must be 'remove' or 'replace'")
                db = np.asarray(db)
                rows = H.remove_one_neighbours(db) if neighbours == "remove" else H.replace_one_neighbours(db)
                base = np.atleast_1d(np.asarray(query(db), dtype=float))
                return float(max(np.linalg.norm(base - np.atleast_1d(np.asarray(query(r), dtype=float)), ord=norm)
                                 for r in rows))
        '''),
        Wrong("forgets np.atleast_1d: np.linalg.norm(ord=1) fails on a number", visible=True,
              message="Improper number of dimensions", source='''
            def empirical_sensitivity(query, db, *, neighbours="remove", norm=1):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("neighbours must be 'remove' or 'replace'")
                if norm not in (1, 2, np.inf):
                    raise ValueError("norm must be 1, 2 or np.inf")
                db = np.asarray(db)
                rows = H.remove_one_neighbours(db) if neighbours == "remove" else H.replace_one_neighbours(db)
                base = np.asarray(query(db), dtype=float)
                return float(max(np.linalg.norm(base - np.asarray(query(r), dtype=float), ord=norm) for r in rows))
        '''),
        Wrong("delegates to a sibling: H.differencing_attack for every person", visible=True,
              message="course function", source='''
            def empirical_sensitivity(query, db, *, neighbours="remove", norm=1):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("neighbours must be 'remove' or 'replace'")
                if norm not in (1, 2, np.inf):
                    raise ValueError("norm must be 1, 2 or np.inf")
                db = np.asarray(db)
                if neighbours == "remove" and np.ndim(query(db)) == 0:
                    return float(max(abs(H.differencing_attack(query, db, index=i)) for i in range(len(db))))
                rows = H.remove_one_neighbours(db) if neighbours == "remove" else H.replace_one_neighbours(db)
                base = np.atleast_1d(np.asarray(query(db), dtype=float))
                return float(max(np.linalg.norm(base - np.atleast_1d(np.asarray(query(r), dtype=float)), ord=norm)
                                 for r in rows))
        '''),
        Wrong("the loop skips a neighbour in the middle (a stride of 2)", source='''
            def empirical_sensitivity(query, db, *, neighbours="remove", norm=1):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("neighbours must be 'remove' or 'replace'")
                if norm not in (1, 2, np.inf):
                    raise ValueError("norm must be 1, 2 or np.inf")
                db = np.asarray(db)
                rows = H.remove_one_neighbours(db) if neighbours == "remove" else H.replace_one_neighbours(db)
                base = np.atleast_1d(np.asarray(query(db), dtype=float))
                picked = list(rows[::2]) + [rows[-1]]
                return float(max(np.linalg.norm(base - np.atleast_1d(np.asarray(query(r), dtype=float)), ord=norm)
                                 for r in picked))
        '''),
    ],
    "mean-sensitivity": [
        Wrong("remove-one: (upper - lower) / n from the database's own n (only the bound restricted to size n)", visible=True,
              message='worst case over every size', source='''
            def mean_sensitivity(*, n, lower, upper, neighbours="replace"):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("bad neighbours")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if lower > upper:
                    raise ValueError("lower > upper")
                return float((upper - lower) / n)
        '''),
        Wrong("default neighbours='remove', copied from the other sensitivity functions", visible=True,
              message='Replace-one (the default)', source='''
            def mean_sensitivity(*, n, lower, upper, neighbours="remove"):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("bad neighbours")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if lower > upper:
                    raise ValueError("lower > upper")
                return float((upper - lower) / 2) if neighbours == "remove" else float((upper - lower) / n)
        '''),
        Wrong("remove-one divides by n - 1 (the neighbour's size)", visible=True,
              message='returned', source='''
            def mean_sensitivity(*, n, lower, upper, neighbours="replace"):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("bad neighbours")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if lower > upper:
                    raise ValueError("lower > upper")
                return float((upper - lower) / (n - 1 if neighbours == "remove" else n))
        '''),
        Wrong('remove-one: upper - lower (the sensitivity 1 of a mean of bits), loose but not the global value', visible=True,
              message='worst case over every size', source='''
            def mean_sensitivity(*, n, lower, upper, neighbours="replace"):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("bad neighbours")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if lower > upper:
                    raise ValueError("lower > upper")
                return float(upper - lower) if neighbours == "remove" else float((upper - lower) / n)
        '''),
        Wrong("remove-one: max(|lower|, |upper|) / 2, the sum's remove-one bound halved", visible=True,
              message='returned', source='''
            def mean_sensitivity(*, n, lower, upper, neighbours="replace"):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("bad neighbours")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if lower > upper:
                    raise ValueError("lower > upper")
                return float(max(abs(lower), abs(upper)) / 2) if neighbours == "remove" else float((upper - lower) / n)
        '''),
        Wrong('the inverse, n / (upper - lower)', visible=True,
              message='returned', source='''
            def mean_sensitivity(*, n, lower, upper, neighbours="replace"):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("bad neighbours")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if lower > upper:
                    raise ValueError("lower > upper")
                return float(n / (upper - lower)) if neighbours == "replace" else float((upper - lower) / 2)
        '''),
        Wrong('upper / n: forgets the lower bound', visible=True,
              message='returned', source='''
            def mean_sensitivity(*, n, lower, upper, neighbours="replace"):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("bad neighbours")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if lower > upper:
                    raise ValueError("lower > upper")
                return float(upper / n) if neighbours == "replace" else float(upper / 2)
        '''),
        Wrong('upper - lower: forgets to divide by n', visible=True,
              message='returned', source='''
            def mean_sensitivity(*, n, lower, upper, neighbours="replace"):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("bad neighbours")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if lower > upper:
                    raise ValueError("lower > upper")
                return float(upper - lower) if neighbours == "replace" else float((upper - lower) / 2)
        '''),
        Wrong("max(|lower|, |upper|) / n: the remove-one sum's sensitivity divided by n", visible=True,
              message='returned', source='''
            def mean_sensitivity(*, n, lower, upper, neighbours="replace"):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("bad neighbours")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if lower > upper:
                    raise ValueError("lower > upper")
                return float(max(abs(lower), abs(upper)) / n) if neighbours == "replace" else float((upper - lower) / 2)
        '''),
        Wrong('replace-one counted twice, 2 (upper - lower) / n (one value out, one in)', visible=True,
              message='returned', source='''
            def mean_sensitivity(*, n, lower, upper, neighbours="replace"):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("bad neighbours")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if lower > upper:
                    raise ValueError("lower > upper")
                return float(2 * (upper - lower) / n) if neighbours == "replace" else float((upper - lower) / 2)
        '''),
        Wrong('integer division (upper - lower) // n', source='''
            def mean_sensitivity(*, n, lower, upper, neighbours="replace"):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("bad neighbours")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if lower > upper:
                    raise ValueError("lower > upper")
                return float((upper - lower) // (2 if neighbours == "remove" else n))
        '''),
        Wrong('returns early for remove-one, before validating n and the bounds', visible=True,
              message='expected it to raise', source='''
            def mean_sensitivity(*, n, lower, upper, neighbours="replace"):
                if neighbours == "remove":
                    return float((upper - lower) / 2)
                if neighbours != "replace":
                    raise ValueError("bad neighbours")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if lower > upper:
                    raise ValueError("lower > upper")
                return float((upper - lower) / 2) if neighbours == "remove" else float((upper - lower) / n)
        '''),
        Wrong('requires n >= 2 for remove-one (a one-person database has neighbours of two)', visible=True,
              message='raised ValueError', source='''
            def mean_sensitivity(*, n, lower, upper, neighbours="replace"):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("bad neighbours")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if lower > upper:
                    raise ValueError("lower > upper")
                if neighbours == "remove" and n < 2:
                    raise ValueError("n must be >= 2 for remove-one")
                return float((upper - lower) / 2) if neighbours == "remove" else float((upper - lower) / n)
        '''),
        Wrong('accepts a fractional n', source='''
            def mean_sensitivity(*, n, lower, upper, neighbours="replace"):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("bad neighbours")
                if n < 1:
                    raise ValueError("n too small")
                if lower > upper:
                    raise ValueError("lower > upper")
                return float((upper - lower) / 2) if neighbours == "remove" else float((upper - lower) / n)
        '''),
        Wrong('rejects lower == upper (a constant has sensitivity 0, not an error)', visible=True,
              message='raised ValueError', source='''
            def mean_sensitivity(*, n, lower, upper, neighbours="replace"):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("bad neighbours")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if lower >= upper:
                    raise ValueError("lower > upper")
                return float((upper - lower) / 2) if neighbours == "remove" else float((upper - lower) / n)
        '''),
        Wrong('requires n >= 2 for replace-one too', visible=True,
              message='raised ValueError', source='''
            def mean_sensitivity(*, n, lower, upper, neighbours="replace"):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("bad neighbours")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
                    raise ValueError("n must be an integer >= 1")
                if lower > upper:
                    raise ValueError("lower > upper")
                return float((upper - lower) / 2) if neighbours == "remove" else float((upper - lower) / n)
        '''),
        Wrong("accepts any neighbours string (anything but 'remove' is read as replace)", visible=True,
              message='expected it to raise', source='''
            def mean_sensitivity(*, n, lower, upper, neighbours="replace"):
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if lower > upper:
                    raise ValueError("lower > upper")
                return float((upper - lower) / 2) if neighbours == "remove" else float((upper - lower) / n)
        '''),
        Wrong('abs(upper - lower): swapped bounds are not rejected', visible=True,
              message='expected it to raise', source='''
            def mean_sensitivity(*, n, lower, upper, neighbours="replace"):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("bad neighbours")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                return float(abs(upper - lower) / (2 if neighbours == "remove" else n))
        '''),
        Wrong('delegates to a sibling: H.sum_sensitivity(replace) / n', visible=True,
              message='course function', source='''
            def mean_sensitivity(*, n, lower, upper, neighbours="replace"):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("bad neighbours")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if lower > upper:
                    raise ValueError("lower > upper")
                return float(H.sum_sensitivity(lower=lower, upper=upper, neighbours="replace") / (2 if neighbours == "remove" else n))
        '''),
        Wrong("delegates to the course version, imported under another name", visible=True,
              message="reference solution", source='''
            from helpers.sensitivity import mean_sensitivity as _course_version

            def mean_sensitivity(*, n, lower, upper, neighbours="replace"):
                return _course_version(n=n, lower=lower, upper=upper, neighbours=neighbours)
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

        Wrong("abs() of the difference: a value can move the mean either way", visible=True, message="returned", source='''
            def differencing_attack(query, db, *, index):
                db = np.asarray(db)
                if db.ndim != 1 or db.size < 2:
                    raise ValueError("db needs at least 2 rows")
                if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < db.size:
                    raise ValueError("bad index")
                return float(abs(query(db) - query(np.delete(db, index))))
        '''),
        Wrong("no check for a one-row database", visible=True, message="expected it to raise", source='''
            def differencing_attack(query, db, *, index):
                db = np.asarray(db)
                if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < db.size:
                    raise ValueError("bad index")
                return float(query(db) - query(np.delete(db, index)))
        '''),
        Wrong("removes every row equal to db[index] (db[db != db[index]])", visible=True, message="returned", source='''
            def differencing_attack(query, db, *, index):
                db = np.asarray(db)
                if db.ndim != 1 or db.size < 2:
                    raise ValueError("db needs at least 2 rows")
                if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < db.size:
                    raise ValueError("bad index")
                return float(query(db) - query(db[db != db[index]]))
        '''),
        Wrong("keeps only the rows before index (db[:index]) as the database without the person", visible=True,
              message="returned", source='''
            def differencing_attack(query, db, *, index):
                db = np.asarray(db)
                if db.ndim != 1 or db.size < 2:
                    raise ValueError("db needs at least 2 rows")
                if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < db.size:
                    raise ValueError("bad index")
                return float(query(db) - query(db[:index]))
        '''),
        Wrong("no integer check: index=1.5 reaches np.delete, which raises IndexError", source='''
            def differencing_attack(query, db, *, index):
                db = np.asarray(db)
                if db.ndim != 1 or db.size < 2:
                    raise ValueError("db needs at least 2 rows")
                if not 0 <= index < db.size:
                    raise ValueError("bad index")
                return float(query(db) - query(np.delete(db, index)))
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
        Wrong("the global np.random instead of rng", visible=True, message="generator passed in", source='''
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
        Wrong("rounds the answers to integers", visible=True, message="dtype", source='''
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

        Wrong("rng.integers(0, 1, ...): the upper end is exclusive, every subset is empty", visible=True,
              message="differ", source='''
            def answer_subset_queries(db, *, n_queries, noise_bound, rng=None):
                db = np.asarray(db)
                if db.ndim != 1 or db.size == 0 or not np.isin(db, (0, 1)).all():
                    raise ValueError("db must be a 0/1 vector")
                if n_queries < 1 or noise_bound < 0:
                    raise ValueError("bad arguments")
                rng = np.random.default_rng(rng)
                queries = rng.integers(0, 1, size=(n_queries, db.size))
                noise = rng.uniform(-noise_bound, noise_bound, size=n_queries)
                return queries, (queries @ db + noise).astype(np.float64)
        '''),
        Wrong("rejects noise_bound = 0 (exact answers are allowed)", visible=True, message="raised ValueError", source='''
            def answer_subset_queries(db, *, n_queries, noise_bound, rng=None):
                db = np.asarray(db)
                if db.ndim != 1 or db.size == 0 or not np.isin(db, (0, 1)).all():
                    raise ValueError("db must be a 0/1 vector")
                if n_queries < 1 or noise_bound <= 0:
                    raise ValueError("bad arguments")
                rng = np.random.default_rng(rng)
                queries = rng.integers(0, 2, size=(n_queries, db.size))
                noise = rng.uniform(-noise_bound, noise_bound, size=n_queries)
                return queries, (queries @ db + noise).astype(np.float64)
        '''),
        Wrong("ignores rng: a generator of its own with a fixed seed", visible=True, message="fixed seed", source='''
            def answer_subset_queries(db, *, n_queries, noise_bound, rng=None):
                db = np.asarray(db)
                if db.ndim != 1 or db.size == 0 or not np.isin(db, (0, 1)).all():
                    raise ValueError("db must be a 0/1 vector")
                if n_queries < 1 or noise_bound < 0:
                    raise ValueError("bad arguments")
                gen = np.random.default_rng(0)
                queries = gen.integers(0, 2, size=(n_queries, db.size))
                noise = gen.uniform(-noise_bound, noise_bound, size=n_queries)
                return queries, (queries @ db + noise).astype(np.float64)
        '''),
        Wrong("ignores rng: a fresh unseeded generator", visible=True, message="same seed gave different results", source='''
            def answer_subset_queries(db, *, n_queries, noise_bound, rng=None):
                db = np.asarray(db)
                if db.ndim != 1 or db.size == 0 or not np.isin(db, (0, 1)).all():
                    raise ValueError("db must be a 0/1 vector")
                if n_queries < 1 or noise_bound < 0:
                    raise ValueError("bad arguments")
                gen = np.random.default_rng()
                queries = gen.integers(0, 2, size=(n_queries, db.size))
                noise = gen.uniform(-noise_bound, noise_bound, size=n_queries)
                return queries, (queries @ db + noise).astype(np.float64)
        '''),
        Wrong("a new generator from the seed for each draw (an int seed repeats its stream)", visible=True,
              message="differ", source='''
            def answer_subset_queries(db, *, n_queries, noise_bound, rng=None):
                db = np.asarray(db)
                if db.ndim != 1 or db.size == 0 or not np.isin(db, (0, 1)).all():
                    raise ValueError("db must be a 0/1 vector")
                if n_queries < 1 or noise_bound < 0:
                    raise ValueError("bad arguments")
                queries = np.random.default_rng(rng).integers(0, 2, size=(n_queries, db.size))
                noise = np.random.default_rng(rng).uniform(-noise_bound, noise_bound, size=n_queries)
                return queries, (queries @ db + noise).astype(np.float64)
        '''),
        Wrong("draws the subsets transposed, (n, n_queries), then .T", visible=True, message="differ", source='''
            def answer_subset_queries(db, *, n_queries, noise_bound, rng=None):
                db = np.asarray(db)
                if db.ndim != 1 or db.size == 0 or not np.isin(db, (0, 1)).all():
                    raise ValueError("db must be a 0/1 vector")
                if n_queries < 1 or noise_bound < 0:
                    raise ValueError("bad arguments")
                rng = np.random.default_rng(rng)
                queries = rng.integers(0, 2, size=(db.size, n_queries)).T
                noise = rng.uniform(-noise_bound, noise_bound, size=n_queries)
                return queries, (queries @ db + noise).astype(np.float64)
        '''),
        Wrong("one noise value shared by every answer (size= forgotten)", visible=True, message="differ", source='''
            def answer_subset_queries(db, *, n_queries, noise_bound, rng=None):
                db = np.asarray(db)
                if db.ndim != 1 or db.size == 0 or not np.isin(db, (0, 1)).all():
                    raise ValueError("db must be a 0/1 vector")
                if n_queries < 1 or noise_bound < 0:
                    raise ValueError("bad arguments")
                rng = np.random.default_rng(rng)
                queries = rng.integers(0, 2, size=(n_queries, db.size))
                noise = rng.uniform(-noise_bound, noise_bound)
                return queries, (queries @ db + noise).astype(np.float64)
        '''),
        Wrong("answers as float32", visible=True, message="dtype", source='''
            def answer_subset_queries(db, *, n_queries, noise_bound, rng=None):
                db = np.asarray(db)
                if db.ndim != 1 or db.size == 0 or not np.isin(db, (0, 1)).all():
                    raise ValueError("db must be a 0/1 vector")
                if n_queries < 1 or noise_bound < 0:
                    raise ValueError("bad arguments")
                rng = np.random.default_rng(rng)
                queries = rng.integers(0, 2, size=(n_queries, db.size))
                noise = rng.uniform(-noise_bound, noise_bound, size=n_queries)
                return queries, (queries @ db + noise).astype(np.float32)
        '''),
        Wrong("checks only the range of db: 0.5 passes as a bit", source='''
            def answer_subset_queries(db, *, n_queries, noise_bound, rng=None):
                db = np.asarray(db)
                if db.ndim != 1 or db.size == 0 or db.min() < 0 or db.max() > 1:
                    raise ValueError("db must be a 0/1 vector")
                if n_queries < 1 or noise_bound < 0:
                    raise ValueError("bad arguments")
                rng = np.random.default_rng(rng)
                queries = rng.integers(0, 2, size=(n_queries, db.size))
                noise = rng.uniform(-noise_bound, noise_bound, size=n_queries)
                return queries, (queries @ db + noise).astype(np.float64)
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

        Wrong("checks len(answers) only: a column of answers, shape (m, 1), slips through", visible=True,
              message="expected it to raise", source='''
            def reconstruct(queries, answers):
                queries = np.asarray(queries, dtype=float)
                answers = np.asarray(answers, dtype=float)
                if queries.ndim != 2 or len(answers) != queries.shape[0]:
                    raise ValueError("bad shapes")
                z, *_ = np.linalg.lstsq(queries, answers, rcond=None)
                return (z > 0.5).astype(np.int64)
        '''),
        Wrong("returns int32", visible=True, message="dtype", source='''
            def reconstruct(queries, answers):
                queries = np.asarray(queries, dtype=float)
                answers = np.asarray(answers, dtype=float)
                if queries.ndim != 2 or answers.shape != (queries.shape[0],):
                    raise ValueError("bad shapes")
                z, *_ = np.linalg.lstsq(queries, answers, rcond=None)
                return (z > 0.5).astype(np.int32)
        '''),
        Wrong("returns a list of 0/1", visible=True, message="numpy array", source='''
            def reconstruct(queries, answers):
                queries = np.asarray(queries, dtype=float)
                answers = np.asarray(answers, dtype=float)
                if queries.ndim != 2 or answers.shape != (queries.shape[0],):
                    raise ValueError("bad shapes")
                z, *_ = np.linalg.lstsq(queries, answers, rcond=None)
                return [int(v > 0.5) for v in z]
        '''),
        Wrong("solves only the first n equations (np.linalg.solve on a square system)", source='''
            def reconstruct(queries, answers):
                queries = np.asarray(queries, dtype=float)
                answers = np.asarray(answers, dtype=float)
                if queries.ndim != 2 or answers.shape != (queries.shape[0],):
                    raise ValueError("bad shapes")
                n = queries.shape[1]
                z = np.linalg.lstsq(queries[:n], answers[:n], rcond=None)[0]
                return (z > 0.5).astype(np.int64)
        '''),
        Wrong("rounds at the mean of z instead of 1/2", source='''
            def reconstruct(queries, answers):
                queries = np.asarray(queries, dtype=float)
                answers = np.asarray(answers, dtype=float)
                if queries.ndim != 2 or answers.shape != (queries.shape[0],):
                    raise ValueError("bad shapes")
                z, *_ = np.linalg.lstsq(queries, answers, rcond=None)
                return (z > z.mean()).astype(np.int64)
        '''),
        Wrong("delegates to a sibling: H.reconstruct_lp (the LP attack)", visible=True, message="course function", source='''
            def reconstruct(queries, answers):
                queries = np.asarray(queries, dtype=float)
                answers = np.asarray(answers, dtype=float)
                if queries.ndim != 2 or answers.shape != (queries.shape[0],):
                    raise ValueError("bad shapes")
                return H.reconstruct_lp(queries, answers)
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
        Right("np.stack of np.delete rows, emptiness checked first", '''
            def remove_one_neighbours(db):
                db = np.asarray(db)
                if db.size == 0:
                    raise ValueError("db must not be empty")
                if np.ndim(db) != 1:
                    raise ValueError("db must be 1-D")
                return np.stack([np.delete(db, i) for i in range(db.shape[0])])
        '''),
        Right("fancy indexing with an index matrix", '''
            def remove_one_neighbours(db):
                db = np.asarray(db)
                if db.ndim != 1 or db.shape[0] < 1:
                    raise ValueError(f"db must be a non-empty 1-D array, got shape {db.shape}")
                n = db.shape[0]
                cols = np.arange(n - 1)[None, :]
                idx = cols + (cols >= np.arange(n)[:, None])
                return db[idx]
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
        Right("stacks every neighbour's answer and takes the norms along axis 1; norm checked first", '''
            def empirical_sensitivity(query, db, *, neighbours="remove", norm=1):
                if norm not in (1, 2, np.inf):
                    raise ValueError("norm must be 1, 2 or np.inf")
                if neighbours == "remove":
                    rows = H.remove_one_neighbours(db)
                elif neighbours == "replace":
                    rows = H.replace_one_neighbours(db)
                else:
                    raise ValueError("neighbours must be 'remove' or 'replace'")
                base = np.atleast_1d(np.asarray(query(np.asarray(db)), dtype=float))
                answers = np.array([np.atleast_1d(np.asarray(query(r), dtype=float)) for r in rows])
                return float(np.max(np.linalg.norm(base[None, :] - answers, ord=norm, axis=1)))
        '''),
        Right("flips the bit in place and flips it back", '''
            def empirical_sensitivity(query, db, *, neighbours="remove", norm=1):
                if neighbours not in ("remove", "replace") or norm not in (1, 2, np.inf):
                    raise ValueError("neighbours must be 'remove'/'replace' and norm 1, 2 or np.inf")
                db = np.array(db)
                base = np.atleast_1d(np.asarray(query(db), dtype=float))
                changes = []
                for i in range(db.shape[0]):
                    if neighbours == "remove":
                        value = query(np.concatenate([db[:i], db[i + 1:]]))
                    else:
                        db[i] = 1 - db[i]
                        value = query(db)
                        db[i] = 1 - db[i]
                    changes.append(np.linalg.norm(base - np.atleast_1d(np.asarray(value, dtype=float)), ord=norm))
                return float(max(changes, default=0.0))
        '''),
        Right("converts db to float first (the queries then see float rows)", '''
            def empirical_sensitivity(query, db, *, neighbours="remove", norm=1):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("neighbours must be 'remove' or 'replace'")
                if norm not in (1, 2, np.inf):
                    raise ValueError("norm must be 1, 2 or np.inf")
                db = np.asarray(db, dtype=float)
                rows = H.remove_one_neighbours(db) if neighbours == "remove" else H.replace_one_neighbours(db)
                base = np.atleast_1d(query(db))
                return float(max((np.linalg.norm(base - np.atleast_1d(query(r)), ord=norm) for r in rows), default=0.0))
        '''),
    ],
    "mean-sensitivity": [
        Right("checks the bounds first, n with isinstance(n, int), a dict of divisors", '''
            def mean_sensitivity(*, n, lower, upper, neighbours="replace"):
                if lower > upper:
                    raise ValueError("lower must be <= upper")
                if not isinstance(n, int) or isinstance(n, bool) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                divisor = {"remove": 2, "replace": n}.get(neighbours)
                if divisor is None:
                    raise ValueError("neighbours must be 'remove' or 'replace'")
                return (upper - lower) / divisor
        '''),
        Right("operator.index for the integer check", '''
            import operator

            def mean_sensitivity(*, n, lower, upper, neighbours="replace"):
                try:
                    n = operator.index(n)
                except TypeError:
                    raise ValueError(f"n must be an integer, got {n!r}") from None
                if n < 1:
                    raise ValueError("n must be >= 1")
                if neighbours not in ("remove", "replace"):
                    raise ValueError(f"unknown neighbours {neighbours!r}")
                if not lower <= upper:
                    raise ValueError("lower must be <= upper")
                if neighbours == "replace":
                    return float(upper - lower) / n
                return float(upper - lower) / 2
        '''),
        Right("remove-one written as the maximum of (upper - lower) / m over the sizes m = 2 .. n + 1", '''
            def mean_sensitivity(*, n, lower, upper, neighbours="replace"):
                if neighbours not in ("remove", "replace"):
                    raise ValueError("neighbours must be 'remove' or 'replace'")
                if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                    raise ValueError("n must be an integer >= 1")
                if lower > upper:
                    raise ValueError("lower must be <= upper")
                if neighbours == "replace":
                    return float((upper - lower) / n)
                return float(max((upper - lower) / m for m in range(2, n + 2)))
        '''),
    ],
    "differencing-attack": [
        Right("a boolean mask instead of np.delete", '''
            def differencing_attack(query, db, *, index):
                db = np.asarray(db)
                if db.ndim != 1 or len(db) < 2:
                    raise ValueError("db must be 1-D with at least 2 rows")
                if not isinstance(index, (int, np.integer)) or isinstance(index, bool) or index < 0 or index >= len(db):
                    raise ValueError(f"index must be an integer in [0, {len(db)})")
                keep = np.arange(len(db)) != index
                return float(query(db)) - float(query(db[keep]))
        '''),
        Right("slices and concatenates; checks the index first with range()", '''
            def differencing_attack(query, db, *, index):
                db = np.asarray(db)
                if not isinstance(index, (int, np.integer)) or index not in range(max(db.shape[0], 0) if db.ndim else 0):
                    raise ValueError("index must be an integer in [0, n)")
                if db.ndim != 1 or db.shape[0] < 2:
                    raise ValueError("db needs at least two rows")
                without = np.concatenate([db[:index], db[index + 1:]])
                return float(query(db) - query(without))
        '''),
    ],
    "answer-subset-queries": [
        Right("accepts a Generator as is, checks 0/1 with ==, db @ queries.T", '''
            def answer_subset_queries(db, *, n_queries, noise_bound, rng=None):
                if noise_bound < 0:
                    raise ValueError("noise_bound must be >= 0")
                if n_queries < 1:
                    raise ValueError("n_queries must be >= 1")
                db = np.asarray(db)
                if db.ndim != 1 or len(db) == 0 or not ((db == 0) | (db == 1)).all():
                    raise ValueError("db must hold only 0 and 1")
                if not isinstance(rng, np.random.Generator):
                    rng = np.random.default_rng(rng)
                queries = rng.integers(0, 2, size=(n_queries, len(db)))
                noise = rng.uniform(-noise_bound, noise_bound, size=n_queries)
                answers = db @ queries.T + noise
                return queries, answers.astype(float)
        '''),
        Right("a set of the values for the 0/1 check, a loop for the sums", '''
            def answer_subset_queries(db, *, n_queries, noise_bound, rng=None):
                db = np.asarray(db)
                if db.ndim != 1 or db.size == 0 or not set(np.unique(db).tolist()) <= {0, 1}:
                    raise ValueError("db must be a 0/1 vector")
                if n_queries < 1:
                    raise ValueError("n_queries must be >= 1")
                if noise_bound < 0:
                    raise ValueError("noise_bound must be >= 0")
                gen = np.random.default_rng(rng)
                queries = gen.integers(0, 2, size=(n_queries, db.size))
                noise = gen.uniform(-noise_bound, noise_bound, size=n_queries)
                answers = np.array([float(np.sum(q * db)) for q in queries]) + noise
                return queries, answers
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
        Right("np.linalg.solve on Q^T Q, answers' shape checked first", '''
            def reconstruct(queries, answers):
                a = np.asarray(answers, dtype=float)
                q = np.asarray(queries, dtype=float)
                if a.ndim != 1:
                    raise ValueError("answers must be 1-D")
                if q.ndim != 2 or q.shape[0] != a.shape[0]:
                    raise ValueError("queries must be 2-D with one row per answer")
                z = np.linalg.solve(q.T @ q, q.T @ a)
                return np.where(z > 0.5, 1, 0).astype(np.int64)
        '''),
        Right("rounds with np.rint and clips to {0, 1}", '''
            def reconstruct(queries, answers):
                queries = np.asarray(queries, dtype=float)
                answers = np.asarray(answers, dtype=float)
                if queries.ndim != 2 or answers.shape != (queries.shape[0],):
                    raise ValueError("queries must be 2-D and answers of shape (m,)")
                z = np.linalg.lstsq(queries, answers, rcond=None)[0]
                return np.clip(np.rint(z), 0, 1).astype(np.int64)
        '''),
    ],
}
