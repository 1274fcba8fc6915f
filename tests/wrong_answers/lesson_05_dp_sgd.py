"""Lesson 05 (DP-SGD): wrong answers students write, and other right ones.

The mistakes that break the privacy guarantee (clipping the batch instead of each example, noise of
std σ instead of σC, noise not from the given generator, dividing by the realised batch size, a σ
that spends more than the target) must fail already at the visible test.
"""
from wrong_answers import Right, Wrong

# ----------------------------------------------------------------------------- Exercise 1: the loop

LOOP = {
    "per-sample-loop": [
        Wrong("delegates to a sibling: the course's vmap version", visible=True, message="course function", source='''
            def per_sample_gradients_loop(model, loss_fn, x, y):
                return H.dpsgd.per_sample_gradients(model, loss_fn, x, y)
        '''),
        Wrong("the gradient of the batch's mean loss, repeated for every example", visible=True, message="differ",
              source='''
            def per_sample_gradients_loop(model, loss_fn, x, y):
                params = {n: p for n, p in model.named_parameters() if p.requires_grad}
                grads = torch.autograd.grad(loss_fn(model(x), y), list(params.values()))
                return {n: g.detach().unsqueeze(0).expand(x.shape[0], *g.shape).clone() for n, g in zip(params, grads)}
        '''),
        Wrong("differentiates the frozen parameters too", visible=True, message="raised", source='''
            def per_sample_gradients_loop(model, loss_fn, x, y):
                params = dict(model.named_parameters())
                out = {n: [] for n in params}
                for i in range(x.shape[0]):
                    grads = torch.autograd.grad(loss_fn(model(x[i:i + 1]), y[i:i + 1]), list(params.values()))
                    for n, g in zip(params, grads):
                        out[n].append(g.detach())
                return {n: torch.stack(v) for n, v in out.items()}
        '''),
        Wrong("flattens each example's gradient: shape (B, numel) instead of (B, *param.shape)", visible=True,
              message="shape", source='''
            def per_sample_gradients_loop(model, loss_fn, x, y):
                params = {n: p for n, p in model.named_parameters() if p.requires_grad}
                out = {n: [] for n in params}
                for i in range(x.shape[0]):
                    grads = torch.autograd.grad(loss_fn(model(x[i:i + 1]), y[i:i + 1]), list(params.values()))
                    for n, g in zip(params, grads):
                        out[n].append(g.detach().flatten())
                return {n: torch.stack(v) for n, v in out.items()}
        '''),
        Wrong("loss.backward() without zeroing .grad: each entry accumulates the earlier examples", visible=True,
              message="differ", source='''
            def per_sample_gradients_loop(model, loss_fn, x, y):
                params = {n: p for n, p in model.named_parameters() if p.requires_grad}
                out = {n: [] for n in params}
                for i in range(x.shape[0]):
                    loss_fn(model(x[i:i + 1]), y[i:i + 1]).backward()
                    for n, p in params.items():
                        out[n].append(p.grad.detach().clone())
                return {n: torch.stack(v) for n, v in out.items()}
        '''),
        Wrong("x[i] instead of x[i:i+1]: the example loses its batch dimension", visible=True, message="raised",
              source='''
            def per_sample_gradients_loop(model, loss_fn, x, y):
                params = {n: p for n, p in model.named_parameters() if p.requires_grad}
                out = {n: [] for n in params}
                for i in range(x.shape[0]):
                    grads = torch.autograd.grad(loss_fn(model(x[i]), y[i]), list(params.values()))
                    for n, g in zip(params, grads):
                        out[n].append(g.detach())
                return {n: torch.stack(v) for n, v in out.items()}
        '''),
        Wrong("a list of per-example dicts instead of one dict of stacked tensors", visible=True,
              message="expected a dict", source='''
            def per_sample_gradients_loop(model, loss_fn, x, y):
                params = {n: p for n, p in model.named_parameters() if p.requires_grad}
                result = []
                for i in range(x.shape[0]):
                    grads = torch.autograd.grad(loss_fn(model(x[i:i + 1]), y[i:i + 1]), list(params.values()))
                    result.append({n: g.detach() for n, g in zip(params, grads)})
                return result
        '''),
    ],
}

# ----------------------------------------------------------------------------- Exercise 2: vmap

VMAP = {
    "per-sample-vmap": [
        Wrong("delegates to a sibling: the course's loop version", visible=True, message="course function", source='''
            def per_sample_gradients(model, loss_fn, x, y):
                return H.dpsgd.per_sample_gradients_loop(model, loss_fn, x, y)
        '''),
        Wrong("grad of the whole batch's loss, no vmap: one gradient, not one per example", visible=True,
              message="shape", source='''
            def per_sample_gradients(model, loss_fn, x, y):
                from torch.func import functional_call, grad
                params = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}
                return dict(grad(lambda p: loss_fn(functional_call(model, p, (x,)), y))(params))
        '''),
        Wrong("returns gradients for the frozen parameters too", visible=True, message="keys", source='''
            def per_sample_gradients(model, loss_fn, x, y):
                from torch.func import functional_call, grad, vmap
                params = {n: p.detach() for n, p in model.named_parameters()}
                def loss_one(p, xi, yi):
                    return loss_fn(functional_call(model, p, (xi.unsqueeze(0),)), yi.unsqueeze(0))
                return dict(vmap(grad(loss_one), in_dims=(None, 0, 0))(params, x, y))
        '''),
        Wrong("forgets xi.unsqueeze(0): the model sees an example without its batch dimension", visible=True,
              message="raised", source='''
            def per_sample_gradients(model, loss_fn, x, y):
                from torch.func import functional_call, grad, vmap
                params = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}
                def loss_one(p, xi, yi):
                    return loss_fn(functional_call(model, p, (xi,)), yi)
                return dict(vmap(grad(loss_one), in_dims=(None, 0, 0))(params, x, y))
        '''),
        Wrong("calls model(...) instead of functional_call: the loss does not depend on the params differentiated",
              visible=True, message="differ", source='''
            def per_sample_gradients(model, loss_fn, x, y):
                from torch.func import grad, vmap
                params = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}
                def loss_one(p, xi, yi):
                    return loss_fn(model(xi.unsqueeze(0)), yi.unsqueeze(0))
                return dict(vmap(grad(loss_one), in_dims=(None, 0, 0))(params, x, y))
        '''),
        Wrong("vmaps over the parameters too (in_dims=0 for params)", visible=True, message="raised", source='''
            def per_sample_gradients(model, loss_fn, x, y):
                from torch.func import functional_call, grad, vmap
                params = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}
                def loss_one(p, xi, yi):
                    return loss_fn(functional_call(model, p, (xi.unsqueeze(0),)), yi.unsqueeze(0))
                return dict(vmap(grad(loss_one), in_dims=(0, 0, 0))(params, x, y))
        '''),
        Wrong("a list of tensors instead of a dict", visible=True, message="expected a dict", source='''
            def per_sample_gradients(model, loss_fn, x, y):
                from torch.func import functional_call, grad, vmap
                params = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}
                def loss_one(p, xi, yi):
                    return loss_fn(functional_call(model, p, (xi.unsqueeze(0),)), yi.unsqueeze(0))
                return list(vmap(grad(loss_one), in_dims=(None, 0, 0))(params, x, y).values())
        '''),
    ],
}

# ----------------------------------------------------------------------------- Exercise 3: clipping

_NORM = "torch.sqrt(sum((g.flatten(1) ** 2).sum(1) for g in per_sample_grads.values()))"

CLIP = {
    "clip": [
        Wrong("clips the batch, not each example: one norm for the whole batch", visible=True, message="differ",
              source='''
            def clip_gradients(per_sample_grads, *, max_norm):
                if not max_norm > 0:
                    raise ValueError("max_norm must be > 0")
                total = torch.sqrt(sum((g ** 2).sum() for g in per_sample_grads.values()))
                factor = min(1.0, max_norm / float(total))
                return {n: g * factor for n, g in per_sample_grads.items()}
        '''),
        Wrong("clips each parameter separately (one norm per example and parameter)", visible=True, message="differ",
              source='''
            def clip_gradients(per_sample_grads, *, max_norm):
                if not max_norm > 0:
                    raise ValueError("max_norm must be > 0")
                out = {}
                for n, g in per_sample_grads.items():
                    norm = g.flatten(1).norm(dim=1)
                    factor = torch.clamp(max_norm / (norm + 1e-12), max=1.0)
                    out[n] = g * factor.reshape(-1, *([1] * (g.ndim - 1)))
                return out
        '''),
        Wrong("scales every example to norm C (forgets the min with 1)", visible=True, message="differ", source=f'''
            def clip_gradients(per_sample_grads, *, max_norm):
                if not max_norm > 0:
                    raise ValueError("max_norm must be > 0")
                norms = {_NORM}
                factor = max_norm / (norms + 1e-12)
                return {{n: g * factor.reshape(-1, *([1] * (g.ndim - 1))) for n, g in per_sample_grads.items()}}
        '''),
        Wrong("max instead of min: small gradients are blown up to C", visible=True, message="differ", source=f'''
            def clip_gradients(per_sample_grads, *, max_norm):
                if not max_norm > 0:
                    raise ValueError("max_norm must be > 0")
                norms = {_NORM}
                factor = torch.clamp(max_norm / (norms + 1e-12), min=1.0)
                return {{n: g * factor.reshape(-1, *([1] * (g.ndim - 1))) for n, g in per_sample_grads.items()}}
        '''),
        Wrong("clips each value to [-C, C] instead of the norm", visible=True, message="differ", source='''
            def clip_gradients(per_sample_grads, *, max_norm):
                if not max_norm > 0:
                    raise ValueError("max_norm must be > 0")
                return {n: torch.clamp(g, -max_norm, max_norm) for n, g in per_sample_grads.items()}
        '''),
        Wrong("the L1 norm instead of the L2 norm", visible=True, message="differ", source='''
            def clip_gradients(per_sample_grads, *, max_norm):
                if not max_norm > 0:
                    raise ValueError("max_norm must be > 0")
                norms = sum(g.flatten(1).abs().sum(1) for g in per_sample_grads.values())
                factor = torch.clamp(max_norm / (norms + 1e-12), max=1.0)
                return {n: g * factor.reshape(-1, *([1] * (g.ndim - 1))) for n, g in per_sample_grads.items()}
        '''),
        Wrong("no validation: max_norm <= 0 silently zeroes or flips the gradients", visible=True,
              message="expected it to raise", source=f'''
            def clip_gradients(per_sample_grads, *, max_norm):
                norms = {_NORM}
                factor = torch.clamp(max_norm / (norms + 1e-12), max=1.0)
                return {{n: g * factor.reshape(-1, *([1] * (g.ndim - 1))) for n, g in per_sample_grads.items()}}
        '''),
        Wrong("clips in place: the caller's per-example gradients change", visible=True, message="changed the dict",
              source=f'''
            def clip_gradients(per_sample_grads, *, max_norm):
                if not max_norm > 0:
                    raise ValueError("max_norm must be > 0")
                norms = {_NORM}
                factor = torch.clamp(max_norm / (norms + 1e-12), max=1.0)
                for g in per_sample_grads.values():
                    g.mul_(factor.reshape(-1, *([1] * (g.ndim - 1))))
                return per_sample_grads
        '''),
        Wrong("direction times clipped length: 0/0 = NaN for an example with zero gradient", source=f'''
            def clip_gradients(per_sample_grads, *, max_norm):
                if not max_norm > 0:
                    raise ValueError("max_norm must be > 0")
                norms = {_NORM}
                length = torch.clamp(norms, max=max_norm)
                return {{n: g / norms.reshape(-1, *([1] * (g.ndim - 1))) * length.reshape(-1, *([1] * (g.ndim - 1)))
                        for n, g in per_sample_grads.items()}}
        '''),
    ],
}

# ----------------------------------------------------------------------------- Exercise 4: noise

_CHECKS = '''
                if noise_multiplier < 0:
                    raise ValueError("noise_multiplier must be >= 0")
                if not max_norm > 0:
                    raise ValueError("max_norm must be > 0")'''

NOISE = {
    "noise": [
        Wrong("noise of std σ instead of σC", visible=True, message="differ", source=f'''
            def add_noise(summed, *, noise_multiplier, max_norm, generator=None):{_CHECKS}
                return {{n: g + torch.randn(g.shape, generator=generator, dtype=g.dtype) * noise_multiplier
                        for n, g in summed.items()}}
        '''),
        Wrong("torch's global generator instead of the one given", visible=True, message="differ", source=f'''
            def add_noise(summed, *, noise_multiplier, max_norm, generator=None):{_CHECKS}
                return {{n: g + torch.randn(g.shape, dtype=g.dtype) * noise_multiplier * max_norm for n, g in summed.items()}}
        '''),
        Wrong("a fixed-seed generator of its own (same noise every call)", visible=True, message="same result", source=f'''
            def add_noise(summed, *, noise_multiplier, max_norm, generator=None):{_CHECKS}
                mine = torch.Generator().manual_seed(0)
                return {{n: g + torch.randn(g.shape, generator=mine, dtype=g.dtype) * noise_multiplier * max_norm
                        for n, g in summed.items()}}
        '''),
        Wrong("draws the tensors' noise in reverse order", visible=True, message="differ", source=f'''
            def add_noise(summed, *, noise_multiplier, max_norm, generator=None):{_CHECKS}
                noise = {{n: torch.randn(g.shape, generator=generator, dtype=g.dtype) for n, g in reversed(list(summed.items()))}}
                return {{n: g + noise[n] * noise_multiplier * max_norm for n, g in summed.items()}}
        '''),
        Wrong("the variance (σC)² used as the standard deviation", visible=True, message="differ", source=f'''
            def add_noise(summed, *, noise_multiplier, max_norm, generator=None):{_CHECKS}
                return {{n: g + torch.randn(g.shape, generator=generator, dtype=g.dtype) * (noise_multiplier * max_norm) ** 2
                        for n, g in summed.items()}}
        '''),
        Wrong("adds the noise in place: the caller's sums change", visible=True, message="changed the dict", source=f'''
            def add_noise(summed, *, noise_multiplier, max_norm, generator=None):{_CHECKS}
                for g in summed.values():
                    g.add_(torch.randn(g.shape, generator=generator, dtype=g.dtype) * noise_multiplier * max_norm)
                return summed
        '''),
        Wrong("float32 noise (torch.randn without dtype=g.dtype) on float64 sums", visible=True, message="float32",
              source=f'''
            def add_noise(summed, *, noise_multiplier, max_norm, generator=None):{_CHECKS}
                return {{n: g + torch.randn(g.shape, generator=generator) * noise_multiplier * max_norm
                        for n, g in summed.items()}}
        '''),
        Wrong("no validation", visible=True, message="expected it to raise", source='''
            def add_noise(summed, *, noise_multiplier, max_norm, generator=None):
                return {n: g + torch.randn(g.shape, generator=generator, dtype=g.dtype) * noise_multiplier * max_norm
                        for n, g in summed.items()}
        '''),
        Wrong("generator=None replaced by a fixed seed of its own: the same noise on every call", visible=True,
              message="exactly the same noise", source=f'''
            def add_noise(summed, *, noise_multiplier, max_norm, generator=None):{_CHECKS}
                if generator is None:
                    generator = torch.Generator().manual_seed(0)
                return {{n: g + torch.randn(g.shape, generator=generator, dtype=g.dtype) * noise_multiplier * max_norm
                        for n, g in summed.items()}}
        '''),
        Wrong("rejects noise_multiplier = 0 (the text asks to reject < 0 only)", visible=True, message="raised ValueError",
              source='''
            def add_noise(summed, *, noise_multiplier, max_norm, generator=None):
                if not noise_multiplier > 0 or not max_norm > 0:
                    raise ValueError("noise_multiplier and max_norm must be > 0")
                return {n: g + torch.randn(g.shape, generator=generator, dtype=g.dtype) * noise_multiplier * max_norm
                        for n, g in summed.items()}
        '''),
    ],
}

# ----------------------------------------------------------------------------- Exercise 5: one step


def _step(body: str) -> str:
    return '''
        def dp_sgd_step(model, loss_fn, x, y, *, optimizer, max_norm, noise_multiplier, expected_batch_size, generator=None):
''' + body


STEP = {
    "dp-sgd-step": [
        Wrong("generator=None replaced by a fixed seed of its own: every step's noise is predictable", visible=True,
              message="exactly the same noisy gradient", source=_step('''
            if generator is None:
                generator = torch.Generator().manual_seed(0)
            clipped = H.dpsgd.clip_gradients(H.dpsgd.per_sample_gradients(model, loss_fn, x, y), max_norm=max_norm)
            noisy = H.dpsgd.add_noise({n: g.sum(0) for n, g in clipped.items()}, noise_multiplier=noise_multiplier,
                                      max_norm=max_norm, generator=generator)
            averaged = {n: g / expected_batch_size for n, g in noisy.items()}
            for n, p in model.named_parameters():
                if p.requires_grad:
                    p.grad = averaged[n].clone()
            optimizer.step()
            return averaged
        ''')),
        Wrong("divides by the realised batch size len(x): the size of a Poisson batch depends on the data",
              visible=True, message="differ", source=_step('''
            clipped = H.dpsgd.clip_gradients(H.dpsgd.per_sample_gradients(model, loss_fn, x, y), max_norm=max_norm)
            noisy = H.dpsgd.add_noise({n: g.sum(0) for n, g in clipped.items()}, noise_multiplier=noise_multiplier,
                                      max_norm=max_norm, generator=generator)
            averaged = {n: g / len(x) for n, g in noisy.items()}
            for n, p in model.named_parameters():
                if p.requires_grad:
                    p.grad = averaged[n].clone()
            optimizer.step()
            return averaged
        ''')),
        Wrong("clips the summed batch gradient instead of each example", visible=True, message="differ", source=_step('''
            per = H.dpsgd.per_sample_gradients(model, loss_fn, x, y)
            summed = H.dpsgd.clip_gradients({n: g.sum(0, keepdim=True) for n, g in per.items()}, max_norm=max_norm)
            noisy = H.dpsgd.add_noise({n: g[0] for n, g in summed.items()}, noise_multiplier=noise_multiplier,
                                      max_norm=max_norm, generator=generator)
            averaged = {n: g / expected_batch_size for n, g in noisy.items()}
            for n, p in model.named_parameters():
                if p.requires_grad:
                    p.grad = averaged[n].clone()
            optimizer.step()
            return averaged
        ''')),
        Wrong("noise of std σ instead of σC (max_norm=1 passed to add_noise)", visible=True, message="differ",
              source=_step('''
            clipped = H.dpsgd.clip_gradients(H.dpsgd.per_sample_gradients(model, loss_fn, x, y), max_norm=max_norm)
            noisy = H.dpsgd.add_noise({n: g.sum(0) for n, g in clipped.items()}, noise_multiplier=noise_multiplier,
                                      max_norm=1.0, generator=generator)
            averaged = {n: g / expected_batch_size for n, g in noisy.items()}
            for n, p in model.named_parameters():
                if p.requires_grad:
                    p.grad = averaged[n].clone()
            optimizer.step()
            return averaged
        ''')),
        Wrong("adds noise to every example before summing (√B times too much noise, other draws)", visible=True,
              message="differ", source=_step('''
            clipped = H.dpsgd.clip_gradients(H.dpsgd.per_sample_gradients(model, loss_fn, x, y), max_norm=max_norm)
            noisy = H.dpsgd.add_noise(clipped, noise_multiplier=noise_multiplier, max_norm=max_norm, generator=generator)
            averaged = {n: g.sum(0) / expected_batch_size for n, g in noisy.items()}
            for n, p in model.named_parameters():
                if p.requires_grad:
                    p.grad = averaged[n].clone()
            optimizer.step()
            return averaged
        ''')),
        Wrong("forgets to pass the generator: the noise comes from torch's global generator", visible=True,
              message="differ", source=_step('''
            clipped = H.dpsgd.clip_gradients(H.dpsgd.per_sample_gradients(model, loss_fn, x, y), max_norm=max_norm)
            noisy = H.dpsgd.add_noise({n: g.sum(0) for n, g in clipped.items()}, noise_multiplier=noise_multiplier,
                                      max_norm=max_norm)
            averaged = {n: g / expected_batch_size for n, g in noisy.items()}
            for n, p in model.named_parameters():
                if p.requires_grad:
                    p.grad = averaged[n].clone()
            optimizer.step()
            return averaged
        ''')),
        Wrong("divides by L before adding the noise (noise σC instead of σC/L in the update)", visible=True,
              message="differ", source=_step('''
            clipped = H.dpsgd.clip_gradients(H.dpsgd.per_sample_gradients(model, loss_fn, x, y), max_norm=max_norm)
            averaged = {n: g.sum(0) / expected_batch_size for n, g in clipped.items()}
            noisy = H.dpsgd.add_noise(averaged, noise_multiplier=noise_multiplier, max_norm=max_norm, generator=generator)
            for n, p in model.named_parameters():
                if p.requires_grad:
                    p.grad = noisy[n].clone()
            optimizer.step()
            return noisy
        ''')),
        Wrong("forgets optimizer.step()", visible=True, message="parameters after dp_sgd_step", source=_step('''
            clipped = H.dpsgd.clip_gradients(H.dpsgd.per_sample_gradients(model, loss_fn, x, y), max_norm=max_norm)
            noisy = H.dpsgd.add_noise({n: g.sum(0) for n, g in clipped.items()}, noise_multiplier=noise_multiplier,
                                      max_norm=max_norm, generator=generator)
            averaged = {n: g / expected_batch_size for n, g in noisy.items()}
            for n, p in model.named_parameters():
                if p.requires_grad:
                    p.grad = averaged[n].clone()
            return averaged
        ''')),
        Wrong("adds to an old .grad instead of replacing it (a non-private gradient leaks into the step)",
              visible=True, message="parameters after dp_sgd_step", source=_step('''
            clipped = H.dpsgd.clip_gradients(H.dpsgd.per_sample_gradients(model, loss_fn, x, y), max_norm=max_norm)
            noisy = H.dpsgd.add_noise({n: g.sum(0) for n, g in clipped.items()}, noise_multiplier=noise_multiplier,
                                      max_norm=max_norm, generator=generator)
            averaged = {n: g / expected_batch_size for n, g in noisy.items()}
            for n, p in model.named_parameters():
                if p.requires_grad:
                    p.grad = averaged[n].clone() if p.grad is None else p.grad + averaged[n]
            optimizer.step()
            return averaged
        ''')),
        Wrong("delegates to a sibling: the course's DPSGD class", visible=True, message="course function", source=_step('''
            engine = H.dpsgd.DPSGD(model, loss_fn, optimizer, max_norm=max_norm, noise_multiplier=noise_multiplier,
                                   expected_batch_size=expected_batch_size, generator=generator)
            summed, _ = engine.clipped_sum(x, y)
            noisy = H.dpsgd.add_noise(summed, noise_multiplier=noise_multiplier, max_norm=max_norm, generator=generator)
            averaged = {n: g / expected_batch_size for n, g in noisy.items()}
            for n, p in model.named_parameters():
                if p.requires_grad:
                    p.grad = averaged[n].clone()
            optimizer.step()
            return averaged
        ''')),
        Wrong("indexes every parameter, frozen ones included (KeyError on a frozen layer)", source=_step('''
            clipped = H.dpsgd.clip_gradients(H.dpsgd.per_sample_gradients(model, loss_fn, x, y), max_norm=max_norm)
            noisy = H.dpsgd.add_noise({n: g.sum(0) for n, g in clipped.items()}, noise_multiplier=noise_multiplier,
                                      max_norm=max_norm, generator=generator)
            averaged = {n: g / expected_batch_size for n, g in noisy.items()}
            for n, p in model.named_parameters():
                p.grad = averaged[n].clone()
            optimizer.step()
            return averaged
        ''')),
    ],
}

# ----------------------------------------------------------------------------- Exercise 6: RDP of one step


def _rdp(body: str) -> str:
    return '''
        def rdp_subsampled_gaussian(*, noise_multiplier, sample_rate, orders):
            from scipy.special import gammaln, logsumexp
            q, s = sample_rate, noise_multiplier
            out = []
            for a in orders:
                a = int(a)
                k = np.arange(a + 1)
''' + body


RDP = {
    "rdp-step": [
        Wrong("math.log(q) and math.log1p(-q) term by term: at q = 1 (the text's check) math.log1p(-1) raises",
              visible=True, message="raised ValueError", source='''
            def rdp_subsampled_gaussian(*, noise_multiplier, sample_rate, orders):
                import math
                from scipy.special import logsumexp
                q, s = sample_rate, noise_multiplier
                out = []
                for a in orders:
                    a = int(a)
                    terms = [math.lgamma(a + 1) - math.lgamma(k + 1) - math.lgamma(a - k + 1) + k * math.log(q)
                             + (a - k) * math.log1p(-q) + (k * k - k) / (2 * s * s) for k in range(a + 1)]
                    out.append(logsumexp(terms) / (a - 1))
                return np.array(out)
        '''),
        Wrong("no log space: exp((k²-k)/(2σ²)) overflows to inf at large orders", visible=True, message="differ",
              source='''
            def rdp_subsampled_gaussian(*, noise_multiplier, sample_rate, orders):
                from scipy.special import comb
                q, s = sample_rate, noise_multiplier
                out = []
                for a in orders:
                    a = int(a)
                    k = np.arange(a + 1)
                    total = np.sum(comb(a, k) * (1 - q) ** (a - k) * q ** k * np.exp((k * k - k) / (2 * s ** 2)))
                    out.append(np.log(total) / (a - 1))
                return np.array(out)
        '''),
        Wrong("the sum stops at k = α - 1 (off by one)", visible=True, message="differ", source=_rdp('''
                k = np.arange(a)
                log_binom = gammaln(a + 1) - gammaln(k + 1) - gammaln(a - k + 1)
                terms = log_binom + k * np.log(q) + (a - k) * np.log1p(-q) + (k * k - k) / (2 * s ** 2)
                out.append(logsumexp(terms) / (a - 1))
            return np.array(out)
        ''')),
        Wrong("divides by α instead of α - 1", visible=True, message="differ", source=_rdp('''
                log_binom = gammaln(a + 1) - gammaln(k + 1) - gammaln(a - k + 1)
                terms = log_binom + k * np.log(q) + (a - k) * np.log1p(-q) + (k * k - k) / (2 * s ** 2)
                out.append(logsumexp(terms) / a)
            return np.array(out)
        ''')),
        Wrong("forgets the binomial coefficient", visible=True, message="differ", source=_rdp('''
                terms = k * np.log(q) + (a - k) * np.log1p(-q) + (k * k - k) / (2 * s ** 2)
                out.append(logsumexp(terms) / (a - 1))
            return np.array(out)
        ''')),
        Wrong("(k² + k) instead of (k² - k) in the exponent", visible=True, message="differ", source=_rdp('''
                log_binom = gammaln(a + 1) - gammaln(k + 1) - gammaln(a - k + 1)
                terms = log_binom + k * np.log(q) + (a - k) * np.log1p(-q) + (k * k + k) / (2 * s ** 2)
                out.append(logsumexp(terms) / (a - 1))
            return np.array(out)
        ''')),
        Wrong("swaps q and 1 - q", visible=True, message="differ", source=_rdp('''
                log_binom = gammaln(a + 1) - gammaln(k + 1) - gammaln(a - k + 1)
                terms = log_binom + (a - k) * np.log(q) + k * np.log1p(-q) + (k * k - k) / (2 * s ** 2)
                out.append(logsumexp(terms) / (a - 1))
            return np.array(out)
        ''')),
        Wrong("returns a list where a numpy array is asked", visible=True, message="numpy array", source=_rdp('''
                log_binom = gammaln(a + 1) - gammaln(k + 1) - gammaln(a - k + 1)
                terms = log_binom + k * np.log(q) + (a - k) * np.log1p(-q) + (k * k - k) / (2 * s ** 2)
                out.append(float(logsumexp(terms) / (a - 1)))
            return out
        ''')),
        Wrong("delegates to a sibling: the course's RDPAccountant", visible=True, message="course function", source='''
            def rdp_subsampled_gaussian(*, noise_multiplier, sample_rate, orders):
                accountant = H.accounting.RDPAccountant(orders=orders)
                accountant.step(noise_multiplier=noise_multiplier, sample_rate=sample_rate)
                return accountant.rdp
        '''),
    ],
}

# ----------------------------------------------------------------------------- Exercise 7: RDP -> (ε, δ)


def _conv(body: str, *, validate: bool = True) -> str:
    checks = '''
            if not 0 < delta < 1:
                raise ValueError("delta must be in (0, 1)")
            if conversion not in ("improved", "classic"):
                raise ValueError("unknown conversion")''' if validate else '''
            if not 0 < delta < 1:
                raise ValueError("delta must be in (0, 1)")'''
    return '''
        def rdp_to_epsilon(rdp, orders, *, delta, conversion="improved"):''' + checks + '''
            rho, a = np.asarray(rdp, dtype=float), np.asarray(orders, dtype=float)
''' + body


CLASSIC = "rho + np.log(1 / delta) / (a - 1)"
IMPROVED = "rho + np.log((a - 1) / a) - (np.log(delta) + np.log(a)) / (a - 1)"

CONVERT = {
    "rdp-to-eps": [
        Wrong("the classic and improved formulas swapped", visible=True, message="position 0", source=_conv(f'''
            eps = {IMPROVED} if conversion == "classic" else {CLASSIC}
            i = int(np.argmin(eps))
            return max(0.0, float(eps[i])), float(a[i])
        ''')),
        Wrong("returns the index of the best order instead of the order", visible=True, message="position 1",
              source=_conv(f'''
            eps = {CLASSIC} if conversion == "classic" else {IMPROVED}
            i = int(np.argmin(eps))
            return max(0.0, float(eps[i])), float(i)
        ''')),
        Wrong("returns (order, epsilon) swapped", visible=True, message="position 0", source=_conv(f'''
            eps = {CLASSIC} if conversion == "classic" else {IMPROVED}
            i = int(np.argmin(eps))
            return float(a[i]), max(0.0, float(eps[i]))
        ''')),
        Wrong("the largest epsilon over the orders instead of the smallest", visible=True, message="position 0",
              source=_conv(f'''
            eps = {CLASSIC} if conversion == "classic" else {IMPROVED}
            i = int(np.argmax(eps))
            return max(0.0, float(eps[i])), float(a[i])
        ''')),
        Wrong("the best order is the one with the smallest RDP", visible=True, message="position", source=_conv(f'''
            eps = {CLASSIC} if conversion == "classic" else {IMPROVED}
            i = int(np.argmin(rho))
            return max(0.0, float(eps[i])), float(a[i])
        ''')),
        Wrong("log(δ) instead of log(1/δ) in the classic formula", visible=True, message="position 0", source=_conv(f'''
            eps = rho + np.log(delta) / (a - 1) if conversion == "classic" else {IMPROVED}
            i = int(np.argmin(eps))
            return max(0.0, float(eps[i])), float(a[i])
        ''')),
        Wrong("no check of conversion= ('magic' is read as improved)", visible=True, message="expected it to raise",
              source=_conv(f'''
            eps = {CLASSIC} if conversion == "classic" else {IMPROVED}
            i = int(np.argmin(eps))
            return max(0.0, float(eps[i])), float(a[i])
        ''', validate=False)),
        Wrong("δ fixed at 1e-5 (the visible cases' value)", source=_conv('''
            d = 1e-5
            eps = rho + np.log(1 / d) / (a - 1) if conversion == "classic" else rho + np.log((a - 1) / a) - (np.log(d) + np.log(a)) / (a - 1)
            i = int(np.argmin(eps))
            return max(0.0, float(eps[i])), float(a[i])
        ''')),
        Wrong("epsilon not clipped at 0", source=_conv(f'''
            eps = {CLASSIC} if conversion == "classic" else {IMPROVED}
            i = int(np.argmin(eps))
            return float(eps[i]), float(a[i])
        ''')),
    ],
}

# ----------------------------------------------------------------------------- Exercise 8: calibrating σ

_CAL_HEAD = '''
        def noise_multiplier(*, target_epsilon, delta, sample_rate, steps, conversion="improved", tol=1e-3):
            if not target_epsilon > 0:
                raise ValueError("target_epsilon must be > 0")
            if not 0 < delta < 1:
                raise ValueError("delta must be in (0, 1)")
            def eps(s):
                return H.accounting.epsilon(noise_multiplier=s, sample_rate=sample_rate, steps=steps, delta=delta,
                                            conversion=conversion)
'''

CALIBRATE = {
    "calibrate": [
        Wrong("returns lo: σ just below the threshold spends more than the target (a privacy bug)", visible=True,
              message="too little noise", source=_CAL_HEAD + '''
            lo, hi = 0.0, 1.0
            while eps(hi) > target_epsilon:
                lo, hi = hi, 2 * hi
            while hi - lo > tol:
                mid = (lo + hi) / 2
                if eps(mid) > target_epsilon:
                    lo = mid
                else:
                    hi = mid
            return lo
        '''),
        Wrong("ignores conversion= (always the improved one)", visible=True, message="returned", source='''
            def noise_multiplier(*, target_epsilon, delta, sample_rate, steps, conversion="improved", tol=1e-3):
                if not target_epsilon > 0:
                    raise ValueError("target_epsilon must be > 0")
                if not 0 < delta < 1:
                    raise ValueError("delta must be in (0, 1)")
                def eps(s):
                    return H.accounting.epsilon(noise_multiplier=s, sample_rate=sample_rate, steps=steps, delta=delta)
                lo, hi = 0.0, 1.0
                while eps(hi) > target_epsilon:
                    lo, hi = hi, 2 * hi
                while hi - lo > tol:
                    mid = (lo + hi) / 2
                    if eps(mid) > target_epsilon:
                        lo = mid
                    else:
                        hi = mid
                return hi
        '''),
        Wrong("ignores tol (stops at a width of 0.1)", visible=True, message="returned", source=_CAL_HEAD + '''
            lo, hi = 0.0, 1.0
            while eps(hi) > target_epsilon:
                lo, hi = hi, 2 * hi
            while hi - lo > 0.1:
                mid = (lo + hi) / 2
                if eps(mid) > target_epsilon:
                    lo = mid
                else:
                    hi = mid
            return hi
        '''),
        Wrong("bisects the wrong way (as if ε grew with σ)", visible=True, message="returned", source=_CAL_HEAD + '''
            lo, hi = 0.0, 20.0
            while hi - lo > tol:
                mid = (lo + hi) / 2
                if eps(mid) > target_epsilon:
                    hi = mid
                else:
                    lo = mid
            return hi
        '''),
        Wrong("the √T rule of thumb instead of the accountant", visible=True, message="returned", source='''
            def noise_multiplier(*, target_epsilon, delta, sample_rate, steps, conversion="improved", tol=1e-3):
                if not target_epsilon > 0:
                    raise ValueError("target_epsilon must be > 0")
                if not 0 < delta < 1:
                    raise ValueError("delta must be in (0, 1)")
                return float(sample_rate * np.sqrt(steps * np.log(1 / delta)) / target_epsilon)
        '''),
        Wrong("no validation of target_epsilon (epsilon() only catches the bad delta)", visible=True,
              message="expected it to raise", source='''
            def noise_multiplier(*, target_epsilon, delta, sample_rate, steps, conversion="improved", tol=1e-3):
                def eps(s):
                    return H.accounting.epsilon(noise_multiplier=s, sample_rate=sample_rate, steps=steps, delta=delta,
                                                conversion=conversion)
                lo, hi = 0.0, 1.0
                while eps(hi) > target_epsilon:
                    lo, hi = hi, 2 * hi
                while hi - lo > tol:
                    mid = (lo + hi) / 2
                    if eps(mid) > target_epsilon:
                        lo = mid
                    else:
                        hi = mid
                return hi
        '''),
        Wrong("delegates to the course's noise_multiplier", visible=True, message="course", source='''
            def noise_multiplier(*, target_epsilon, delta, sample_rate, steps, conversion="improved", tol=1e-3):
                return H.accounting.noise_multiplier(target_epsilon=target_epsilon, delta=delta, sample_rate=sample_rate,
                                                     steps=steps, conversion=conversion, tol=tol)
        '''),
        Wrong("bisection that stops when |ε(mid) − target| < tol and returns mid (can spend more than the target)",
              source=_CAL_HEAD + '''
            lo, hi = 0.01, 100.0
            while True:
                mid = (lo + hi) / 2
                spent = eps(mid)
                if abs(spent - target_epsilon) < tol:
                    return mid
                if spent > target_epsilon:
                    lo = mid
                else:
                    hi = mid
        '''),
        Wrong("scipy's brentq on ε(σ) − target with xtol=tol: the root from either side (can overspend)",
              source=_CAL_HEAD + '''
            from scipy.optimize import brentq
            return brentq(lambda s: eps(s) - target_epsilon, 0.05, 100.0, xtol=tol)
        '''),
        Wrong("a linear search in steps of 0.01 (up to 0.01 above the smallest σ, whatever tol says)",
              source=_CAL_HEAD + '''
            s = 0.01
            while eps(s) > target_epsilon:
                s += 0.01
            return s
        '''),
    ],
}

WRONG = {**LOOP, **VMAP, **CLIP, **NOISE, **STEP, **RDP, **CONVERT, **CALIBRATE}

RIGHT = {
    "per-sample-loop": [
        Right("backward() per example, zeroing .grad each time", '''
            def per_sample_gradients_loop(model, loss_fn, x, y):
                names = [n for n, p in model.named_parameters() if p.requires_grad]
                out = {n: [] for n in names}
                for i in range(len(x)):
                    model.zero_grad()
                    loss_fn(model(x[i].unsqueeze(0)), y[i].unsqueeze(0)).backward()
                    for n, p in model.named_parameters():
                        if p.requires_grad:
                            out[n].append(p.grad.detach().clone())
                model.zero_grad()
                return {n: torch.stack(out[n]) for n in names}
        '''),
    ],
    "per-sample-vmap": [
        Right("one merged dict for functional_call (trainable, frozen and buffers)", '''
            def per_sample_gradients(model, loss_fn, x, y):
                from torch.func import functional_call, grad, vmap
                trainable = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}
                rest = {n: p.detach() for n, p in model.named_parameters() if not p.requires_grad}
                rest.update({n: b for n, b in model.named_buffers()})
                def loss_one(p, xi, yi):
                    return loss_fn(functional_call(model, {**p, **rest}, (xi[None],)), yi[None])
                grads = vmap(grad(loss_one), in_dims=(None, 0, 0))(trainable, x, y)
                return {n: grads[n] for n in trainable}
        '''),
    ],
    "clip": [
        Right("copies first, then scales the copies in place", f'''
            def clip_gradients(per_sample_grads, *, max_norm):
                if max_norm <= 0:
                    raise ValueError("max_norm must be > 0")
                out = {{n: g.clone() for n, g in per_sample_grads.items()}}
                norms = {_NORM}
                for g in out.values():
                    g.mul_(torch.clamp(max_norm / (norms + 1e-12), max=1.0).reshape(-1, *([1] * (g.ndim - 1))))
                return out
        '''),
        Right("torch.linalg.vector_norm on the concatenated gradient; g / max(1, norm / C)", '''
            def clip_gradients(per_sample_grads, *, max_norm):
                if max_norm <= 0:
                    raise ValueError(f"max_norm must be positive, got {max_norm}")
                flat = torch.cat([g.reshape(g.shape[0], -1) for g in per_sample_grads.values()], dim=1)
                divisor = torch.clamp(torch.linalg.vector_norm(flat, dim=1) / max_norm, min=1.0)
                return {n: g / divisor.view(-1, *([1] * (g.dim() - 1))) for n, g in per_sample_grads.items()}
        '''),
    ],
    "noise": [
        Right("float64 noise drawn as float64 and cast, dict built by a loop over items", '''
            def add_noise(summed, *, noise_multiplier, max_norm, generator=None):
                if noise_multiplier < 0 or max_norm <= 0:
                    raise ValueError("noise_multiplier must be >= 0 and max_norm > 0")
                out = dict()
                for name, g in summed.items():
                    out[name] = g + (noise_multiplier * max_norm) * torch.randn(g.shape, generator=generator, dtype=g.dtype)
                return out
        '''),
        Right("a loop that builds the new dict", '''
            def add_noise(summed, *, noise_multiplier, max_norm, generator=None):
                if max_norm <= 0:
                    raise ValueError("max_norm must be > 0")
                if noise_multiplier < 0:
                    raise ValueError("noise_multiplier must be >= 0")
                std = noise_multiplier * max_norm
                out = {}
                for name, g in summed.items():
                    z = torch.randn(g.shape, generator=generator, dtype=g.dtype)
                    out[name] = g + std * z
                return out
        '''),
    ],
    "dp-sgd-step": [
        Right("zero_grad, then set each .grad in place, step by step", '''
            def dp_sgd_step(model, loss_fn, x, y, *, optimizer, max_norm, noise_multiplier, expected_batch_size, generator=None):
                per = H.dpsgd.per_sample_gradients(model, loss_fn, x, y)
                clipped = H.dpsgd.clip_gradients(per, max_norm=max_norm)
                summed = {}
                for name, g in clipped.items():
                    summed[name] = g.sum(dim=0)
                noisy = H.dpsgd.add_noise(summed, noise_multiplier=noise_multiplier, max_norm=max_norm, generator=generator)
                result = {name: g / expected_batch_size for name, g in noisy.items()}
                optimizer.zero_grad()
                params = dict(model.named_parameters())
                for name, g in result.items():
                    params[name].grad = g.detach().clone()
                optimizer.step()
                return result
        '''),
    ],
    "rdp-step": [
        Right("scipy.special.comb as logsumexp weights; q = 1 handled as the Gaussian mechanism", '''
            def rdp_subsampled_gaussian(*, noise_multiplier, sample_rate, orders):
                from scipy.special import comb, logsumexp
                out = np.zeros(len(orders))
                for j, a in enumerate(orders):
                    a = int(a)
                    if sample_rate == 1:  # no subsampling (and log(1 - q) = -inf below)
                        out[j] = a / (2 * noise_multiplier ** 2)
                        continue
                    k = np.arange(a + 1)
                    log_terms = k * np.log(sample_rate) + (a - k) * np.log(1 - sample_rate) + (k ** 2 - k) / (2 * noise_multiplier ** 2)
                    out[j] = logsumexp(log_terms, b=comb(a, k)) / (a - 1)
                return out
        '''),
    ],
    "rdp-to-eps": [
        Right("a loop over the orders", '''
            def rdp_to_epsilon(rdp, orders, *, delta, conversion="improved"):
                if conversion not in ("improved", "classic"):
                    raise ValueError(f"unknown conversion {conversion!r}")
                if delta <= 0 or delta >= 1:
                    raise ValueError("delta must be strictly between 0 and 1")
                best = (math.inf, math.nan)
                for r, a in zip(rdp, orders):
                    a = float(a)
                    if conversion == "classic":
                        e = r + math.log(1 / delta) / (a - 1)
                    else:
                        e = r + math.log((a - 1) / a) - (math.log(delta) + math.log(a)) / (a - 1)
                    if e < best[0]:
                        best = (e, a)
                return max(0.0, float(best[0])), best[1]
        '''),
    ],
    "calibrate": [
        Right("a wide bracket [0, 64], bisected until hi - lo <= tol, returning hi", '''
            def noise_multiplier(*, target_epsilon, delta, sample_rate, steps, conversion="improved", tol=1e-3):
                if target_epsilon <= 0:
                    raise ValueError("target_epsilon must be positive")
                if not (0 < delta < 1):
                    raise ValueError("delta must be in (0, 1)")
                lo, hi = 0.0, 64.0
                while hi - lo > tol:
                    mid = 0.5 * (lo + hi)
                    spent = H.accounting.epsilon(noise_multiplier=mid, sample_rate=sample_rate, steps=steps, delta=delta,
                                                 conversion=conversion)
                    if spent <= target_epsilon:
                        hi = mid
                    else:
                        lo = mid
                return hi
        '''),
    ],
}
