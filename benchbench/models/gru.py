"""Gated recurrent unit.

Cho et al., "Learning Phrase Representations using RNN Encoder-Decoder for Statistical Machine
Translation", EMNLP 2014, as in torch's nn.GRU:
    r_t = σ(W_ir x_t + W_hr h_{t-1} + b_r)      z_t = σ(W_iz x_t + W_hz h_{t-1} + b_z)
    n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}
"""

from __future__ import annotations

from torch import nn

from benchbench.models._base import TorchRecurrent
from benchbench.models.registry import MODELS

__all__ = ["gru"]


@MODELS.register("gru")
def gru(*, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0) -> TorchRecurrent:
    """Gated recurrent unit (Cho et al. 2014), torch's nn.GRU."""
    return TorchRecurrent(
        nn.GRU, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers, dropout=dropout
    )
