"""Lesson 07 (attacks): wrong answers students write, and other right ones.

The mistakes that overstate an attack or an audit (a threshold fitted on the evaluation set, point estimates
instead of Clopper-Pearson upper ends, a bound without δ, ties counted as wins) must fail already at the
visible test: an audit that claims more than it measured is the privacy bug of this lesson.
"""
from wrong_answers import Right, Wrong

# ----------------------------------------------------------------------------- Exercise 1: loss threshold

LOSS = {
    "loss-threshold": [
        Wrong("chooses the threshold on the evaluation set", visible=True, message="returned", source='''
            def loss_threshold_attack(fit_member_losses, fit_nonmember_losses, eval_member_losses, eval_nonmember_losses):
                em = np.asarray(eval_member_losses, dtype=float)
                en = np.asarray(eval_nonmember_losses, dtype=float)
                candidates = np.sort(np.concatenate([em, en]))
                gain = [(em <= t).mean() - (en <= t).mean() for t in candidates]
                tau = float(candidates[int(np.argmax(gain))])
                return tau, float((em <= tau).mean()), float((en <= tau).mean())
        '''),
        Wrong("calls 'member' when the loss is ABOVE the threshold", visible=True, message="returned", source='''
            def loss_threshold_attack(fit_member_losses, fit_nonmember_losses, eval_member_losses, eval_nonmember_losses):
                fm = np.asarray(fit_member_losses, dtype=float)
                fn = np.asarray(fit_nonmember_losses, dtype=float)
                candidates = np.sort(np.concatenate([fm, fn]))
                gain = [(fm >= t).mean() - (fn >= t).mean() for t in candidates]
                tau = float(candidates[int(np.argmax(gain))])
                return tau, float((np.asarray(eval_member_losses) >= tau).mean()), float((np.asarray(eval_nonmember_losses) >= tau).mean())
        '''),
        Wrong("fits the threshold on fit and eval losses together", visible=True, message="returned", source='''
            def loss_threshold_attack(fit_member_losses, fit_nonmember_losses, eval_member_losses, eval_nonmember_losses):
                m = np.concatenate([fit_member_losses, eval_member_losses])
                n = np.concatenate([fit_nonmember_losses, eval_nonmember_losses])
                candidates = np.sort(np.concatenate([m, n]))
                gain = [(m <= t).mean() - (n <= t).mean() for t in candidates]
                tau = float(candidates[int(np.argmax(gain))])
                return tau, float((np.asarray(eval_member_losses) <= tau).mean()), float((np.asarray(eval_nonmember_losses) <= tau).mean())
        '''),
        Wrong("maximises accuracy (TP + TN) / n instead of TPR - FPR: the larger group dominates", source='''
            def loss_threshold_attack(fit_member_losses, fit_nonmember_losses, eval_member_losses, eval_nonmember_losses):
                fm = np.asarray(fit_member_losses, dtype=float)
                fn = np.asarray(fit_nonmember_losses, dtype=float)
                candidates = np.sort(np.concatenate([fm, fn]))
                acc = [((fm <= t).sum() + (fn > t).sum()) / (fm.size + fn.size) for t in candidates]
                tau = float(candidates[int(np.argmax(acc))])
                return tau, float((np.asarray(eval_member_losses) <= tau).mean()), float((np.asarray(eval_nonmember_losses) <= tau).mean())
        '''),
        Wrong("strict '<': the candidate's own loss is not counted", source='''
            def loss_threshold_attack(fit_member_losses, fit_nonmember_losses, eval_member_losses, eval_nonmember_losses):
                fm = np.asarray(fit_member_losses, dtype=float)
                fn = np.asarray(fit_nonmember_losses, dtype=float)
                candidates = np.sort(np.concatenate([fm, fn]))
                gain = [(fm < t).mean() - (fn < t).mean() for t in candidates]
                tau = float(candidates[int(np.argmax(gain))])
                return tau, float((np.asarray(eval_member_losses) < tau).mean()), float((np.asarray(eval_nonmember_losses) < tau).mean())
        '''),
        Wrong("Yeom's original rule: the threshold is the members' mean loss, nothing is chosen", source='''
            def loss_threshold_attack(fit_member_losses, fit_nonmember_losses, eval_member_losses, eval_nonmember_losses):
                tau = float(np.mean(fit_member_losses))
                return tau, float((np.asarray(eval_member_losses) <= tau).mean()), float((np.asarray(eval_nonmember_losses) <= tau).mean())
        '''),
        Wrong("returns the rates on the fit half", source='''
            def loss_threshold_attack(fit_member_losses, fit_nonmember_losses, eval_member_losses, eval_nonmember_losses):
                fm = np.asarray(fit_member_losses, dtype=float)
                fn = np.asarray(fit_nonmember_losses, dtype=float)
                candidates = np.sort(np.concatenate([fm, fn]))
                gain = [(fm <= t).mean() - (fn <= t).mean() for t in candidates]
                i = int(np.argmax(gain))
                tau = float(candidates[i])
                return tau, float((fm <= tau).mean()), float((fn <= tau).mean())
        '''),
        Wrong("delegates to the course's attack", visible=True, message="course function", source='''
            def loss_threshold_attack(fit_member_losses, fit_nonmember_losses, eval_member_losses, eval_nonmember_losses):
                return H.attacks.loss_threshold_attack(fit_member_losses, fit_nonmember_losses, eval_member_losses,
                                                       eval_nonmember_losses)
        '''),
    ],
}

LOSS_RIGHT = {
    "loss-threshold": [
        Right("counts with integers and a loop", '''
            def loss_threshold_attack(fit_member_losses, fit_nonmember_losses, eval_member_losses, eval_nonmember_losses):
                fm, fn = list(fit_member_losses), list(fit_nonmember_losses)
                best, tau = None, None
                for t in sorted(fm + fn):
                    g = sum(v <= t for v in fm) / len(fm) - sum(v <= t for v in fn) / len(fn)
                    if best is None or g > best:
                        best, tau = g, t
                em, en = list(eval_member_losses), list(eval_nonmember_losses)
                return float(tau), sum(v <= tau for v in em) / len(em), sum(v <= tau for v in en) / len(en)
        '''),
    ],
}

# ----------------------------------------------------------------------------- Exercise 2: AUC and TPR@FPR

_TPR_OK = '''
    best = 0.0
    for thr in np.concatenate([s, t]):
        if (t >= thr).mean() <= fpr:
            best = max(best, float((s >= thr).mean()))
'''

ROC = {
    "roc-summary": [
        Wrong("ties counted as losses for the member (no 1/2)", visible=True, message="returned", source='''
            def roc_summary(member_scores, nonmember_scores, *, fpr):
                s = np.asarray(member_scores, dtype=float)
                t = np.asarray(nonmember_scores, dtype=float)
                auc = float((s[:, None] > t[None, :]).mean())
                best = 0.0
                for thr in np.concatenate([s, t]):
                    if (t >= thr).mean() <= fpr:
                        best = max(best, float((s >= thr).mean()))
                return auc, best
        '''),
        Wrong("ties counted as wins for the member (>=)", visible=True, message="returned", source='''
            def roc_summary(member_scores, nonmember_scores, *, fpr):
                s = np.asarray(member_scores, dtype=float)
                t = np.asarray(nonmember_scores, dtype=float)
                auc = float((s[:, None] >= t[None, :]).mean())
                best = 0.0
                for thr in np.concatenate([s, t]):
                    if (t >= thr).mean() <= fpr:
                        best = max(best, float((s >= thr).mean()))
                return auc, best
        '''),
        Wrong("inverted scores: low score = member (AUC becomes 1 - AUC)", visible=True, message="returned", source='''
            def roc_summary(member_scores, nonmember_scores, *, fpr):
                s = -np.asarray(member_scores, dtype=float)
                t = -np.asarray(nonmember_scores, dtype=float)
                auc = float(((s[:, None] > t[None, :]).sum() + 0.5 * (s[:, None] == t[None, :]).sum()) / (s.size * t.size))
                best = 0.0
                for thr in np.concatenate([s, t]):
                    if (t >= thr).mean() <= fpr:
                        best = max(best, float((s >= thr).mean()))
                return auc, best
        '''),
        Wrong("walks the sorted scores one at a time: a member tied with a non-member is counted before it", visible=True,
              message="returned", source='''
            def roc_summary(member_scores, nonmember_scores, *, fpr):
                s = np.asarray(member_scores, dtype=float)
                t = np.asarray(nonmember_scores, dtype=float)
                auc = float(((s[:, None] > t[None, :]).sum() + 0.5 * (s[:, None] == t[None, :]).sum()) / (s.size * t.size))
                scores = np.concatenate([s, t])
                is_member = np.concatenate([np.ones(s.size, bool), np.zeros(t.size, bool)])
                tp = fp = 0
                best = 0.0
                for i in np.argsort(-scores, kind="stable"):
                    if is_member[i]:
                        tp += 1
                    else:
                        fp += 1
                    if fp / t.size <= fpr:
                        best = max(best, tp / s.size)
                return auc, best
        '''),
        Wrong("FPR strictly below the target (< instead of <=)", visible=True, message="returned", source='''
            def roc_summary(member_scores, nonmember_scores, *, fpr):
                s = np.asarray(member_scores, dtype=float)
                t = np.asarray(nonmember_scores, dtype=float)
                auc = float(((s[:, None] > t[None, :]).sum() + 0.5 * (s[:, None] == t[None, :]).sum()) / (s.size * t.size))
                best = 0.0
                for thr in np.concatenate([s, t]):
                    if (t >= thr).mean() < fpr:
                        best = max(best, float((s >= thr).mean()))
                return auc, best
        '''),
        Wrong("threshold = the (1 - fpr) quantile of the non-member scores, then TPR above it", source='''
            def roc_summary(member_scores, nonmember_scores, *, fpr):
                s = np.asarray(member_scores, dtype=float)
                t = np.asarray(nonmember_scores, dtype=float)
                auc = float(((s[:, None] > t[None, :]).sum() + 0.5 * (s[:, None] == t[None, :]).sum()) / (s.size * t.size))
                thr = np.quantile(t, 1 - fpr)
                return auc, float((s > thr).mean())
        '''),
        Wrong("AUC by sorting all scores and integrating a step curve: ties broken by sort order", source='''
            def roc_summary(member_scores, nonmember_scores, *, fpr):
                s = np.asarray(member_scores, dtype=float)
                t = np.asarray(nonmember_scores, dtype=float)
                scores = np.concatenate([s, t])
                labels = np.concatenate([np.ones(s.size), np.zeros(t.size)])
                order = np.argsort(-scores, kind="stable")
                tp = np.cumsum(labels[order]) / s.size
                fp = np.cumsum(1 - labels[order]) / t.size
                auc = float(np.sum(np.diff(np.concatenate([[0.0], fp])) * tp))
                best = 0.0
                for thr in scores:
                    if (t >= thr).mean() <= fpr:
                        best = max(best, float((s >= thr).mean()))
                return auc, best
        '''),
        Wrong("delegates to the course's helpers.audit.auc and tpr_at_fpr", visible=True, message="course function",
              source='''
            def roc_summary(member_scores, nonmember_scores, *, fpr):
                return H.audit.auc(member_scores, nonmember_scores), H.audit.tpr_at_fpr(member_scores, nonmember_scores, fpr=fpr)
        '''),
    ],
}

ROC_RIGHT = {
    "roc-summary": [
        Right("rank-based AUC (scipy.stats.rankdata) and sorted thresholds", '''
            def roc_summary(member_scores, nonmember_scores, *, fpr):
                from scipy.stats import rankdata
                s = np.asarray(member_scores, dtype=float)
                t = np.asarray(nonmember_scores, dtype=float)
                ranks = rankdata(np.concatenate([s, t]))
                auc = (ranks[: s.size].sum() - s.size * (s.size + 1) / 2) / (s.size * t.size)
                tprs = [0.0] + [float((s >= thr).mean()) for thr in np.unique(np.concatenate([s, t]))
                                if (t >= thr).mean() <= fpr]
                return float(auc), max(tprs)
        '''),
        Right("sklearn's roc_auc_score and roc_curve", '''
            def roc_summary(member_scores, nonmember_scores, *, fpr):
                from sklearn.metrics import roc_auc_score, roc_curve
                y = np.r_[np.ones(len(member_scores)), np.zeros(len(nonmember_scores))]
                scores = np.r_[member_scores, nonmember_scores]
                f, t, _ = roc_curve(y, scores, drop_intermediate=False)
                return float(roc_auc_score(y, scores)), float(t[f <= fpr].max())
        '''),
    ],
}

# ----------------------------------------------------------------------------- Exercise 3: epsilon lower bound

_BODY_CHECKS = '''
                if not 0 <= delta < 1:
                    raise ValueError("delta")
                if not (0 <= true_positives <= n_members and 0 <= false_positives <= n_nonmembers):
                    raise ValueError("counts")
'''

EPS = {
    "epsilon-lower-bound": [
        Wrong("point estimates of FPR and FNR instead of Clopper-Pearson upper ends", visible=True, message="returned",
              source='''
            def epsilon_lower_bound(*, true_positives, n_members, false_positives, n_nonmembers, delta, alpha=0.05):
                if not 0 <= delta < 1:
                    raise ValueError("delta")
                if not (0 <= true_positives <= n_members and 0 <= false_positives <= n_nonmembers):
                    raise ValueError("counts")
                fpr = false_positives / n_nonmembers
                fnr = 1 - true_positives / n_members
                best = 0.0
                for num, den in [(1 - delta - fpr, fnr), (1 - delta - fnr, fpr)]:
                    if num > 0 and den > 0:
                        best = max(best, math.log(num / den))
                return float(best)
        '''),
        Wrong("forgets delta", visible=True, message="returned", source='''
            def epsilon_lower_bound(*, true_positives, n_members, false_positives, n_nonmembers, delta, alpha=0.05):
                if not 0 <= delta < 1:
                    raise ValueError("delta")
                if not (0 <= true_positives <= n_members and 0 <= false_positives <= n_nonmembers):
                    raise ValueError("counts")
                _, fpr_hi = H.audit.clopper_pearson(false_positives, n_nonmembers, alpha=alpha)
                _, fnr_hi = H.audit.clopper_pearson(n_members - true_positives, n_members, alpha=alpha)
                best = 0.0
                for num, den in [(1 - fpr_hi, fnr_hi), (1 - fnr_hi, fpr_hi)]:
                    if num > 0:
                        best = max(best, math.log(num / den))
                return float(best)
        '''),
        Wrong("only one direction: log((1 - delta - FPR) / FNR)", visible=True, message="returned", source='''
            def epsilon_lower_bound(*, true_positives, n_members, false_positives, n_nonmembers, delta, alpha=0.05):
                if not 0 <= delta < 1:
                    raise ValueError("delta")
                if not (0 <= true_positives <= n_members and 0 <= false_positives <= n_nonmembers):
                    raise ValueError("counts")
                _, fpr_hi = H.audit.clopper_pearson(false_positives, n_nonmembers, alpha=alpha)
                _, fnr_hi = H.audit.clopper_pearson(n_members - true_positives, n_members, alpha=alpha)
                num = 1 - delta - fpr_hi
                return float(max(0.0, math.log(num / fnr_hi))) if num > 0 else 0.0
        '''),
        Wrong("uses the LOWER ends of the intervals (the optimistic side)", visible=True, message="returned", source='''
            def epsilon_lower_bound(*, true_positives, n_members, false_positives, n_nonmembers, delta, alpha=0.05):
                if not 0 <= delta < 1:
                    raise ValueError("delta")
                if not (0 <= true_positives <= n_members and 0 <= false_positives <= n_nonmembers):
                    raise ValueError("counts")
                fpr_lo, _ = H.audit.clopper_pearson(false_positives, n_nonmembers, alpha=alpha)
                fnr_lo, _ = H.audit.clopper_pearson(n_members - true_positives, n_members, alpha=alpha)
                best = 0.0
                for num, den in [(1 - delta - fpr_lo, fnr_lo), (1 - delta - fnr_lo, fpr_lo)]:
                    if num > 0 and den > 0:
                        best = max(best, math.log(num / den))
                return float(best)
        '''),
        Wrong("one-sided beta quantile at 1 - alpha (not 1 - alpha/2)", source='''
            def epsilon_lower_bound(*, true_positives, n_members, false_positives, n_nonmembers, delta, alpha=0.05):
                from scipy.stats import beta
                if not 0 <= delta < 1:
                    raise ValueError("delta")
                if not (0 <= true_positives <= n_members and 0 <= false_positives <= n_nonmembers):
                    raise ValueError("counts")
                fn = n_members - true_positives
                fpr_hi = 1.0 if false_positives == n_nonmembers else beta.ppf(1 - alpha, false_positives + 1, n_nonmembers - false_positives)
                fnr_hi = 1.0 if fn == n_members else beta.ppf(1 - alpha, fn + 1, n_members - fn)
                best = 0.0
                for num, den in [(1 - delta - fpr_hi, fnr_hi), (1 - delta - fnr_hi, fpr_hi)]:
                    if num > 0:
                        best = max(best, math.log(num / den))
                return float(best)
        '''),
        Wrong("TPR in the denominator instead of FNR", source='''
            def epsilon_lower_bound(*, true_positives, n_members, false_positives, n_nonmembers, delta, alpha=0.05):
                if not 0 <= delta < 1:
                    raise ValueError("delta")
                if not (0 <= true_positives <= n_members and 0 <= false_positives <= n_nonmembers):
                    raise ValueError("counts")
                _, fpr_hi = H.audit.clopper_pearson(false_positives, n_nonmembers, alpha=alpha)
                _, tpr_hi = H.audit.clopper_pearson(true_positives, n_members, alpha=alpha)
                best = 0.0
                for num, den in [(1 - delta - fpr_hi, tpr_hi), (tpr_hi - delta, fpr_hi)]:
                    if num > 0:
                        best = max(best, math.log(num / den))
                return float(best)
        '''),
        Wrong("no clamp at 0: returns a negative 'lower bound' when the attack is no better than guessing", source='''
            def epsilon_lower_bound(*, true_positives, n_members, false_positives, n_nonmembers, delta, alpha=0.05):
                if not 0 <= delta < 1:
                    raise ValueError("delta")
                if not (0 <= true_positives <= n_members and 0 <= false_positives <= n_nonmembers):
                    raise ValueError("counts")
                _, fpr_hi = H.audit.clopper_pearson(false_positives, n_nonmembers, alpha=alpha)
                _, fnr_hi = H.audit.clopper_pearson(n_members - true_positives, n_members, alpha=alpha)
                return float(max(math.log((1 - delta - fpr_hi) / fnr_hi), math.log((1 - delta - fnr_hi) / fpr_hi)))
        '''),
        Wrong("no validation of the counts", source='''
            def epsilon_lower_bound(*, true_positives, n_members, false_positives, n_nonmembers, delta, alpha=0.05):
                if not 0 <= delta < 1:
                    raise ValueError("delta")
                from scipy.stats import beta
                fn = max(n_members - true_positives, 0)
                fp = min(max(false_positives, 0), n_nonmembers)
                fpr_hi = 1.0 if fp == n_nonmembers else beta.ppf(1 - alpha / 2, fp + 1, n_nonmembers - fp)
                fnr_hi = 1.0 if fn == n_members else beta.ppf(1 - alpha / 2, fn + 1, n_members - fn)
                best = 0.0
                for num, den in [(1 - delta - fpr_hi, fnr_hi), (1 - delta - fnr_hi, fpr_hi)]:
                    if num > 0:
                        best = max(best, math.log(num / den))
                return float(best)
        '''),
        Wrong("delegates to the course's helpers.audit.epsilon_lower_bound", visible=True, message="course function",
              source='''
            def epsilon_lower_bound(*, true_positives, n_members, false_positives, n_nonmembers, delta, alpha=0.05):
                return H.audit.epsilon_lower_bound(true_positives=true_positives, n_members=n_members,
                                                   false_positives=false_positives, n_nonmembers=n_nonmembers,
                                                   delta=delta, alpha=alpha)
        '''),
    ],
}

EPS_RIGHT = {
    "epsilon-lower-bound": [
        Right("Clopper-Pearson from scipy's beta quantiles, validation first", '''
            def epsilon_lower_bound(*, true_positives, n_members, false_positives, n_nonmembers, delta, alpha=0.05):
                from scipy.stats import beta
                if not (0 <= true_positives <= n_members) or not (0 <= false_positives <= n_nonmembers):
                    raise ValueError("counts out of range")
                if delta < 0 or delta >= 1:
                    raise ValueError("delta out of range")
                fn = n_members - true_positives
                fp = false_positives
                fpr_hi = 1.0 if fp == n_nonmembers else float(beta.ppf(1 - alpha / 2, fp + 1, n_nonmembers - fp))
                fnr_hi = 1.0 if fn == n_members else float(beta.ppf(1 - alpha / 2, fn + 1, n_members - fn))
                terms = [0.0]
                if 1 - delta - fpr_hi > 0:
                    terms.append(math.log((1 - delta - fpr_hi) / fnr_hi))
                if 1 - delta - fnr_hi > 0:
                    terms.append(math.log((1 - delta - fnr_hi) / fpr_hi))
                return float(max(terms))
        '''),
    ],
}

# ----------------------------------------------------------------------------- Exercise 4: total variation

TV = {
    "total-variation": [
        Wrong("squared differences instead of absolute ones", visible=True, message="returned", source='''
            def total_variation(x):
                if not isinstance(x, torch.Tensor) or x.ndim != 4:
                    raise ValueError("x must be (N, C, H, W)")
                return ((x[:, :, 1:, :] - x[:, :, :-1, :]) ** 2).sum(dim=(1, 2, 3)) + \\
                    ((x[:, :, :, 1:] - x[:, :, :, :-1]) ** 2).sum(dim=(1, 2, 3))
        '''),
        Wrong("wrong axes: differences along channels and height (dims 1 and 2)", visible=True, message="returned",
              source='''
            def total_variation(x):
                if not isinstance(x, torch.Tensor) or x.ndim != 4:
                    raise ValueError("x must be (N, C, H, W)")
                return (x[:, 1:] - x[:, :-1]).abs().sum(dim=(1, 2, 3)) + (x[:, :, 1:] - x[:, :, :-1]).abs().sum(dim=(1, 2, 3))
        '''),
        Wrong("one scalar for the whole batch instead of one value per image", visible=True, message="shape", source='''
            def total_variation(x):
                if not isinstance(x, torch.Tensor) or x.ndim != 4:
                    raise ValueError("x must be (N, C, H, W)")
                return (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().sum() + (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().sum()
        '''),
        Wrong("wraps around with torch.roll: the last row is compared with the first", visible=True, message="returned",
              source='''
            def total_variation(x):
                if not isinstance(x, torch.Tensor) or x.ndim != 4:
                    raise ValueError("x must be (N, C, H, W)")
                return (torch.roll(x, 1, dims=2) - x).abs().sum(dim=(1, 2, 3)) + (torch.roll(x, 1, dims=3) - x).abs().sum(dim=(1, 2, 3))
        '''),
        Wrong("mean of the absolute differences instead of their sum", source='''
            def total_variation(x):
                if not isinstance(x, torch.Tensor) or x.ndim != 4:
                    raise ValueError("x must be (N, C, H, W)")
                return (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().mean(dim=(1, 2, 3)) + (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().mean(dim=(1, 2, 3))
        '''),
        Wrong("isotropic TV: sqrt(dh^2 + dw^2) on the common (H-1) x (W-1) grid", source='''
            def total_variation(x):
                if not isinstance(x, torch.Tensor) or x.ndim != 4:
                    raise ValueError("x must be (N, C, H, W)")
                dh = x[:, :, 1:, :-1] - x[:, :, :-1, :-1]
                dw = x[:, :, :-1, 1:] - x[:, :, :-1, :-1]
                return torch.sqrt(dh ** 2 + dw ** 2).sum(dim=(1, 2, 3))
        '''),
        Wrong("only the vertical differences", source='''
            def total_variation(x):
                if not isinstance(x, torch.Tensor) or x.ndim != 4:
                    raise ValueError("x must be (N, C, H, W)")
                return (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().sum(dim=(1, 2, 3))
        '''),
        Wrong("no validation of the input's shape", source='''
            def total_variation(x):
                x = torch.as_tensor(x)
                return (x[..., 1:, :] - x[..., :-1, :]).abs().flatten(1).sum(1) + (x[..., :, 1:] - x[..., :, :-1]).abs().flatten(1).sum(1)
        '''),
        Wrong("returns a numpy array", source='''
            def total_variation(x):
                if not isinstance(x, torch.Tensor) or x.ndim != 4:
                    raise ValueError("x must be (N, C, H, W)")
                a = x.detach().numpy()
                return np.abs(np.diff(a, axis=2)).sum(axis=(1, 2, 3)) + np.abs(np.diff(a, axis=3)).sum(axis=(1, 2, 3))
        '''),
        Wrong("delegates to the course's total_variation", visible=True, message="course function", source='''
            def total_variation(x):
                return H.attacks.total_variation(x)
        '''),
    ],
}

TV_RIGHT = {
    "total-variation": [
        Right("torch.diff along dims 2 and 3", '''
            def total_variation(x):
                if not (isinstance(x, torch.Tensor) and x.dim() == 4):
                    raise ValueError("expected a (N, C, H, W) tensor")
                return torch.diff(x, dim=2).abs().flatten(1).sum(1) + torch.diff(x, dim=3).abs().flatten(1).sum(1)
        '''),
    ],
}

# ----------------------------------------------------------------------------- Exercise 5: inversion loss

INV = {
    "inversion-loss": [
        Wrong("maximises the cross-entropy (minus sign): pushes the image AWAY from the class", visible=True,
              message="returned", source='''
            def inversion_loss(model, x, target, *, tv_weight, l2_weight):
                ce = F.cross_entropy(model(x), target, reduction="none")
                return (-ce + tv_weight * H.attacks.total_variation(x) + l2_weight * (x ** 2).sum(dim=(1, 2, 3))).mean()
        '''),
        Wrong("the L2 norm (square root) instead of the squared norm", visible=True, message="returned", source='''
            def inversion_loss(model, x, target, *, tv_weight, l2_weight):
                ce = F.cross_entropy(model(x), target, reduction="none")
                return (ce + tv_weight * H.attacks.total_variation(x) + l2_weight * x.flatten(1).norm(dim=1)).mean()
        '''),
        Wrong("sums over the batch instead of averaging", visible=True, message="returned", source='''
            def inversion_loss(model, x, target, *, tv_weight, l2_weight):
                ce = F.cross_entropy(model(x), target, reduction="none")
                return (ce + tv_weight * H.attacks.total_variation(x) + l2_weight * (x ** 2).sum(dim=(1, 2, 3))).sum()
        '''),
        Wrong("weights swapped: tv_weight on the L2 term and l2_weight on TV", visible=True, message="returned", source='''
            def inversion_loss(model, x, target, *, tv_weight, l2_weight):
                ce = F.cross_entropy(model(x), target, reduction="none")
                return (ce + l2_weight * H.attacks.total_variation(x) + tv_weight * (x ** 2).sum(dim=(1, 2, 3))).mean()
        '''),
        Wrong("the negative logit of the class instead of the cross-entropy", source='''
            def inversion_loss(model, x, target, *, tv_weight, l2_weight):
                score = model(x).gather(1, target[:, None])[:, 0]
                return (-score + tv_weight * H.attacks.total_variation(x) + l2_weight * (x ** 2).sum(dim=(1, 2, 3))).mean()
        '''),
        Wrong("Fredrikson's 1 - p_c instead of -log p_c", source='''
            def inversion_loss(model, x, target, *, tv_weight, l2_weight):
                p = torch.softmax(model(x), dim=1).gather(1, target[:, None])[:, 0]
                return (1 - p + tv_weight * H.attacks.total_variation(x) + l2_weight * (x ** 2).sum(dim=(1, 2, 3))).mean()
        '''),
        Wrong("mean of the squared pixels instead of their sum", source='''
            def inversion_loss(model, x, target, *, tv_weight, l2_weight):
                ce = F.cross_entropy(model(x), target, reduction="none")
                return (ce + tv_weight * H.attacks.total_variation(x) + l2_weight * (x ** 2).mean(dim=(1, 2, 3))).mean()
        '''),
        Wrong("a float via .item(): nothing to differentiate", source='''
            def inversion_loss(model, x, target, *, tv_weight, l2_weight):
                ce = F.cross_entropy(model(x), target, reduction="none")
                return float((ce + tv_weight * H.attacks.total_variation(x) + l2_weight * (x ** 2).sum(dim=(1, 2, 3))).mean().item())
        '''),
        Wrong("delegates to the course's inversion_loss", visible=True, message="course function", source='''
            def inversion_loss(model, x, target, *, tv_weight, l2_weight):
                return H.attacks.inversion_loss(model, x, target, tv_weight=tv_weight, l2_weight=l2_weight)
        '''),
    ],
}

INV_RIGHT = {
    "inversion-loss": [
        Right("mean cross-entropy plus the means of the two penalties", '''
            def inversion_loss(model, x, target, *, tv_weight, l2_weight):
                tv = torch.stack([(xi[:, 1:, :] - xi[:, :-1, :]).abs().sum() + (xi[:, :, 1:] - xi[:, :, :-1]).abs().sum() for xi in x])
                return F.cross_entropy(model(x), target) + tv_weight * tv.mean() + l2_weight * x.pow(2).flatten(1).sum(1).mean()
        '''),
    ],
}

# ----------------------------------------------------------------------------- Exercise 6: similarity filter

_V = '''
    if not -1 <= threshold <= 1:
        raise ValueError("threshold")
    if s.ndim != 2 or r.ndim != 2 or s.shape[1] != r.shape[1]:
        raise ValueError("shapes")
    if (np.linalg.norm(s, axis=1) == 0).any() or (np.linalg.norm(r, axis=1) == 0).any():
        raise ValueError("zero record")
'''

SIM = {
    "similarity-filter": [
        Wrong("the raw dot product, not normalised", visible=True, message="returned", source='''
            def similarity_filter(synthetic, real, *, threshold):
                s, r = np.asarray(synthetic, dtype=float), np.asarray(real, dtype=float)
                if not -1 <= threshold <= 1:
                    raise ValueError("threshold")
                if s.ndim != 2 or r.ndim != 2 or s.shape[1] != r.shape[1]:
                    raise ValueError("shapes")
                if (np.linalg.norm(s, axis=1) == 0).any() or (np.linalg.norm(r, axis=1) == 0).any():
                    raise ValueError("zero record")
                return (s @ r.T).max(axis=1) > threshold
        '''),
        Wrong("flags only records similar to EVERY real record (min instead of max)", visible=True, message="returned",
              source='''
            def similarity_filter(synthetic, real, *, threshold):
                s, r = np.asarray(synthetic, dtype=float), np.asarray(real, dtype=float)
                if not -1 <= threshold <= 1:
                    raise ValueError("threshold")
                if s.ndim != 2 or r.ndim != 2 or s.shape[1] != r.shape[1]:
                    raise ValueError("shapes")
                ns, nr = np.linalg.norm(s, axis=1), np.linalg.norm(r, axis=1)
                if (ns == 0).any() or (nr == 0).any():
                    raise ValueError("zero record")
                return ((s / ns[:, None]) @ (r / nr[:, None]).T).min(axis=1) > threshold
        '''),
        Wrong(">= instead of >: an exactly-equal similarity is flagged", visible=True, message="returned", source='''
            def similarity_filter(synthetic, real, *, threshold):
                s, r = np.asarray(synthetic, dtype=float), np.asarray(real, dtype=float)
                if not -1 <= threshold <= 1:
                    raise ValueError("threshold")
                if s.ndim != 2 or r.ndim != 2 or s.shape[1] != r.shape[1]:
                    raise ValueError("shapes")
                ns, nr = np.linalg.norm(s, axis=1), np.linalg.norm(r, axis=1)
                if (ns == 0).any() or (nr == 0).any():
                    raise ValueError("zero record")
                return ((s / ns[:, None]) @ (r / nr[:, None]).T).max(axis=1) >= threshold
        '''),
        Wrong("normalises only the synthetic records", source='''
            def similarity_filter(synthetic, real, *, threshold):
                s, r = np.asarray(synthetic, dtype=float), np.asarray(real, dtype=float)
                if not -1 <= threshold <= 1:
                    raise ValueError("threshold")
                if s.ndim != 2 or r.ndim != 2 or s.shape[1] != r.shape[1]:
                    raise ValueError("shapes")
                ns, nr = np.linalg.norm(s, axis=1), np.linalg.norm(r, axis=1)
                if (ns == 0).any() or (nr == 0).any():
                    raise ValueError("zero record")
                return ((s / ns[:, None]) @ r.T).max(axis=1) > threshold
        '''),
        Wrong("Euclidean distance below (1 - threshold) instead of cosine similarity", source='''
            def similarity_filter(synthetic, real, *, threshold):
                s, r = np.asarray(synthetic, dtype=float), np.asarray(real, dtype=float)
                if not -1 <= threshold <= 1:
                    raise ValueError("threshold")
                if s.ndim != 2 or r.ndim != 2 or s.shape[1] != r.shape[1]:
                    raise ValueError("shapes")
                if (np.linalg.norm(s, axis=1) == 0).any() or (np.linalg.norm(r, axis=1) == 0).any():
                    raise ValueError("zero record")
                d = np.sqrt(((s[:, None, :] - r[None, :, :]) ** 2).sum(-1))
                return d.min(axis=1) < 1 - threshold
        '''),
        Wrong("the mean similarity to the real records instead of the maximum", source='''
            def similarity_filter(synthetic, real, *, threshold):
                s, r = np.asarray(synthetic, dtype=float), np.asarray(real, dtype=float)
                if not -1 <= threshold <= 1:
                    raise ValueError("threshold")
                if s.ndim != 2 or r.ndim != 2 or s.shape[1] != r.shape[1]:
                    raise ValueError("shapes")
                ns, nr = np.linalg.norm(s, axis=1), np.linalg.norm(r, axis=1)
                if (ns == 0).any() or (nr == 0).any():
                    raise ValueError("zero record")
                return ((s / ns[:, None]) @ (r / nr[:, None]).T).mean(axis=1) > threshold
        '''),
        Wrong("returns the similarities instead of the flags", source='''
            def similarity_filter(synthetic, real, *, threshold):
                s, r = np.asarray(synthetic, dtype=float), np.asarray(real, dtype=float)
                if not -1 <= threshold <= 1:
                    raise ValueError("threshold")
                if s.ndim != 2 or r.ndim != 2 or s.shape[1] != r.shape[1]:
                    raise ValueError("shapes")
                ns, nr = np.linalg.norm(s, axis=1), np.linalg.norm(r, axis=1)
                if (ns == 0).any() or (nr == 0).any():
                    raise ValueError("zero record")
                return ((s / ns[:, None]) @ (r / nr[:, None]).T).max(axis=1)
        '''),
        Wrong("a list of bools instead of an array", source='''
            def similarity_filter(synthetic, real, *, threshold):
                s, r = np.asarray(synthetic, dtype=float), np.asarray(real, dtype=float)
                if not -1 <= threshold <= 1:
                    raise ValueError("threshold")
                if s.ndim != 2 or r.ndim != 2 or s.shape[1] != r.shape[1]:
                    raise ValueError("shapes")
                ns, nr = np.linalg.norm(s, axis=1), np.linalg.norm(r, axis=1)
                if (ns == 0).any() or (nr == 0).any():
                    raise ValueError("zero record")
                return [bool(v) for v in ((s / ns[:, None]) @ (r / nr[:, None]).T).max(axis=1) > threshold]
        '''),
        Wrong("no check for records of norm 0 (divides by zero, NaN never flagged)", source='''
            def similarity_filter(synthetic, real, *, threshold):
                s, r = np.asarray(synthetic, dtype=float), np.asarray(real, dtype=float)
                if not -1 <= threshold <= 1:
                    raise ValueError("threshold")
                if s.ndim != 2 or r.ndim != 2 or s.shape[1] != r.shape[1]:
                    raise ValueError("shapes")
                with np.errstate(invalid="ignore", divide="ignore"):
                    c = (s / np.linalg.norm(s, axis=1)[:, None]) @ (r / np.linalg.norm(r, axis=1)[:, None]).T
                return np.nan_to_num(c, nan=-1.0).max(axis=1) > threshold
        '''),
        Wrong("delegates to the course's nearest_record_similarity", visible=True, message="course function", source='''
            def similarity_filter(synthetic, real, *, threshold):
                if not -1 <= threshold <= 1:
                    raise ValueError("threshold")
                sim, _ = H.attacks.nearest_record_similarity(synthetic, real)
                return sim > threshold
        '''),
    ],
}

SIM_RIGHT = {
    "similarity-filter": [
        Right("a loop over synthetic records", '''
            def similarity_filter(synthetic, real, *, threshold):
                s, r = np.asarray(synthetic, dtype=float), np.asarray(real, dtype=float)
                if s.ndim != 2 or r.ndim != 2 or s.shape[1] != r.shape[1]:
                    raise ValueError("synthetic and real need the same number of columns")
                if threshold < -1 or threshold > 1:
                    raise ValueError("threshold must be in [-1, 1]")
                rn = np.linalg.norm(r, axis=1)
                if np.any(rn == 0):
                    raise ValueError("a real record has norm 0")
                flags = np.zeros(len(s), dtype=bool)
                for i, row in enumerate(s):
                    n = np.linalg.norm(row)
                    if n == 0:
                        raise ValueError("a synthetic record has norm 0")
                    flags[i] = np.max(r @ row / (rn * n)) > threshold
                return flags
        '''),
    ],
}

WRONG = {**LOSS, **ROC, **EPS, **TV, **INV, **SIM}
RIGHT = {**LOSS_RIGHT, **ROC_RIGHT, **EPS_RIGHT, **TV_RIGHT, **INV_RIGHT, **SIM_RIGHT}
