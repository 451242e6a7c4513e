"""benchbench.stats against values computed by hand.

The t quantiles used have closed forms: with 1 degree of freedom t(p) = tan(π(p - 1/2)); with 2,
t(p) = (2p - 1) / sqrt(2p(1 - p)). Welch's test on two samples of two with equal variances has
2 degrees of freedom, where the two-sided p-value is 1 - |t| / sqrt(2 + t²).
"""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from benchbench.stats import Summary, summarize, welch

T_975_DF1 = math.tan(math.pi * 0.475)  # 12.7062...
T_975_DF2 = 0.95 / math.sqrt(2 * 0.975 * 0.025)  # 4.3027...


def test_known_t_quantiles():
    assert T_975_DF1 == pytest.approx(12.706204736, rel=1e-9)
    assert T_975_DF2 == pytest.approx(4.302652730, rel=1e-9)


def test_three_values():
    s = summarize([1.0, 2.0, 3.0])
    assert (s.mean, s.std, s.n) == (2.0, 1.0, 3)  # Σ(x - 2)² = 2, / (n - 1) = 1
    half = T_975_DF2 * 1.0 / math.sqrt(3)  # 2.4841
    assert s.ci_low == pytest.approx(2.0 - half, rel=1e-12)
    assert s.ci_high == pytest.approx(2.0 + half, rel=1e-12)
    assert s.ci_low == pytest.approx(-0.48413771, abs=1e-8)


def test_two_values():
    s = summarize([0.5, 1.5])
    assert s.std == pytest.approx(math.sqrt(0.5))  # (0.25 + 0.25) / 1
    half = T_975_DF1 * math.sqrt(0.5) / math.sqrt(2)  # = T_975_DF1 / 2
    assert (s.ci_low, s.ci_high) == pytest.approx((1.0 - half, 1.0 + half))


def test_other_confidence():
    s = summarize([1.0, 2.0, 3.0], confidence=0.5)  # t(0.75, 2) = 0.5 / sqrt(2 * 0.75 * 0.25)
    half = 0.5 / math.sqrt(0.375) / math.sqrt(3)
    assert (s.ci_low, s.ci_high) == pytest.approx((2.0 - half, 2.0 + half))


def test_one_value_has_no_spread():
    assert summarize([0.25]) == Summary(mean=0.25, std=None, n=1, ci_low=None, ci_high=None)


def test_equal_values_have_a_degenerate_interval():
    s = summarize([0.3, 0.3, 0.3, 0.3])
    assert (s.std, s.ci_low, s.ci_high) == (0.0, 0.3, 0.3)


def test_empty_is_a_bug():
    with pytest.raises(ValueError):
        summarize([])


def test_welch_two_by_two():
    a, b = [0.0, 2.0], [4.0, 6.0]  # variances 2 and 2, t = -4 / sqrt(2/2 + 2/2) = -2√2, df = 2
    assert welch(a, b) == pytest.approx(1 - math.sqrt(8) / math.sqrt(10), rel=1e-10)  # 0.10557
    assert welch(b, a) == pytest.approx(welch(a, b))


def test_welch_matches_scipy_with_unequal_variances():
    a, b = [1.0, 1.2, 0.9, 1.1, 1.05], [1.5, 2.5, 0.7]
    expected = scipy_stats.ttest_ind(a, b, equal_var=False).pvalue
    assert welch(a, b) == pytest.approx(expected, rel=1e-12)
    pooled = scipy_stats.ttest_ind(a, b, equal_var=True).pvalue
    assert welch(a, b) != pytest.approx(pooled, rel=1e-3)  # really Welch, not Student


def test_welch_needs_two_values_each():
    assert welch([1.0], [1.0, 2.0]) is None
    assert welch([1.0, 2.0], []) is None


def test_welch_zero_variance():
    assert welch([0.5, 0.5], [0.5, 0.5, 0.5]) == 1.0
    assert welch([0.5, 0.5], [0.7, 0.7]) == 0.0
    # One constant sample: the other's variance carries the test. se² = 0 + 0.04/3, t = -0.1/se = -√3/2,
    # df = (0.04/3)² / ((0.04/3)² / 2) = 2.
    p = welch([0.5, 0.5, 0.5], [0.4, 0.6, 0.8])
    assert p == pytest.approx(1 - (math.sqrt(3) / 2) / math.sqrt(2 + 0.75), rel=1e-9)  # 0.4778


def test_log_interval_of_skewed_positive_values_stays_positive():
    """Three skewed positive values (an MSE over seeds, one seed far off): the plain t interval reaches
    below zero, the log-scale one is exp(mean(log x) ± t · sd(log x) / √3) and stays in (0, ∞)."""
    xs = [1e-5, 1e-4, 3.5e-4]
    assert summarize(xs).ci_low < 0
    s = summarize(xs, positive=True)
    logs = [math.log(x) for x in xs]
    centre = sum(logs) / 3
    sd = math.sqrt(sum((x - centre) ** 2 for x in logs) / 2)
    assert (s.ci_low, s.ci_high) == pytest.approx((math.exp(centre - T_975_DF2 * sd / math.sqrt(3)),
                                                   math.exp(centre + T_975_DF2 * sd / math.sqrt(3))), rel=1e-12)  # fmt: skip
    assert 0 < s.ci_low < min(xs) and s.ci_high > max(xs) and s.scale == "log"
    assert s.mean == pytest.approx(sum(xs) / 3)  # the mean is the plain one
    # a value <= 0 cannot be logged: the plain interval
    assert summarize([0.0, 1.0, 2.0], positive=True).scale == "linear"


def test_detectable_difference_against_hand_computation():
    """δ = λ · sd · √(2/n), λ the noncentrality at which a two-sided t-test at 5% rejects 80% of the time.
    Large n: λ → z(0.975) + z(0.8) = 1.95996 + 0.84162. n = 3 (df 4): λ by summing the noncentral
    t's tails by numerical integration of its definition, T = (Z + λ) / sqrt(V/df)."""
    from benchbench.stats import detectable

    z = 1.959963985 + 0.841621234
    assert detectable(2.0, 5000) == pytest.approx(z * 2.0 * math.sqrt(2 / 5000), rel=2e-3)
    # n = 3 a side, df = 4: P(|Z + λ| > c · sqrt(V/4)), V ~ χ²(4), integrated on a grid
    import numpy as np

    c = scipy_stats.t.ppf(0.975, 4)

    def power(lam):
        v = np.linspace(1e-6, 60, 200_001)
        scale = c * np.sqrt(v / 4)
        inside = scipy_stats.norm.cdf(scale - lam) - scipy_stats.norm.cdf(-scale - lam)
        return 1 - np.trapezoid(inside * scipy_stats.chi2.pdf(v, 4), v)

    delta = detectable(1.0, 3)
    assert power(delta / math.sqrt(2 / 3)) == pytest.approx(0.8, abs=1e-4)
    assert delta == pytest.approx(3.07, abs=0.01)  # three seeds a side: about three standard deviations
    assert detectable(1.0, 1) is None  # no spread from one seed


def test_one_sided_worse_and_holm():
    from benchbench.stats import holm, worse

    before, now = [1.0, 1.1, 1.2], [2.0, 2.1, 2.3]
    assert worse(before, now, direction="minimize", positive=True) < 0.001
    assert worse(now, before, direction="minimize", positive=True) > 0.99  # improved: not worse
    assert worse(before, now, direction="maximize") > 0.99
    logs = scipy_stats.ttest_ind(np.log(now), np.log(before), equal_var=False, alternative="greater").pvalue
    assert worse(before, now, direction="minimize", positive=True) == pytest.approx(logs)
    assert worse(before, list(reversed(before)), direction="minimize") == 1.0  # the same seeds: nothing moved
    assert worse([1.0], now, direction="minimize") is None
    assert holm([0.01, None, 0.04, 0.03]) == [pytest.approx(0.03), None, pytest.approx(0.06), pytest.approx(0.06)]


def test_holm_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    from benchbench.stats import holm

    rng = np.random.default_rng(0)
    for m in (1, 2, 5, 30):
        ps = list(rng.uniform(0, 0.2, m))
        assert holm(ps) == pytest.approx(list(multipletests(ps, method="holm")[1]), rel=1e-12)


def test_seeds_auto_asks_for_enough_seeds_and_stops_at_the_target_or_the_cap():
    from benchbench.stats import detectable
    from benchbench.sweep.run import auto_seeds

    three = [1.0, 1.2, 0.8]  # sd 0.2, mean 1: detectable 3.07 · 0.2 = 61% against itself with 3 seeds
    assert detectable(0.2, 3) == pytest.approx(0.614, abs=1e-3)
    wanted = auto_seeds(three, 0.05, 1000)
    assert wanted == math.ceil(3 * (detectable(0.2, 3) / 0.05) ** 2)  # ≈ 1/√n scaling: 453 seeds
    assert auto_seeds(three, 0.05, 20) == 20  # the cap
    assert auto_seeds(three * 7, 0.05, 20) is None  # 21 seeds: at the cap, stop
    assert auto_seeds([1.0, 1.001, 0.999], 0.05, 20) is None  # detectable 0.3%: already below 5%
    assert auto_seeds([1.0], 0.05, 20) == 2  # no spread yet: two seeds first
    # after the asked-for seeds, the same spread meets the target
    n = auto_seeds([1.0, 1.02, 0.98], 0.05, 1000)
    assert detectable(0.02, n) <= 0.05 < detectable(0.02, 3)
