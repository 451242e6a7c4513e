"""Elman recurrent network with tanh units.

Elman, "Finding Structure in Time", Cognitive Science 14 (1990):
    h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
"""

from __future__ import annotations

from torch import nn

from benchbench.models._base import TorchRecurrent
from benchbench.models.registry import MODELS

__all__ = ["rnn"]


@MODELS.register("rnn")
def rnn(*, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0) -> TorchRecurrent:
    """Elman RNN with tanh units (Elman 1990), torch's nn.RNN."""
    return TorchRecurrent(
        nn.RNN,
        input_size=input_size,
        hidden_size=hidden_size,
        num_layers=num_layers,
        dropout=dropout,
        nonlinearity="tanh",
    )
