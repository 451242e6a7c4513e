"""Metrics, each carrying its direction once: the study's direction and every sort read it here.

A metric is computed from sums over a whole split: `stats(pred, target)` returns a 1-D tensor of
sums for one batch, the sums are added up batch by batch on the device (no host synchronisation per
step), and `finalize(sums)` gives the reported value. Exact whatever the batch size: perplexity is
exp of the mean NLL over all tokens, RSE and CORR use whole-split sums as LSTNet defines them, the
frame NLL of polyphonic music is weighted by frames (padded steps never count).

`pred` is what the task's head outputs (values for regression, logits for classification); `target`
is the batch's target. Regression metrics see de-normalised values (the task's units).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from torch.nn import functional as F

from benchbench.registry import Registry

__all__ = ["METRICS", "Metric", "frame_nll_loss", "in_units"]

Tensor = torch.Tensor


@dataclass(frozen=True)
class Metric:
    name: str
    direction: Literal["minimize", "maximize"]
    stats: Callable[[Tensor, Tensor], Tensor]  # (pred, target) -> 1-D tensor of sums for one batch
    finalize: Callable[[Tensor], float]  # summed stats of a split -> the reported value
    label: str  # how tables name it, with units
    positive: bool = False  # positive by nature (an error, a loss): seed intervals and checks work on log values


METRICS: Registry[Metric] = Registry("metric")


def in_units(pred: Tensor, target: Tensor, scale: Tensor | None, offset: Tensor | None) -> tuple[Tensor, Tensor]:
    """Regression predictions and targets back in the task's units: `v * scale + offset` (a no-op
    without a scale). Models and baselines both go through here before their metrics."""
    if scale is None:
        return pred, target
    shift = offset if offset is not None else 0.0
    return pred * scale + shift, target * scale + shift


def _add(metric: Metric) -> None:
    METRICS.register(metric.name)(metric)


def _count(t: Tensor) -> Tensor:
    # filled on the device: torch.tensor(n, device=...) would copy from the host and wait on a GPU
    return torch.full((), float(t.numel()), device=t.device)


def _sse(pred: Tensor, target: Tensor) -> Tensor:
    return torch.stack([(pred - target).pow(2).sum(), _count(target)])


def _nll(logits: Tensor, target: Tensor) -> Tensor:  # logits (..., C), target (...)
    logits = logits.reshape(-1, logits.shape[-1])
    if logits.dtype in (torch.float16, torch.bfloat16):  # sum in float32 under mixed precision
        logits = logits.float()
    nll = F.cross_entropy(logits, target.reshape(-1), reduction="sum")
    return torch.stack([nll, _count(target)])


def _rse_stats(pred: Tensor, target: Tensor) -> Tensor:
    return torch.stack([(pred - target).pow(2).sum(), target.sum(), target.pow(2).sum(), _count(target)])


def _rse(s: Tensor) -> float:
    """LSTNet's root relative squared error: sqrt(Σ(y - ŷ)²) / sqrt(Σ(y - mean(y))²) over all values."""
    sse, total, squares, n = s.tolist()
    return math.sqrt(sse) / math.sqrt(max(squares - total * total / n, 1e-300))


def _corr_stats(pred: Tensor, target: Tensor) -> Tensor:
    """Per-series sums over time for Pearson correlation; series are the last axis. Summed in float64:
    the one-pass variance Σy² - (Σy)²/n cancels most of its digits on a series far from zero mean
    (exchange rates near 1), where float32 sums shift the correlation in its fourth digit."""
    p, y = pred.reshape(-1, pred.shape[-1]).double(), target.reshape(-1, target.shape[-1]).double()  # (N, D)
    n = torch.full_like(p[0], float(p.shape[0]))
    return torch.stack([p.sum(0), y.sum(0), (p * p).sum(0), (y * y).sum(0), (p * y).sum(0), n]).flatten()


def _corr(s: Tensor) -> float:
    """LSTNet's empirical correlation: Pearson correlation over time of each series, averaged over
    the series whose target varies (LSTNet's code likewise drops series with zero variance)."""
    sp, sy, spp, syy, spy, n = s.double().reshape(6, -1)
    cov = spy - sp * sy / n
    var_p, var_y = spp - sp * sp / n, syy - sy * sy / n
    valid = var_y > 0
    # A constant prediction has no correlation with anything: its variance is only the rounding of
    # the sums (far below 1e-6 of its mean square), and the ratio would be noise over noise.
    if (var_p[valid] <= 1e-6 * spp[valid]).any():
        return float("nan")
    corr = cov[valid] / (var_p[valid] * var_y[valid]).clamp_min(1e-300).sqrt()
    return float(corr.mean()) if valid.any() else float("nan")


def _accuracy(logits: Tensor, target: Tensor) -> Tensor:
    return torch.stack([(logits.argmax(-1) == target).sum().float(), _count(target)])


def _bce(logits: Tensor, target: Tensor) -> Tensor:
    return torch.stack([F.binary_cross_entropy_with_logits(logits, target, reduction="sum"), _count(target)])


def _frame_nll(logits: Tensor, target: Tensor) -> Tensor:
    """Σ over real steps of the negative log-likelihood of the next frame, each of its D values a
    Bernoulli (summed over them, in nats), and the number of real steps. A padded step (target < 0,
    `batching.PAD`) counts for nothing. logits, target (B, T, D) or (N, D)."""
    if logits.dtype in (torch.float16, torch.bfloat16):  # sum in float32 under mixed precision
        logits = logits.float()
    real = target[..., 0] >= 0  # (B, T): padding fills whole steps
    nll = F.binary_cross_entropy_with_logits(logits, target.clamp_min(0), reduction="none").sum(-1)  # (B, T)
    return torch.stack([nll[real].sum(), real.sum().to(nll.dtype)])


def frame_nll_loss(logits: Tensor, target: Tensor) -> Tensor:
    """The training loss of the `frame-nll` metric: nats per real step, summed over the frame's values."""
    total, steps = _frame_nll(logits, target)
    return total / steps.clamp_min(1.0)


def _mean(s: Tensor) -> float:
    return float(s[0] / s[1])


_add(Metric("mse", "minimize", _sse, _mean, "MSE", positive=True))
_add(Metric("rmse", "minimize", _sse, lambda s: math.sqrt(_mean(s)), "RMSE", positive=True))
_add(Metric("rse", "minimize", _rse_stats, _rse, "RSE", positive=True))
_add(Metric("corr", "maximize", _corr_stats, _corr, "CORR"))
_add(Metric("perplexity", "minimize", _nll, lambda s: math.exp(_mean(s)), "perplexity", positive=True))
_add(Metric("bpc", "minimize", _nll, lambda s: _mean(s) / math.log(2), "bits per character", positive=True))
_add(Metric("accuracy", "maximize", _accuracy, lambda s: 100.0 * _mean(s), "accuracy %"))
_add(Metric("bce", "minimize", _bce, _mean, "per-pixel BCE", positive=True))
# Polyphonic music as the literature scores it (Boulanger-Lewandowski et al. 2012; Bai et al. 2018):
# Σ over all predicted frames of a split of Σ over the 88 keys of -log p(key), / the number of frames.
_add(Metric("frame-nll", "minimize", _frame_nll, _mean, "NLL (nats/frame)", positive=True))
