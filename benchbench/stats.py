"""Statistics over repeated runs (one value per seed), on top of scipy.stats.

`summarize` gives the mean, the sample standard deviation and a t-based confidence interval of the
mean (on the log scale for metrics that are positive by nature); `welch` tests whether two families
differ (Welch's unequal-variance t-test), `paired` does so for values measured with the same seeds
(paired t-test); `worse` is the one-sided test `bench check` asks, `holm` the correction across
cells, and `detectable` the smallest difference a t-test on given seeds finds with 80% power. All
accept any sequence of numbers and never raise on small samples: what cannot be estimated is None.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "LOG", "LINEAR", "Summary", "detectable", "holm", "is_finite", "is_missing", "paired", "summarize", "welch", "worse",
]  # fmt: skip

LOG, LINEAR = "log", "linear"  # the scale an interval or a test was computed on


def is_finite(value: object) -> bool:
    """A real number (not a bool) that is neither NaN nor infinite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def is_missing(value: object) -> bool:
    """None, pandas' NA or NaN: a figure without a value."""
    return value is None or type(value).__name__ == "NAType" or (isinstance(value, float) and math.isnan(value))


@dataclass(frozen=True)
class Summary:
    """Mean of `n` values with its spread; std and the interval are None when n < 2."""

    mean: float
    std: float | None  # sample standard deviation (ddof=1)
    n: int
    ci_low: float | None  # the confidence interval (t distribution, n - 1 degrees of freedom), on `scale`
    ci_high: float | None
    scale: str = LINEAR  # log: the interval of the geometric mean, computed on log values and transformed back


def _mean_std(xs: list[float]) -> tuple[float, float]:
    mean = math.fsum(xs) / len(xs)
    return mean, math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (len(xs) - 1))


def summarize(values: Sequence[float], *, confidence: float = 0.95, positive: bool = False) -> Summary:
    """Mean, sample std (ddof=1) and the two-sided t interval mean ± t(1 - α/2, n-1) · std/√n.

    With `positive` (a metric positive by nature: MSE, perplexity, NLL, ...) and every value > 0, the
    interval is computed on the log values and transformed back, exp(mean(log x) ± t · std(log x)/√n):
    an interval of the geometric mean that never leaves (0, ∞) and is as skewed as such values are
    (`scale` says `log`). `mean` and `std` are the plain ones either way.

    One value gives std and interval None (a spread needs two). Equal values give std 0 and the
    degenerate interval [mean, mean]. An empty sequence is a bug in the caller: ValueError.
    """
    from scipy import stats

    xs = [float(v) for v in values]
    n = len(xs)
    if n == 0:
        raise ValueError("summarize() needs at least one value")
    mean = math.fsum(xs) / n
    if n == 1:
        return Summary(mean=mean, std=None, n=1, ci_low=None, ci_high=None)
    std = _mean_std(xs)[1]
    t = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1))
    if positive and all(x > 0 for x in xs):
        if _constant(xs):
            return Summary(mean=mean, std=std, n=n, ci_low=xs[0], ci_high=xs[0], scale=LOG)
        log_mean, log_std = _mean_std([math.log(x) for x in xs])
        half = t * log_std / math.sqrt(n)
        return Summary(mean, std, n, math.exp(log_mean - half), math.exp(log_mean + half), scale=LOG)
    half = t * std / math.sqrt(n)
    return Summary(mean=mean, std=std, n=n, ci_low=mean - half, ci_high=mean + half)


def welch(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided p-value of Welch's t-test that `a` and `b` have the same mean
    (scipy.stats.ttest_ind with equal_var=False).

    None when either sample has fewer than two values: its variance, hence the test, is undefined.
    When both samples have zero variance the t statistic is 0/0 or ±inf, where scipy answers NaN;
    the limit is returned instead: 1.0 when the means are equal, 0.0 when they differ.
    """
    from scipy import stats

    xs, ys = [float(v) for v in a], [float(v) for v in b]
    if len(xs) < 2 or len(ys) < 2:
        return None
    if _constant(xs) and _constant(ys):
        return 1.0 if xs[0] == ys[0] else 0.0
    with warnings.catch_warnings():
        # scipy warns of "catastrophic cancellation" on a constant sample; its variance is exactly 0.
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ttest_ind(xs, ys, equal_var=False).pvalue)


def _constant(xs: list[float]) -> bool:
    return all(x == xs[0] for x in xs)


def paired(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided p-value of the paired t-test that `a[i] - b[i]` has mean 0 (scipy.stats.ttest_rel),
    for values measured in pairs, e.g. two families trained with the same seeds.

    None with fewer than two pairs. When every difference is the same, scipy answers NaN; the limit
    is returned instead: 1.0 when the differences are all 0, 0.0 otherwise.
    """
    from scipy import stats

    xs, ys = [float(v) for v in a], [float(v) for v in b]
    if len(xs) != len(ys):
        raise ValueError("paired() needs as many values in a as in b")
    if len(xs) < 2:
        return None
    diffs = [x - y for x, y in zip(xs, ys)]
    if _constant(diffs):
        return 1.0 if diffs[0] == 0 else 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ttest_rel(xs, ys).pvalue)


def worse(before: Sequence[float], now: Sequence[float], *, direction: str, positive: bool = False) -> float | None:
    """One-sided p-value that `now` is worse than `before` (larger where `direction` is minimize,
    smaller where maximize): Welch's t-test (scipy.stats.ttest_ind, equal_var=False), on the log
    values where the metric is `positive` and every value is > 0, so that a ratio (a 25% rise, a
    doubling) is what is tested and the skew of a few positive values does not inflate the test.

    Why Welch on logs: seed-to-seed spreads differ from cell to cell and between a baseline and a
    rerun (another thread count, another machine), which a pooled variance would ignore; with three
    seeds a side a rank test cannot reach p < 0.05 at all (its smallest one-sided p is 1/20), and the
    t-test on log values keeps its false-alarm rate at the stated level on lognormal seeds
    (benchmarks/check_power.py measures it).

    None when either side has fewer than two values. Identical samples give 1.0 (nothing moved);
    two constant but different samples give 0.0 or 1.0 by the direction of the move.
    """
    from scipy import stats

    xs, ys = [float(v) for v in before], [float(v) for v in now]
    if len(xs) < 2 or len(ys) < 2:
        return None
    if sorted(xs) == sorted(ys):
        return 1.0
    if positive and all(v > 0 for v in xs + ys):
        xs, ys = [math.log(v) for v in xs], [math.log(v) for v in ys]
    alternative = "greater" if direction == "minimize" else "less"  # now - before in the bad direction
    if _constant(xs) and _constant(ys):
        moved_bad = ys[0] > xs[0] if direction == "minimize" else ys[0] < xs[0]
        return 0.0 if moved_bad else 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ttest_ind(ys, xs, equal_var=False, alternative=alternative).pvalue)


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values of the p-values that exist; None stays None. A family of
    tests is significant at level α where its adjusted p < α, and the chance of any false alarm among
    them stays at most α. The k-th smallest of m p-values is multiplied by m - k + 1, made monotone
    and capped at 1: what statsmodels' multipletests(method="holm") returns (tested against it),
    written out because that call costs a third of a second, which check_power.py pays a million times."""
    present = sorted((float(p), i) for i, p in enumerate(p_values) if p is not None)
    out: list[float | None] = [None] * len(p_values)
    running = 0.0
    for k, (p, i) in enumerate(present):
        running = max(running, min(1.0, (len(present) - k) * p))
        out[i] = running
    return out


def detectable(
    std_a: float, n_a: int, std_b: float | None = None, n_b: int | None = None, *, alpha: float = 0.05, power: float = 0.8
) -> float | None:
    """The smallest difference of means a two-sided two-sample t-test at level `alpha` detects with
    probability `power`, given the seeds' standard deviations and counts (side b defaults to side a:
    a family against a rerun of itself). The standard error is sqrt(sa²/na + sb²/nb) with
    na + nb - 2 degrees of freedom, and the difference is δ = λ · se where λ is the noncentrality
    at which the noncentral t exceeds the critical value t(1 - α/2) in either tail with probability
    `power` (scipy.stats.nct). For large samples λ → z(1 - α/2) + z(power) = 2.80.

    None with fewer than two seeds on a side (no spread to go by)."""
    from scipy import optimize, stats

    std_b = std_a if std_b is None else std_b
    n_b = n_a if n_b is None else n_b
    if n_a < 2 or n_b < 2 or not (is_finite(std_a) and is_finite(std_b)):
        return None
    se = math.sqrt(std_a**2 / n_a + std_b**2 / n_b)
    df = n_a + n_b - 2
    critical = float(stats.t.ppf(1 - alpha / 2, df))

    def shortfall(lam: float) -> float:
        lower = float(stats.nct.cdf(-critical, df, lam))  # the far tail; scipy gives NaN where it underflows
        return float(stats.nct.sf(critical, df, lam)) + (lower if math.isfinite(lower) else 0.0) - power

    high = critical + 1.0
    while shortfall(high) < 0:  # power rises with λ; at most a few doublings for any df >= 2
        high *= 2
    lam = optimize.brentq(shortfall, 0.0, high, xtol=1e-10)
    return lam * se
