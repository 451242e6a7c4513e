"""Output kinds: how a task turns a backbone's (B, T, F) outputs into predictions, and the loss.

A task names its output kind in its spec; the kind reads the sizes it needs from the data (target
shape, or `num_classes` / `vocab_size` in the dataset's metadata). No task or family is special-cased.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from benchbench.data.registry import Splits
from benchbench.metrics import frame_nll_loss
from benchbench.models import Backbone
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


class LastSteps(nn.Module):
    """The last `steps` outputs, each mapped by one linear layer: (B, T, F) -> (B, steps, out)."""

    def __init__(self, features: int, out: int, *, steps: int) -> None:
        super().__init__()
        self.steps = steps
        self.linear = nn.Linear(features, out)

    def forward(self, out: torch.Tensor) -> torch.Tensor:
        return self.linear(out[:, -self.steps :])


class LastStepsPerPixel(nn.Module):
    """For a backbone whose outputs are feature maps over the frame's own pixels (channel-first):
    the last `steps` outputs, each pixel's channels mapped to one value by a shared linear layer, a
    1x1 convolution as in Shi et al. 2015. (B, T, C * P) -> (B, steps, P)."""

    def __init__(self, channels: int, *, steps: int) -> None:
        super().__init__()
        self.steps, self.channels = steps, channels
        self.linear = nn.Linear(channels, 1)

    def forward(self, out: torch.Tensor) -> torch.Tensor:
        B, _, F = out.shape
        maps = out[:, -self.steps :].reshape(B, self.steps, self.channels, F // self.channels)  # (B, K, C, P)
        return self.linear(maps.transpose(-1, -2)).squeeze(-1)  # (B, K, P)


@dataclass(frozen=True)
class OutputKind:
    name: str
    head: Callable[[Backbone, Splits], nn.Module]  # (backbone, data) -> head module
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (pred, target) -> scalar
    regression: bool = False  # predictions are values in the (normalised) units of the targets


HEADS: Registry[OutputKind] = Registry("output kind")


def _target_shape(data: Splits) -> torch.Size:
    return data.train[0][1].shape


def _summary(backbone: Backbone, out: int) -> nn.Module:
    features = backbone.output_size
    return nn.Sequential(SequenceSummary(features, bidirectional=backbone.bidirectional), nn.Linear(features, out))


def _sequence_regression(backbone: Backbone, data: Splits) -> nn.Module:
    (targets,) = _target_shape(data)
    return _summary(backbone, targets)


def _sequence_classification(backbone: Backbone, data: Splits) -> nn.Module:
    return _summary(backbone, data.meta["num_classes"])


def _language_model(backbone: Backbone, data: Splits) -> nn.Module:
    return nn.Linear(backbone.output_size, data.meta["vocab_size"])  # per step: (B, T, F) -> (B, T, V)


def _frame_prediction(backbone: Backbone, data: Splits) -> nn.Module:
    steps, pixels = _target_shape(data)
    channels = backbone.spatial_channels
    if channels is not None and channels * pixels == backbone.output_size:
        return LastStepsPerPixel(channels, steps=steps)
    return LastSteps(backbone.output_size, pixels, steps=steps)


def _next_frame(backbone: Backbone, data: Splits) -> nn.Module:
    # Per step: (B, T, F) -> (B, T, D) logits of the next frame's D binary values (88 piano keys).
    return nn.Linear(backbone.output_size, data.train[0].shape[-1])


def _cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))


for _kind in (
    OutputKind("sequence-regression", _sequence_regression, F.mse_loss, regression=True),
    OutputKind("sequence-classification", _sequence_classification, _cross_entropy),
    OutputKind("language-model", _language_model, _cross_entropy),
    OutputKind("frame-prediction", _frame_prediction, F.binary_cross_entropy_with_logits),
    OutputKind("next-frame", _next_frame, frame_nll_loss),
):
    HEADS.register(_kind.name)(_kind)
