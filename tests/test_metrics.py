"""Metrics from whole-split sums agree with direct formulas, whatever the batching."""

import math

import numpy as np
import pytest
import torch

from benchbench.metrics import METRICS


def _batched(name, pred, target, sizes):
    metric = METRICS.get(name)
    total, start = None, 0
    for size in sizes:
        s = metric.stats(pred[start : start + size], target[start : start + size])
        total = s if total is None else total + s
        start += size
    return metric.finalize(total)


def test_directions_are_declared_once():
    assert {n: METRICS.get(n).direction for n in ("mse", "rmse", "rse", "perplexity", "bpc", "bce")} == dict.fromkeys(
        ("mse", "rmse", "rse", "perplexity", "bpc", "bce"), "minimize"
    )
    assert METRICS.get("accuracy").direction == "maximize" and METRICS.get("corr").direction == "maximize"


@pytest.mark.parametrize("sizes", [[30], [7, 23], [1] * 30])
def test_rse_and_corr_match_lstnet_formulas(sizes):
    gen = torch.Generator().manual_seed(0)
    target = torch.randn(30, 4, generator=gen, dtype=torch.float64) * torch.tensor([1.0, 10.0, 0.1, 3.0], dtype=torch.float64)
    pred = target + 0.3 * torch.randn(30, 4, generator=gen, dtype=torch.float64)
    y, p = target.numpy(), pred.numpy()
    rse = np.sqrt(((y - p) ** 2).sum()) / np.sqrt(((y - y.mean()) ** 2).sum())
    corr = np.mean([np.corrcoef(p[:, j], y[:, j])[0, 1] for j in range(4)])
    assert _batched("rse", pred, target, sizes) == pytest.approx(rse, rel=1e-9)
    assert _batched("corr", pred, target, sizes) == pytest.approx(corr, rel=1e-9)
    assert _batched("rmse", pred, target, sizes) == pytest.approx(np.sqrt(((y - p) ** 2).mean()), rel=1e-9)


def test_perplexity_bpc_accuracy():
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(40, 5, generator=gen, dtype=torch.float64)
    target = torch.randint(0, 5, (40,), generator=gen)
    nll = torch.nn.functional.cross_entropy(logits, target).item()
    assert _batched("perplexity", logits, target, [13, 27]) == pytest.approx(math.exp(nll), rel=1e-9)
    assert _batched("bpc", logits, target, [40]) == pytest.approx(nll / math.log(2), rel=1e-9)
    accuracy = 100 * (logits.argmax(-1) == target).double().mean().item()
    assert _batched("accuracy", logits, target, [3, 37]) == pytest.approx(accuracy)


def test_corr_ignores_constant_series():
    target = torch.tensor([[1.0, 2.0], [1.0, 3.0], [1.0, 5.0]])
    pred = torch.tensor([[0.0, 2.0], [1.0, 3.0], [2.0, 5.0]])
    assert _batched("corr", pred, target, [3]) == pytest.approx(1.0)


def test_corr_sums_in_float64_on_a_series_far_from_zero_mean():
    """Exchange-rate-like series (mean ~1, spread ~1%): the one-pass variance Σy² - (Σy)²/n keeps only
    a few float32 digits there; summed in float64 the correlation matches numpy's to 1e-9."""
    gen = torch.Generator().manual_seed(3)
    n, d = 20_000, 3
    walk = torch.cumsum(0.001 * torch.randn(n, d, generator=gen, dtype=torch.float64), 0)
    target = (torch.tensor([1.0, 0.75, 1.3], dtype=torch.float64) + walk).float()  # float32, as a model sees it
    pred = (target.double() + 0.002 * torch.randn(n, d, generator=gen, dtype=torch.float64)).float()
    y, p = target.double().numpy(), pred.double().numpy()
    exact = np.mean([np.corrcoef(p[:, j], y[:, j])[0, 1] for j in range(d)])
    assert _batched("corr", pred, target, [4096] * 4 + [n - 4 * 4096]) == pytest.approx(exact, abs=1e-9)
    # the same sums in float32 miss it by far more: what this test guards against
    sums = torch.stack([pred.sum(0), target.sum(0), (pred * pred).sum(0), (target * target).sum(0),
                        (pred * target).sum(0), torch.full((d,), float(n))]).flatten()  # fmt: skip
    assert abs(METRICS.get("corr").finalize(sums) - exact) > 1e-5


def test_positive_metrics_are_declared_once():
    positive = {name for name in METRICS if METRICS.get(name).positive}
    assert {"mse", "rmse", "rse", "perplexity", "bpc", "bce"} <= positive
    assert not {"corr", "accuracy"} & positive  # a correlation can be negative; accuracy is bounded, not skewed
