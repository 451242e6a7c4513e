"""Long short-term memory.

Hochreiter & Schmidhuber, "Long Short-Term Memory", Neural Computation 9 (1997), with the forget
gate of Gers, Schmidhuber & Cummins (2000), as in torch's nn.LSTM:
    i_t = σ(W_ii x_t + W_hi h_{t-1} + b_i)      f_t = σ(W_if x_t + W_hf h_{t-1} + b_f)
    g_t = tanh(W_ig x_t + W_hg h_{t-1} + b_g)   o_t = σ(W_io x_t + W_ho h_{t-1} + b_o)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t             h_t = o_t ⊙ tanh(c_t)
"""

from __future__ import annotations

from torch import nn

from benchbench.models._base import TorchRecurrent
from benchbench.models.registry import MODELS

__all__ = ["lstm"]


@MODELS.register("lstm")
def lstm(*, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0) -> TorchRecurrent:
    """LSTM with forget gate (Hochreiter & Schmidhuber 1997; Gers et al. 2000), torch's nn.LSTM."""
    return TorchRecurrent(
        nn.LSTM, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers, dropout=dropout
    )
