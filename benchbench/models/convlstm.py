"""Convolutional LSTM with Hadamard peepholes.

Shi et al., "Convolutional LSTM Network: A Machine Learning Approach for Precipitation Nowcasting",
NIPS 2015 (section 3.1). Inputs X_t, cells C_t and hidden states H_t are grids (channels × space);
`*` is a convolution ("same" padding, so the grid keeps its size) and `∘` the Hadamard product, with
peephole weights W_c· of the state's full shape (hidden channels × space):
    i_t = σ(W_xi * X_t + W_hi * H_{t-1} + W_ci ∘ C_{t-1} + b_i)
    f_t = σ(W_xf * X_t + W_hf * H_{t-1} + W_cf ∘ C_{t-1} + b_f)
    C_t = f_t ∘ C_{t-1} + i_t ∘ tanh(W_xc * X_t + W_hc * H_{t-1} + b_c)
    o_t = σ(W_xo * X_t + W_ho * H_{t-1} + W_co ∘ C_t + b_o)
    H_t = o_t ∘ tanh(C_t)

How a step's shape maps onto the grid (inputs always arrive flattened, (B, T, input_size)):
- `step_shape = (C, H, W)` (frames): 2-D convolutions; `hidden_size` is the number of hidden
  channels, so `output_size = hidden_size * H * W` (H_t flattened channel-major, like `Tensor.flatten`).
- `step_shape = (C, L)` (multichannel 1-D signals): 1-D convolutions, `hidden_size` hidden channels,
  `output_size = hidden_size * L`.
- plain vectors (`step_shape` None or `(input_size,)`): the vector is a 1-D grid of `input_size`
  cells with one channel, and 1-D convolutions run along the feature axis. A flat vector has no
  channel axis for `hidden_size` to count, so here `hidden_size` counts output features: the layer
  takes the fewest hidden channels that give at least that many, ceil(hidden_size / input_size),
  and `output_size = channels * input_size` (>= hidden_size; exactly hidden_size when
  input_size divides it, and input_size when input_size >= hidden_size).

Layers stack (layer l + 1 reads layer l's hidden grid, with dropout between layers) and all share
one hidden channel count. The state is `(h, c)`, each (num_layers, B, channels, *grid).

Speed: the input-to-state convolutions of all T steps run as one convolution over B*T grids before the
loop; only the state-to-state convolution runs per step. On small grids (channels × cells <= 256, as
with most vector inputs) both convolutions are applied as dense matrices built from the
kernels once per call (the convolution applied to the identity): the same linear maps, computed as
plain matmuls, which on a CPU beat many tiny convolutions (up to 2.5x on vectors). A layer in that
form is exactly a peephole LSTM of channels × cells units with kernel-tied weights, so it runs on the
peephole LSTM's hand-written backpropagation through time (models/lstm.py).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from benchbench.errors import BenchError
from benchbench.models._base import Backbone
from benchbench.models.lstm import LSTMConfig, _Layout, _PeepholeLSTMFunction
from benchbench.models.registry import MODELS

__all__ = ["ConvLSTM"]


def _vanilla_layout(hidden: int) -> _Layout:
    return _Layout(LSTMConfig(), hidden)  # all gates, peepholes: the cell ConvLSTM is made of

# Hidden grids up to this many features (channels × cells) use dense matrices instead of convolutions:
# measured on CPU, dense wins clearly below ~256 (2.5x at 2 cells × 64 channels) and loses above.
_DENSE_LIMIT = 256
_DENSE_INPUT_LIMIT = 1024  # ... and inputs up to this many features per step


class _ConvLSTMLayer(nn.Module):
    """One ConvLSTM layer over grids of shape `grid` (1-D or 2-D). Gate order: i, f, g (cell), o."""

    def __init__(self, in_channels: int, channels: int, grid: tuple[int, ...], kernel_size: int) -> None:
        super().__init__()
        conv = nn.Conv1d if len(grid) == 1 else nn.Conv2d
        self.channels = channels
        self.grid = grid
        self.size = channels * math.prod(grid)  # features of one hidden grid
        self.input_conv = conv(in_channels, 4 * channels, kernel_size, padding="same")  # W_x·, b_·
        self.state_conv = conv(channels, 4 * channels, kernel_size, padding="same", bias=False)  # W_h·
        self.peephole = nn.Parameter(torch.zeros(3, channels, *grid))  # W_ci, W_cf, W_co; start off, learned

    def _as_matrix(self, weight: torch.Tensor) -> torch.Tensor:
        """A "same" convolution (no bias) as a dense matrix on flattened grids: (C_in * cells, C_out * cells).

        Row k is the convolution of the k-th basis grid, so `x.flatten(1) @ matrix` equals
        `conv(x).flatten(1)`; gradients reach `weight` through the convolution.
        """
        channels = weight.shape[1]
        n = channels * math.prod(self.grid)
        eye = torch.eye(n, dtype=weight.dtype, device=weight.device).view(n, channels, *self.grid)
        convolve = F.conv1d if len(self.grid) == 1 else F.conv2d
        return convolve(eye, weight, padding="same").flatten(1)

    def _initial(self, x: torch.Tensor, state) -> tuple[torch.Tensor, torch.Tensor]:
        if state is None:
            zeros = x.new_zeros(x.shape[0], self.size)  # (B, N)
            return zeros, zeros
        return tuple(s.reshape(x.shape[0], self.size) for s in state)

    def _dense_forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Small grids: both convolutions as dense matrices, which makes the layer a peephole LSTM of
        N = channels × cells units whose weights are tied by the kernels and whose peepholes are the
        Hadamard weights; it runs on the peephole LSTM's hand-written BPTT (models/lstm.py), and
        autograd carries the weight gradients back through the matrices to the kernels."""
        B, T = x.shape[:2]
        N = self.size
        order = [3, 0, 1, 2]  # our blocks are (i, f, g, o); the peephole LSTM stores (o, i, f, g)

        def rows(matrix: torch.Tensor) -> torch.Tensor:  # (in, 4N) in our order -> (4N, in) in theirs
            return matrix.T.reshape(4, N, -1)[order].reshape(4 * N, -1)

        w_ih = rows(self._as_matrix(self.input_conv.weight))  # (4N, C_in * cells)
        w_hh = rows(self._as_matrix(self.state_conv.weight))  # (4N, N)
        bias = self.input_conv.bias.repeat_interleave(math.prod(self.grid)).view(4, N)[order].flatten()  # (4N,)
        h, c = self._initial(x, state)
        p_i, p_f, p_o = self.peephole.view(3, N)  # (N,) each
        out, h, c, _ = _PeepholeLSTMFunction.apply(
            x.reshape(B, T, -1).transpose(0, 1), h, c, None, w_ih, w_hh, bias, p_o, p_i, p_f, None, _vanilla_layout(N)
        )  # out (T, B, N)
        return out.transpose(0, 1), (h, c)  # (B, T, N)

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        B, T = x.shape[:2]  # x: (B, T, C_in, *grid)
        N = self.size
        if N <= _DENSE_LIMIT and x[0, 0].numel() <= _DENSE_INPUT_LIMIT:
            if torch.is_autocast_enabled(x.device.type):  # mixed precision: the dense cell runs in its weights' dtype
                dtype = self.state_conv.weight.dtype
                state = None if state is None else tuple(s.to(dtype) for s in state)
                with torch.autocast(x.device.type, enabled=False):
                    return self._dense_forward(x.to(dtype), state)
            return self._dense_forward(x, state)
        gx = self.input_conv(x.flatten(0, 1)).view(B, T, 4, N)  # input-to-state for all steps at once
        steps = gx.unbind(1)  # T × (B, 4, N); one backward for all (indexing gx[:, t] costs O(T) each)
        h, c = self._initial(x, state)
        peep = self.peephole.view(3, N)
        peep_if, peep_o = peep[:2], peep[2]  # (2, N), (N,)
        outputs = []
        for step in steps:
            recurrent = self.state_conv(h.view(B, self.channels, *self.grid))  # (B, 4 * channels, *grid)
            gates = step + recurrent.view(B, 4, N)  # (B, 4, N)
            input_forget = torch.sigmoid(gates[:, :2] + peep_if * c.unsqueeze(1))  # (B, 2, N)
            i, f = input_forget.unbind(1)  # (B, N) each
            c = f * c + i * torch.tanh(gates[:, 2])  # (B, N)
            o = torch.sigmoid(gates[:, 3] + peep_o * c)  # (B, N)
            h = o * torch.tanh(c)  # (B, N)
            outputs.append(h)
        out = torch.stack(outputs, dim=1)  # (B, T, N)
        return out, (h, c)


@MODELS.register("convlstm")
class ConvLSTM(Backbone):
    """Convolutional LSTM with peepholes (Shi et al. 2015); vectors are 1-D grids over the features.

    Stacked layers share one hidden channel count; the module docstring says how steps map onto grids.
    The class itself is the registered factory: `models.create` reads its keyword-only parameters.
    """

    def __init__(
        self,
        *,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        step_shape: tuple[int, ...] | None = None,
        kernel_size: int = 3,
    ) -> None:
        super().__init__()
        if num_layers < 1 or hidden_size < 1:
            raise BenchError(f"convlstm needs num_layers and hidden_size >= 1, got {num_layers} and {hidden_size}")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise BenchError(
                f"convlstm needs an odd kernel_size (1, 3, 5, ...) so padding keeps the grid centred, got {kernel_size}"
            )
        if step_shape is None or len(step_shape) == 1:
            if step_shape is not None and step_shape[0] != input_size:
                raise BenchError(f"convlstm: step_shape {tuple(step_shape)} does not match input_size {input_size}")
            in_channels, grid = 1, (input_size,)
            channels = -(-hidden_size // input_size)  # ceil: the fewest channels giving >= hidden_size
        elif len(step_shape) in (2, 3):
            if math.prod(step_shape) != input_size:
                raise BenchError(
                    f"convlstm: step_shape {tuple(step_shape)} has {math.prod(step_shape)} values per step, "
                    f"but input_size is {input_size}"
                )
            in_channels, grid = step_shape[0], tuple(step_shape[1:])
            channels = hidden_size
        else:
            raise BenchError(
                f"convlstm takes steps shaped (L,), (C, L) or (C, H, W); got step_shape {tuple(step_shape)}"
            )
        self.in_channels = in_channels
        self.grid = grid
        self.channels = channels
        self.layers = nn.ModuleList(
            _ConvLSTMLayer(in_channels if layer == 0 else channels, channels, grid, kernel_size)
            for layer in range(num_layers)
        )
        self.dropout = nn.Dropout(dropout if num_layers > 1 else 0.0)
        self.output_size = channels * math.prod(grid)
        self.bidirectional = False
        # On image (or multichannel) steps the outputs are maps over the input's own grid.
        self.spatial_channels = channels if step_shape is not None and len(step_shape) > 1 else None

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        B, T = x.shape[:2]  # x: (B, T, input_size)
        out = x.reshape(B, T, self.in_channels, *self.grid)  # (B, T, C_in, *grid)
        hs, cs = [], []
        for index, layer in enumerate(self.layers):
            if index > 0:
                out = self.dropout(out).view(B, T, self.channels, *self.grid)  # (B, T, channels, *grid)
            layer_state = None if state is None else (state[0][index], state[1][index])
            out, (h, c) = layer(out, layer_state)  # out: (B, T, channels * cells)
            hs.append(h.view(B, self.channels, *self.grid))
            cs.append(c.view(B, self.channels, *self.grid))
        return out, (torch.stack(hs), torch.stack(cs))  # (B, T, output_size), 2 × (L, B, channels, *grid)
