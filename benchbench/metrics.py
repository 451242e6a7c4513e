"""Metrics, each carrying its direction once: the study's direction and every sort read it here.

A metric is the mean of a per-element statistic over a whole split, passed through `finalize`
(e.g. perplexity = exp(mean NLL)). Accumulating means instead of averaging per-batch values keeps
the figure exact whatever the batch size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

from benchbench.registry import Registry

__all__ = ["METRICS", "Metric"]


@dataclass(frozen=True)
class Metric:
    name: str
    direction: Literal["minimize", "maximize"]
    statistic: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (pred, target) -> per-element values
    finalize: Callable[[float], float] = float  # mean of the statistic -> reported value
    label: str = ""  # how tables name it, with units

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "maximize"


METRICS: Registry[Metric] = Registry("metric")


def _add(metric: Metric) -> None:
    METRICS.register(metric.name)(metric)


_add(Metric("mse", "minimize", lambda pred, target: (pred - target).pow(2), label="MSE"))
