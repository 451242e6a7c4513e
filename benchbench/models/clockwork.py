"""Clockwork RNN.

Koutník, Greff, Gomez & Schmidhuber, "A Clockwork RNN", ICML 2014. The hidden state is split into g
modules with periods T_i = 2^i (i = 0..g-1). At step t (counted from 0 at the start of the sequence)
module i is active when t mod T_i = 0; active modules update, the others keep their state:
    h_t^i = tanh(W_I^i x_t + b^i + Σ_{j >= i} W_H^{ij} h_{t-1}^j)   if t mod T_i = 0
    h_t^i = h_{t-1}^i                                                 otherwise
Input weights reach every module; recurrent weights run only from slower to faster modules (and within
a module), so with the modules ordered fastest first the recurrent matrix W_H is block upper-triangular.
The mask is structural: the recurrent matrix used is `weight ⊙ mask`, so entries outside the blocks get
no gradient and never act, whatever an optimizer does to the raw parameter.

Output: the hidden units of every step, ordered module by module, fastest (T = 1) first.

Module sizes: hidden_size is split into `modules` modules as evenly as possible. When `modules` does not
divide hidden_size, the sizes differ by one and the faster modules take the extra units (e.g. 10 units in
4 modules -> 3, 3, 2, 2), so any searched hidden_size works; modules > hidden_size is refused.

Layers stack (layer l + 1 reads layer l's outputs, with dropout between layers) and share one clock. The
state is `(h, step)`: h (num_layers, B, hidden_size) and `step`, a 0-d integer tensor counting the steps
already seen, so a sequence continued from a returned state keeps its clock (chunked == whole).

Speed: the input projections of all steps are one matmul before the loop; since the periods are powers of
two, the modules active at a step are always a prefix (0..k), and only their rows are computed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from benchbench.errors import BenchError
from benchbench.models._base import Backbone
from benchbench.models.registry import MODELS

__all__ = ["Clockwork", "clockwork", "module_sizes"]


def module_sizes(hidden_size: int, modules: int) -> list[int]:
    """hidden_size split into `modules` sizes differing by at most one, larger (faster) modules first."""
    if modules < 1 or modules > hidden_size:
        raise BenchError(f"clockwork needs 1 <= modules <= hidden_size, got modules={modules}, hidden_size={hidden_size}")
    base, extra = divmod(hidden_size, modules)
    return [base + 1 if i < extra else base for i in range(modules)]


class _ClockworkLayer(nn.Module):
    """One clockwork layer: modules of `sizes` units ticking with `periods` (fastest first)."""

    def __init__(self, input_size: int, sizes: Sequence[int], periods: Sequence[int]) -> None:
        super().__init__()
        hidden = sum(sizes)
        self.hidden_size = hidden
        self.periods = tuple(periods)
        self.ends = tuple(int(e) for e in torch.tensor(sizes).cumsum(0))  # end row of each module
        self.input = nn.Linear(input_size, hidden)  # W_I and b, all modules
        self.recurrent = nn.Parameter(torch.empty(hidden, hidden))  # W_H, used masked
        bound = 1.0 / math.sqrt(hidden)
        nn.init.uniform_(self.recurrent, -bound, bound)
        nn.init.uniform_(self.input.weight, -bound, bound)
        nn.init.uniform_(self.input.bias, -bound, bound)
        # mask[r, c] = 1 when column c's module is at least as slow as row r's: block upper-triangular.
        module_of = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))  # (H,)
        self.register_buffer("mask", (module_of[None, :] >= module_of[:, None]).float(), persistent=False)

    def effective_recurrent(self) -> torch.Tensor:
        """The recurrent matrix that acts, W_H ⊙ mask: (H, H), rows receive from columns."""
        return self.recurrent * self.mask.to(self.recurrent.dtype)

    def active_rows(self, step: int) -> int:
        """How many leading hidden units update at `step`: modules 0..k with step mod T_i == 0."""
        active = 0
        for period, end in zip(self.periods, self.ends, strict=True):
            if step % period:
                break
            active = end
        return active

    def forward(self, x: torch.Tensor, h: torch.Tensor | None, start: int) -> tuple[torch.Tensor, torch.Tensor]:
        B, T = x.shape[:2]  # x: (B, T, I)
        H = self.hidden_size
        projected = self.input(x).unbind(1)  # T × (B, H): W_I x_t + b, all steps in one matmul
        h = x.new_zeros(B, H) if h is None else h  # (B, H)
        weight_t = self.effective_recurrent().t()  # (H, H): h @ weight_t = (W_H h)^T
        rows_t: dict[int, torch.Tensor] = {}  # active rows -> (H, rows) slice of weight_t
        outputs = []
        for t in range(T):
            n = self.active_rows(start + t)
            if n == H:
                h = torch.tanh(torch.addmm(projected[t], h, weight_t))  # (B, H)
            elif n:
                if n not in rows_t:
                    rows_t[n] = weight_t[:, :n]
                fresh = torch.tanh(torch.addmm(projected[t][:, :n], h, rows_t[n]))  # (B, n)
                h = torch.cat([fresh, h[:, n:]], dim=1)  # (B, H): inactive modules keep their state
            outputs.append(h)
        return torch.stack(outputs, dim=1), h  # (B, T, H), (B, H)


class Clockwork(Backbone):
    """Stacked clockwork layers; `sizes` and `periods` list the modules fastest first.

    The periods must be non-decreasing, each dividing the next (as powers of two do), so the active
    modules at any step are a prefix.
    """

    def __init__(
        self,
        *,
        input_size: int,
        sizes: Sequence[int],
        periods: Sequence[int],
        num_layers: int = 1,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if len(sizes) != len(periods) or not sizes or min(sizes) < 1 or min(periods) < 1:
            raise ValueError(f"need one positive size per positive period, got sizes={sizes}, periods={periods}")
        if any(b % a for a, b in zip(periods, periods[1:])):
            raise ValueError(f"each period must divide the next, got {periods}")
        if num_layers < 1:
            raise BenchError(f"clockwork needs num_layers >= 1, got {num_layers}")
        hidden = sum(sizes)
        self.layers = nn.ModuleList(
            _ClockworkLayer(input_size if layer == 0 else hidden, sizes, periods) for layer in range(num_layers)
        )
        self.dropout = nn.Dropout(dropout if num_layers > 1 else 0.0)
        self.output_size = hidden
        self.bidirectional = False

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        start = 0 if state is None else int(state[1])  # steps already seen: the clock continues
        out = x  # (B, T, I)
        finals = []
        for index, layer in enumerate(self.layers):
            if index > 0:
                out = self.dropout(out)
            out, h = layer(out, None if state is None else state[0][index], start)  # (B, T, H), (B, H)
            finals.append(h)
        step = torch.tensor(start + x.shape[1], dtype=torch.long)
        return out, (torch.stack(finals), step)  # (B, T, H), ((L, B, H), ())


@MODELS.register("clockwork")
def clockwork(
    *, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0, modules: int = 4
) -> Clockwork:
    """Clockwork RNN (Koutník et al. 2014): tanh modules with periods 1, 2, 4, ..., slow feeds fast."""
    sizes = module_sizes(hidden_size, modules)
    return Clockwork(
        input_size=input_size,
        sizes=sizes,
        periods=[2**i for i in range(modules)],
        num_layers=num_layers,
        dropout=dropout,
    )
