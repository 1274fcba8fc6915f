"""Lesson 06 (federated learning): wrong answers students write, and other right ones.

The mistakes that break DP-FedAvg's guarantee (clipping the sum instead of each update, noise of std σ
instead of σ·S, noise per client instead of once on the sum, dividing by the realised number of clients,
per-layer clipping) and those that break secure aggregation (masks that do not cancel, one mask reused
for every pair, which leaves a client in the clear) must fail already at the visible test.
"""
from wrong_answers import Right, Wrong

# ----------------------------------------------------------------------------- Exercise 1: weighted average

AVERAGE = {
    "fed-weighted-average": [
        Wrong("the unweighted mean: every client counts 1/K whatever its size", visible=True, message="n_k / n", source='''
            def weighted_average(client_weights, num_examples):
                if len(client_weights) == 0 or len(client_weights) != len(num_examples) or min(num_examples) < 1:
                    raise ValueError("bad input")
                return {k: np.mean([w[k] for w in client_weights], axis=0).astype(np.float32) for k in client_weights[0]}
        '''),
        Wrong("weights by position (round/arrival order 1, 2, 3, ...) instead of by size", visible=True, message="n_k / n", source='''
            def weighted_average(client_weights, num_examples):
                if len(client_weights) == 0 or len(client_weights) != len(num_examples) or min(num_examples) < 1:
                    raise ValueError("bad input")
                ranks = np.arange(1, len(client_weights) + 1)
                return {k: sum(r / ranks.sum() * w[k] for r, w in zip(ranks, client_weights)).astype(np.float32)
                        for k in client_weights[0]}
        '''),
        Wrong("sum_k n_k w_k divided by the number of clients instead of by n", visible=True, message="n_k / n", source='''
            def weighted_average(client_weights, num_examples):
                if len(client_weights) == 0 or len(client_weights) != len(num_examples) or min(num_examples) < 1:
                    raise ValueError("bad input")
                return {k: (sum(n * w[k].astype(np.float64) for n, w in zip(num_examples, client_weights))
                            / len(client_weights)).astype(np.float32) for k in client_weights[0]}
        '''),
        Wrong("accumulates into client_weights[0] in place (the first client's dict is overwritten)", visible=True,
              message="changed the dicts", source='''
            def weighted_average(client_weights, num_examples):
                if len(client_weights) == 0 or len(client_weights) != len(num_examples) or min(num_examples) < 1:
                    raise ValueError("bad input")
                n = float(sum(num_examples))
                out = client_weights[0]
                for k in out:
                    out[k] *= num_examples[0] / n
                    for w, m in zip(client_weights[1:], num_examples[1:]):
                        out[k] += m / n * w[k]
                return out
        '''),
        Wrong("no validation: a client with 0 examples or a missing size goes through", source='''
            def weighted_average(client_weights, num_examples):
                n = float(sum(num_examples))
                return {k: sum(m / n * w[k].astype(np.float64) for w, m in zip(client_weights, num_examples)).astype(np.float32)
                        for k in client_weights[0]}
        '''),
        Wrong("weights by sqrt(n_k)", source='''
            def weighted_average(client_weights, num_examples):
                if len(client_weights) == 0 or len(client_weights) != len(num_examples) or min(num_examples) < 1:
                    raise ValueError("bad input")
                s = np.sqrt(np.asarray(num_examples, dtype=float))
                return {k: sum(a / s.sum() * w[k] for a, w in zip(s, client_weights)).astype(np.float32) for k in client_weights[0]}
        '''),
        Wrong("delegates to the course's version", visible=True, message="course function", source='''
            def weighted_average(client_weights, num_examples):
                return H.federated.weighted_average(client_weights, num_examples)
        '''),
        Wrong("returns float64 arrays", source='''
            def weighted_average(client_weights, num_examples):
                if len(client_weights) == 0 or len(client_weights) != len(num_examples) or min(num_examples) < 1:
                    raise ValueError("bad input")
                n = float(sum(num_examples))
                return {k: sum(m / n * w[k].astype(np.float64) for w, m in zip(client_weights, num_examples)) for k in client_weights[0]}
        '''),
    ],
}

# ----------------------------------------------------------------------------- Exercise 2: client update


def _update(body: str) -> str:
    return '''
        def client_update(model, weights, x, y, *, epochs, batch_size, lr, generator=None):
''' + body


UPDATE = {
    "fed-client-update": [
        Wrong("returns the change w_k - w instead of the new weights", visible=True, message="not the change", source=_update('''
            local = copy.deepcopy(model)
            FL.set_weights(local, weights)
            training.fit(local, x, y, epochs=epochs, batch_size=batch_size, lr=lr, generator=generator, progress=False)
            new = FL.get_weights(local)
            return {k: new[k] - weights[k] for k in new}, len(x)
        ''')),
        Wrong("never loads the server's weights: trains from the model's own", visible=True, message="server's `weights`",
              source=_update('''
            local = copy.deepcopy(model)
            training.fit(local, x, y, epochs=epochs, batch_size=batch_size, lr=lr, generator=generator, progress=False)
            return FL.get_weights(local), len(x)
        ''')),
        Wrong("trains the model passed in (no copy): the next client starts from this one's result", visible=True,
              message="changed the model", source=_update('''
            FL.set_weights(model, weights)
            training.fit(model, x, y, epochs=epochs, batch_size=batch_size, lr=lr, generator=generator, progress=False)
            return FL.get_weights(model), len(x)
        ''')),
        Wrong("one epoch whatever E", source=_update('''
            local = copy.deepcopy(model)
            FL.set_weights(local, weights)
            training.fit(local, x, y, epochs=1, batch_size=batch_size, lr=lr, generator=generator, progress=False)
            return FL.get_weights(local), len(x)
        ''')),
        Wrong("full batch (FedSGD) whatever B", visible=True, message="differ", source=_update('''
            local = copy.deepcopy(model)
            FL.set_weights(local, weights)
            training.fit(local, x, y, epochs=epochs, batch_size=len(x), lr=lr, generator=generator, progress=False)
            return FL.get_weights(local), len(x)
        ''')),
        Wrong("returns the number of batches, not of examples", source=_update('''
            local = copy.deepcopy(model)
            FL.set_weights(local, weights)
            training.fit(local, x, y, epochs=epochs, batch_size=batch_size, lr=lr, generator=generator, progress=False)
            return FL.get_weights(local), -(-len(x) // batch_size)
        ''')),
        Wrong("ignores the generator: batches from torch's global generator", visible=True, message="differ", source=_update('''
            local = copy.deepcopy(model)
            FL.set_weights(local, weights)
            training.fit(local, x, y, epochs=epochs, batch_size=batch_size, lr=lr, progress=False)
            return FL.get_weights(local), len(x)
        ''')),
        Wrong("returns torch tensors (the state_dict) instead of NumPy arrays", visible=True, message="NumPy arrays", source=_update('''
            local = copy.deepcopy(model)
            FL.set_weights(local, weights)
            training.fit(local, x, y, epochs=epochs, batch_size=batch_size, lr=lr, generator=generator, progress=False)
            return {k: v.detach().clone() for k, v in local.state_dict().items()}, len(x)
        ''')),
        Wrong("delegates to the course's version", visible=True, message="course function", source=_update('''
            return H.federated.client_update(model, weights, x, y, epochs=epochs, batch_size=batch_size, lr=lr, generator=generator)
        ''')),
    ],
}

# ----------------------------------------------------------------------------- Exercise 3: shard split


def _shards(body: str) -> str:
    return '''
        def shard_partition(labels, *, num_parts, shards_per_part=2, rng=None):
            labels = np.asarray(labels)
            num_shards = num_parts * shards_per_part
            if num_shards > len(labels):
                raise ValueError("more shards than examples")
''' + body


SPLIT = {
    "fed-shard-split": [
        Wrong("a random split that ignores the labels (IID)", visible=True, message="ignores the labels", source=_shards('''
            perm = rng.permutation(len(labels))
            return [np.sort(p).astype(np.int64) for p in np.array_split(perm, num_parts)]
        ''')),
        Wrong("no randomness: part i gets shards 2i and 2i+1 (one class per part, always the same)", visible=True,
              message="differ", source=_shards('''
            shards = np.array_split(np.argsort(labels, kind="stable"), num_shards)
            return [np.sort(np.concatenate(shards[i * shards_per_part:(i + 1) * shards_per_part])).astype(np.int64)
                    for i in range(num_parts)]
        ''')),
        Wrong("shards drawn with replacement (rng.integers): some examples twice, others never", visible=True,
              message="in no part or in two parts", source=_shards('''
            shards = np.array_split(np.argsort(labels, kind="stable"), num_shards)
            picks = rng.integers(0, num_shards, size=(num_parts, shards_per_part))
            return [np.sort(np.concatenate([shards[s] for s in row])).astype(np.int64) for row in picks]
        ''')),
        Wrong("global np.random instead of the given generator", source=_shards('''
            shards = np.array_split(np.argsort(labels, kind="stable"), num_shards)
            perm = np.random.permutation(num_shards).reshape(num_parts, shards_per_part)
            return [np.sort(np.concatenate([shards[s] for s in row])).astype(np.int64) for row in perm]
        ''')),
        Wrong("always 2 shards per part, whatever shards_per_part", source=_shards('''
            shards = np.array_split(np.argsort(labels, kind="stable"), num_parts * 2)
            perm = rng.permutation(num_parts * 2).reshape(num_parts, 2)
            return [np.sort(np.concatenate([shards[s] for s in row])).astype(np.int64) for row in perm]
        ''')),
        Wrong("sorts the labels instead of the indices: returns label values, not example indices", source=_shards('''
            shards = np.array_split(np.sort(labels), num_shards)
            perm = rng.permutation(num_shards).reshape(num_parts, shards_per_part)
            return [np.sort(np.concatenate([shards[s] for s in row])).astype(np.int64) for row in perm]
        ''')),
        Wrong("parts not sorted (shard order kept)", source=_shards('''
            shards = np.array_split(np.argsort(labels, kind="stable"), num_shards)
            perm = rng.permutation(num_shards).reshape(num_parts, shards_per_part)
            return [np.concatenate([shards[s] for s in row]).astype(np.int64) for row in perm]
        ''')),
        Wrong("delegates to helpers.partitions", visible=True, message="course function", source='''
            def shard_partition(labels, *, num_parts, shards_per_part=2, rng=None):
                return H.partitions.shard_partition(labels, num_parts=num_parts, shards_per_part=shards_per_part, rng=rng)
        '''),
    ],
}

# ----------------------------------------------------------------------------- Exercise 4: DP aggregate


def _dp(body: str) -> str:
    return '''
        def dp_fedavg_aggregate(updates, *, clip_norm, noise_multiplier, expected_clients, rng):
            def gnorm(u):
                return np.sqrt(sum(np.sum(np.asarray(v, dtype=np.float64) ** 2) for v in u.values()))
''' + body


DP = {
    "fed-dp-aggregate": [
        Wrong("clips the sum instead of each update", visible=True, message="Clip EACH update", source=_dp('''
            total = {k: sum(np.asarray(u[k], dtype=np.float64) for u in updates) for k in updates[0]}
            n = gnorm(total)
            f = min(1.0, clip_norm / n) if n > 0 else 1.0
            return {k: (f * s + rng.normal(0.0, noise_multiplier * clip_norm, size=s.shape)) / expected_clients
                    for k, s in total.items()}
        ''')),
        Wrong("noise of std σ instead of σ·S", visible=True, message="noise_multiplier * clip_norm", source=_dp('''
            total = {k: np.zeros(np.shape(v)) for k, v in updates[0].items()}
            for u in updates:
                n = gnorm(u)
                f = min(1.0, clip_norm / n) if n > 0 else 1.0
                for k in total:
                    total[k] += f * np.asarray(u[k], dtype=np.float64)
            return {k: (s + rng.normal(0.0, noise_multiplier, size=s.shape)) / expected_clients for k, s in total.items()}
        ''')),
        Wrong("noise added to every client's update instead of once to the sum", visible=True, message="once", source=_dp('''
            total = {k: np.zeros(np.shape(v)) for k, v in updates[0].items()}
            for u in updates:
                n = gnorm(u)
                f = min(1.0, clip_norm / n) if n > 0 else 1.0
                for k in total:
                    total[k] += f * np.asarray(u[k], dtype=np.float64) + rng.normal(0.0, noise_multiplier * clip_norm, size=total[k].shape)
            return {k: s / expected_clients for k, s in total.items()}
        ''')),
        Wrong("divides by the realised number of clients instead of qK", visible=True, message="expected_clients", source=_dp('''
            total = {k: np.zeros(np.shape(v)) for k, v in updates[0].items()}
            for u in updates:
                n = gnorm(u)
                f = min(1.0, clip_norm / n) if n > 0 else 1.0
                for k in total:
                    total[k] += f * np.asarray(u[k], dtype=np.float64)
            return {k: (s + rng.normal(0.0, noise_multiplier * clip_norm, size=s.shape)) / len(updates) for k, s in total.items()}
        ''')),
        Wrong("clips each array (layer) to S separately: the whole update can reach S·sqrt(layers)", visible=True,
              message="Clip EACH update", source=_dp('''
            total = {k: np.zeros(np.shape(v)) for k, v in updates[0].items()}
            for u in updates:
                for k in total:
                    v = np.asarray(u[k], dtype=np.float64)
                    n = np.linalg.norm(v)
                    total[k] += v * (min(1.0, clip_norm / n) if n > 0 else 1.0)
            return {k: (s + rng.normal(0.0, noise_multiplier * clip_norm, size=s.shape)) / expected_clients for k, s in total.items()}
        ''')),
        Wrong("no clipping at all (noise calibrated to S, but the sensitivity is unbounded)", visible=True, message="Clip EACH update",
              source=_dp('''
            total = {k: sum(np.asarray(u[k], dtype=np.float64) for u in updates) for k in updates[0]}
            return {k: (s + rng.normal(0.0, noise_multiplier * clip_norm, size=s.shape)) / expected_clients for k, s in total.items()}
        ''')),
        Wrong("noise N(0, σ²S²) added to the average (after dividing by qK) instead of to the sum", visible=True,
              message="noise_multiplier * clip_norm", source=_dp('''
            total = {k: np.zeros(np.shape(v)) for k, v in updates[0].items()}
            for u in updates:
                n = gnorm(u)
                f = min(1.0, clip_norm / n) if n > 0 else 1.0
                for k in total:
                    total[k] += f * np.asarray(u[k], dtype=np.float64)
            return {k: s / expected_clients + rng.normal(0.0, noise_multiplier * clip_norm, size=s.shape)
                    for k, s in total.items()}
        ''')),
        Wrong("noise from the global np.random instead of the given generator", source=_dp('''
            total = {k: np.zeros(np.shape(v)) for k, v in updates[0].items()}
            for u in updates:
                n = gnorm(u)
                f = min(1.0, clip_norm / n) if n > 0 else 1.0
                for k in total:
                    total[k] += f * np.asarray(u[k], dtype=np.float64)
            return {k: (s + np.random.normal(0.0, noise_multiplier * clip_norm, size=s.shape)) / expected_clients
                    for k, s in total.items()}
        ''')),
        Wrong("delegates to the course's version", visible=True, message="course function", source='''
            def dp_fedavg_aggregate(updates, *, clip_norm, noise_multiplier, expected_clients, rng):
                return H.federated.dp_fedavg_aggregate(updates, clip_norm=clip_norm, noise_multiplier=noise_multiplier,
                                                       expected_clients=expected_clients, rng=rng)
        '''),
    ],
}

# ----------------------------------------------------------------------------- Exercise 5: pairwise masks


def _masks(body: str) -> str:
    return '''
        def mask_inputs(values, *, bits, rng):
            out = [np.asarray(v).astype(np.uint64) for v in values]
            n = len(out)
''' + body


MASKS = {
    "fed-pairwise-masks": [
        Wrong("both clients of a pair add the mask (same sign): the masks do not cancel", visible=True, message="cancel",
              source=_masks('''
            for i in range(n):
                for j in range(i + 1, n):
                    m = rng.integers(0, 2**bits, size=out[0].shape, dtype=np.uint64)
                    out[i] = out[i] + m
                    out[j] = out[j] + m
            return [o % np.uint64(2**bits) for o in out]
        ''')),
        Wrong("no reduction modulo 2**bits", visible=True, message="modulo", source=_masks('''
            for i in range(n):
                for j in range(i + 1, n):
                    m = rng.integers(0, 2**bits, size=out[0].shape, dtype=np.uint64)
                    out[i] = out[i] + m
                    out[j] = out[j] - m
            return out
        ''')),
        Wrong("one mask for all pairs: with 3 clients the middle one sends its input in the clear", visible=True,
              message="uniform", source=_masks('''
            m = rng.integers(0, 2**bits, size=out[0].shape, dtype=np.uint64)
            for i in range(n):
                for j in range(i + 1, n):
                    out[i] = out[i] + m
                    out[j] = out[j] - m
            return [o % np.uint64(2**bits) for o in out]
        ''')),
        Wrong("masks of floats (rng.random scaled), cast: not uint64 draws, the order of draws differs", visible=True,
              message="differ", source=_masks('''
            for i in range(n):
                for j in range(i + 1, n):
                    m = np.floor(rng.random(size=out[0].shape) * 2**bits).astype(np.uint64)
                    out[i] = out[i] + m
                    out[j] = out[j] - m
            return [o % np.uint64(2**bits) for o in out]
        ''')),
        Wrong("masks from the global np.random", source=_masks('''
            for i in range(n):
                for j in range(i + 1, n):
                    m = np.random.randint(0, 2**bits, size=out[0].shape).astype(np.uint64)
                    out[i] = out[i] + m
                    out[j] = out[j] - m
            return [o % np.uint64(2**bits) for o in out]
        ''')),
        Wrong("the pairs in the other order (j outer): other masks for the same generator", source=_masks('''
            for j in range(n):
                for i in range(j):
                    m = rng.integers(0, 2**bits, size=out[0].shape, dtype=np.uint64)
                    out[i] = out[i] + m
                    out[j] = out[j] - m
            return [o % np.uint64(2**bits) for o in out]
        ''')),
        Wrong("masks in [0, 2**bits] (endpoint included)", source=_masks('''
            for i in range(n):
                for j in range(i + 1, n):
                    m = rng.integers(0, 2**bits, size=out[0].shape, dtype=np.uint64, endpoint=True)
                    out[i] = out[i] + m
                    out[j] = out[j] - m
            return [o % np.uint64(2**bits) for o in out]
        ''')),
        Wrong("delegates to the course's version", visible=True, message="course function", source='''
            def mask_inputs(values, *, bits, rng):
                return H.federated.mask_inputs(values, bits=bits, rng=rng)
        '''),
    ],
}

WRONG = {**AVERAGE, **UPDATE, **SPLIT, **DP, **MASKS}

RIGHT = {
    "fed-weighted-average": [
        Right("stacks every key and uses np.average with weights", '''
            def weighted_average(client_weights, num_examples):
                if len(client_weights) == 0 or len(client_weights) != len(num_examples):
                    raise ValueError("one size per client")
                if min(num_examples) < 1:
                    raise ValueError("sizes must be >= 1")
                return {k: np.average(np.stack([np.asarray(w[k], dtype=np.float64) for w in client_weights]), axis=0,
                                      weights=np.asarray(num_examples, dtype=np.float64)).astype(np.float32)
                        for k in client_weights[0]}
        '''),
    ],
    "fed-client-update": [
        Right("loads the weights with load_state_dict on a deepcopy", '''
            def client_update(model, weights, x, y, *, epochs, batch_size, lr, generator=None):
                local = copy.deepcopy(model)
                local.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
                training.fit(local, x, y, epochs=epochs, batch_size=batch_size, lr=lr, generator=generator, progress=False)
                return {k: v.detach().numpy().astype(np.float32) for k, v in local.state_dict().items()}, int(len(x))
        '''),
    ],
    "fed-shard-split": [
        Right("builds the parts with a loop and a boolean mask", '''
            def shard_partition(labels, *, num_parts, shards_per_part=2, rng=None):
                labels = np.asarray(labels)
                total = num_parts * shards_per_part
                if total > len(labels):
                    raise ValueError("too many shards")
                shards = np.array_split(np.argsort(labels, kind="stable"), total)
                perm = rng.permutation(total).reshape(num_parts, shards_per_part)
                parts = []
                for row in perm:
                    member = np.zeros(len(labels), dtype=bool)
                    for s in row:
                        member[shards[s]] = True
                    parts.append(np.flatnonzero(member).astype(np.int64))
                return parts
        '''),
    ],
    "fed-dp-aggregate": [
        Right("flattens each update into one vector to clip it", '''
            def dp_fedavg_aggregate(updates, *, clip_norm, noise_multiplier, expected_clients, rng):
                keys = list(updates[0])
                total = {k: 0.0 for k in keys}
                for u in updates:
                    flat = np.concatenate([np.ravel(u[k]).astype(np.float64) for k in keys])
                    norm = np.linalg.norm(flat)
                    scale = 1.0 if norm <= clip_norm else clip_norm / norm
                    for k in keys:
                        total[k] = total[k] + scale * np.asarray(u[k], dtype=np.float64)
                out = {}
                for k in keys:
                    noise = rng.normal(0.0, noise_multiplier * clip_norm, size=np.shape(updates[0][k]))
                    out[k] = (total[k] + noise) / expected_clients
                return out
        '''),
    ],
    "fed-pairwise-masks": [
        Right("reduces with a bit mask after every step", '''
            def mask_inputs(values, *, bits, rng):
                top = np.uint64(2**bits - 1)
                out = [np.asarray(v).astype(np.uint64) for v in values]
                for i in range(len(out)):
                    for j in range(i + 1, len(out)):
                        m = rng.integers(0, 2**bits, size=out[0].shape, dtype=np.uint64)
                        out[i] = (out[i] + m) & top
                        out[j] = (out[j] - m) & top
                return out
        '''),
    ],
}
