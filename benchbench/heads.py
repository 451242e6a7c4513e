"""Output kinds: how a task turns a backbone's (B, T, F) outputs into predictions, and the loss.

A task names its output kind in its spec; no task or family is special-cased here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from benchbench.registry import Registry

__all__ = ["HEADS", "OutputKind", "SequenceSummary"]


class SequenceSummary(nn.Module):
    """One vector per sequence: the last step's output, or for a bidirectional backbone the forward
    half at the last step joined with the backward half at the first step (each has read the whole
    sequence)."""

    def __init__(self, features: int, *, bidirectional: bool) -> None:
        super().__init__()
        self.half = features // 2 if bidirectional else None

    def forward(self, out: torch.Tensor) -> torch.Tensor:  # (B, T, F) -> (B, F)
        if self.half is None:
            return out[:, -1]
        return torch.cat([out[:, -1, : self.half], out[:, 0, self.half :]], dim=-1)


@dataclass(frozen=True)
class OutputKind:
    name: str
    head: Callable[[int, int, bool], nn.Module]  # (features, targets, bidirectional) -> head
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (pred, target) -> scalar


HEADS: Registry[OutputKind] = Registry("output kind")


def _sequence_regression(features: int, targets: int, bidirectional: bool) -> nn.Module:
    return nn.Sequential(SequenceSummary(features, bidirectional=bidirectional), nn.Linear(features, targets))


HEADS.register("sequence-regression")(OutputKind("sequence-regression", _sequence_regression, F.mse_loss))
