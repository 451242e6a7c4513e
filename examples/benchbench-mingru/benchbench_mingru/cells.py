"""minGRU and minLSTM: Feng, Tung, Ahmed, Bengio & Hajimirsadeghi, "Were RNNs All We Needed?" (2024),
arXiv:2410.01201.

Both drop the previous hidden state from every gate, so each step's gates and candidate are linear
maps of the input alone; what is left of the recurrence is an elementwise linear one,
h_t = a_t ⊙ h_{t-1} + b_t, which the paper trains with a parallel scan. This module runs it in the
sequential form (the same function): one matmul projects all steps at once, then the loop does two
elementwise operations per step.

    minGRU   z_t = σ(Linear_z(x_t))          h̃_t = Linear_h(x_t)
             h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t

    minLSTM  f_t = σ(Linear_f(x_t))          i_t = σ(Linear_i(x_t))          h̃_t = Linear_h(x_t)
             f'_t = f_t / (f_t + i_t)         i'_t = i_t / (f_t + i_t)        (length-independent scaling)
             h_t = f'_t ⊙ h_{t-1} + i'_t ⊙ h̃_t

Layers are stacked as in torch's recurrent layers: layer l reads layer l-1's outputs, with dropout
between layers (none after the last). The state is the last hidden vector of every layer,
(num_layers, B, H), and a sequence fed in chunks with the state passed on gives what it gives whole.
"""

from __future__ import annotations

import torch
from torch import nn

from benchbench.models import Backbone

__all__ = ["MinGRU", "MinLSTM"]


class _MinLayers(Backbone):
    """Stacked layers of one minimal cell; subclasses say how a layer maps its input projections to
    the coefficients (a_t, b_t) of h_t = a_t ⊙ h_{t-1} + b_t."""

    bidirectional = False
    gates = 1  # projections per step besides the candidate
    # Their gates no longer read h_{t-1}, so depth is how these cells mix information across features
    # and time (the paper stacks several layers): the search also tries three.
    search_space = {"num_layers": {"choices": [1, 2, 3]}}

    def __init__(self, *, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}")
        sizes = [input_size] + [hidden_size] * (num_layers - 1)
        self.layers = nn.ModuleList(nn.Linear(size, (self.gates + 1) * hidden_size) for size in sizes)
        self.dropout = nn.Dropout(dropout if num_layers > 1 else 0.0)
        self.hidden_size = hidden_size
        self.output_size = hidden_size

    def coefficients(self, projected: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        batch = x.shape[0]
        if state is None:
            state = x.new_zeros(len(self.layers), batch, self.hidden_size)  # (L, B, H)
        finals = []
        for index, layer in enumerate(self.layers):
            if index > 0:
                x = self.dropout(x)
            a, b = self.coefficients(layer(x))  # each (B, T, H)
            h = state[index]  # (B, H)
            steps = []
            for t in range(x.shape[1]):
                h = a[:, t] * h + b[:, t]
                steps.append(h)
            x = torch.stack(steps, dim=1)  # (B, T, H)
            finals.append(h)
        return x, torch.stack(finals)  # (B, T, H), (L, B, H)


class MinGRU(_MinLayers):
    """minGRU (Feng et al. 2024, "Were RNNs All We Needed?"): one input-only update gate, no reset gate."""

    gates = 1

    def coefficients(self, projected: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        gate, candidate = projected.chunk(2, dim=-1)
        z = torch.sigmoid(gate)
        return 1 - z, z * candidate


class MinLSTM(_MinLayers):
    """minLSTM (Feng et al. 2024, "Were RNNs All We Needed?"): input-only forget and input gates, normalised to sum to 1."""

    gates = 2

    def coefficients(self, projected: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        forget, inp, candidate = projected.chunk(3, dim=-1)
        f, i = torch.sigmoid(forget), torch.sigmoid(inp)
        total = f + i
        return f / total, (i / total) * candidate
