"""Statistics over repeated runs (one value per seed), on top of scipy.stats.

`summarize` gives the mean, the sample standard deviation and a t-based confidence interval of the
mean; `welch` tests whether two families differ (Welch's unequal-variance t-test), `paired` does so
for values measured with the same seeds (paired t-test). All accept any sequence of numbers and never
raise on small samples: what cannot be estimated is None.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Summary", "is_finite", "is_missing", "paired", "summarize", "welch"]


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
    ci_low: float | None  # the confidence interval of the mean (t distribution, n - 1 degrees of freedom)
    ci_high: float | None


def summarize(values: Sequence[float], *, confidence: float = 0.95) -> Summary:
    """Mean, sample std (ddof=1) and the two-sided t interval mean ± t(1 - α/2, n-1) · std/√n.

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
    std = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1)) * std / math.sqrt(n)
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
