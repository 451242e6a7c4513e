"""Gated recurrent unit, in the two forms in use.

Cho et al., "Learning Phrase Representations using RNN Encoder-Decoder for Statistical Machine
Translation", EMNLP 2014. torch's nn.GRU (like cuDNN, and the paper's first arXiv version) applies
the reset gate after the recurrent product; the paper's final version (arXiv:1406.1078v3, and
Theano-era code such as Chung et al. 2014's) applies it to the state before the product:

    r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)      z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    reset after  (nn.GRU):  n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
    reset before:           n_t = tanh(W_in x_t + b_in + W_hn (r_t ⊙ h_{t-1}) + b_hn)
    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}

`reset_after` picks the form (Keras and ONNX name the same switch `reset_after` and
`linear_before_reset`). They are different functions and do not train alike: on Nottingham, 8
epochs at one setting, nn.GRU's form ends at a validation NLL of 4.53 where the other reaches 3.85,
while on MuseData and Piano-midi the reset-before form is the worse one after 4 epochs
(benchmarks/gru_forms.py): a choice per task, not a better default. The reset-before form has no
fused kernel; it runs a loop over time steps whose backward autograd derives, 1.3-1.5x nn.GRU's
time on a CPU.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from benchbench.models._base import Backbone, TorchRecurrent
from benchbench.models.registry import MODELS

__all__ = ["ResetBeforeGRU", "gru"]


class ResetBeforeGRU(Backbone):
    """Stacked GRU layers that reset the state before the recurrent product (Cho et al. 2014, final
    version). Parameters are named, shaped and initialised as nn.GRU's (gates in the order r, z, n;
    U(-1/sqrt(H), 1/sqrt(H))), so the two forms have the same size and the same starting weights for
    a seed; dropout sits between layers only; the state is (num_layers, B, H)."""

    bidirectional = False

    def __init__(self, *, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}")
        self.hidden_size, self.num_layers, self.output_size = hidden_size, num_layers, hidden_size
        self.dropout = nn.Dropout(dropout if num_layers > 1 else 0.0)
        for layer in range(num_layers):
            inputs = input_size if layer == 0 else hidden_size
            self.register_parameter(f"weight_ih_l{layer}", nn.Parameter(torch.empty(3 * hidden_size, inputs)))
            self.register_parameter(f"weight_hh_l{layer}", nn.Parameter(torch.empty(3 * hidden_size, hidden_size)))
            self.register_parameter(f"bias_ih_l{layer}", nn.Parameter(torch.empty(3 * hidden_size)))
            self.register_parameter(f"bias_hh_l{layer}", nn.Parameter(torch.empty(3 * hidden_size)))
        bound = 1.0 / math.sqrt(hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        batch, steps, size = x.shape[0], x.shape[1], self.hidden_size
        if state is None:
            state = x.new_zeros(self.num_layers, batch, size)
        finals = []
        for layer in range(self.num_layers):
            if layer > 0:
                x = self.dropout(x)
            w_hh, b_hh = getattr(self, f"weight_hh_l{layer}"), getattr(self, f"bias_hh_l{layer}")
            gates_in = F.linear(x, getattr(self, f"weight_ih_l{layer}"), getattr(self, f"bias_ih_l{layer}"))  # (B, T, 3H)
            w_rz, w_n, b_rz, b_n = w_hh[: 2 * size], w_hh[2 * size :], b_hh[: 2 * size], b_hh[2 * size :]
            h = state[layer].to(gates_in.dtype)  # (B, H)
            outputs = []
            for t in range(steps):
                step = gates_in[:, t]  # (B, 3H): the input's part of r, z and n
                r, z = torch.sigmoid(step[:, : 2 * size] + F.linear(h, w_rz, b_rz)).chunk(2, dim=1)  # (B, H) each
                n = torch.tanh(step[:, 2 * size :] + F.linear(r * h, w_n, b_n))  # reset before the product
                h = n + z * (h - n)  # (1 - z) n + z h
                outputs.append(h)
            x = torch.stack(outputs, dim=1)  # (B, T, H)
            finals.append(h)
        return x, torch.stack(finals)


@MODELS.register("gru")
def gru(
    *, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0, reset_after: bool = True
) -> Backbone:
    """Gated recurrent unit (Cho et al. 2014), torch's nn.GRU; reset_after=false: the reset gate before the recurrent product."""
    if reset_after:
        return TorchRecurrent(nn.GRU, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers, dropout=dropout)
    return ResetBeforeGRU(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers, dropout=dropout)
