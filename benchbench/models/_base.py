"""What every backbone is, and the wrapper around torch's built-in recurrent layers.

A backbone is a plain `nn.Module` that knows nothing about training: it maps a batch-first input
(B, T, input_size) and an optional initial state to outputs (B, T, output_size) and a final state.
It exposes `output_size` (features per step), `bidirectional` (whether step t sees steps > t) and
`spatial_channels` (set by convolutional families whose outputs are maps over the input's grid).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["Backbone", "TorchRecurrent"]


class Backbone(nn.Module):
    """Base class of all backbones; subclasses set `output_size` and `bidirectional`."""

    output_size: int
    bidirectional: bool = False
    # When set, each step's outputs are this many feature maps over the grid of the step's input
    # (flattened channel-first), so a head can work per position, e.g. per pixel of a frame.
    spatial_channels: int | None = None

    def forward(self, x: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        raise NotImplementedError


class TorchRecurrent(Backbone):
    """`nn.RNN`, `nn.LSTM` or `nn.GRU`, batch-first (cuDNN on a GPU).

    Dropout is applied between stacked layers only, as torch does; with one layer it is ignored.
    """

    def __init__(
        self,
        layer: type[nn.RNNBase],
        *,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
        **layer_options: Any,
    ) -> None:
        super().__init__()
        self.rnn = layer(
            input_size,
            hidden_size,
            num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
            **layer_options,
        )
        self.bidirectional = bidirectional
        self.output_size = hidden_size * (2 if bidirectional else 1)

    def forward(self, x: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        if x.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
            # bf16-mixed on a CPU: oneDNN's bfloat16 LSTM needs AVX512-BF16 and refuses elsewhere, so
            # torch's layers run in their weights' dtype there; the rest of the model stays in bfloat16.
            dtype = self.rnn.weight_hh_l0.dtype
            state = None if state is None else torch.utils._pytree.tree_map(lambda s: s.to(dtype), state)
            with torch.autocast("cpu", enabled=False):
                return self.rnn(x.to(dtype), state)
        out, state = self.rnn(x, state)  # (B, T, H * directions), final state per layer
        return out, state
