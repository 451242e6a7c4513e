"""Long short-term memory: torch's LSTM, its bidirectional form, and the peephole LSTM with the eight
variants of Greff et al.

`lstm` is Hochreiter & Schmidhuber, "Long Short-Term Memory", Neural Computation 9 (1997), with the
forget gate of Gers, Schmidhuber & Cummins, "Learning to Forget" (2000), as in torch's nn.LSTM:
    i_t = σ(W_ii x_t + W_hi h_{t-1} + b_i)      f_t = σ(W_if x_t + W_hf h_{t-1} + b_f)
    g_t = tanh(W_ig x_t + W_hg h_{t-1} + b_g)   o_t = σ(W_io x_t + W_ho h_{t-1} + b_o)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t             h_t = o_t ⊙ tanh(c_t)

`bilstm` runs one such LSTM forwards and one backwards in time and concatenates their outputs
(Schuster & Paliwal, "Bidirectional Recurrent Neural Networks", 1997; Graves & Schmidhuber,
"Framewise phoneme classification with bidirectional LSTM", 2005).

`peephole` is the "vanilla" LSTM of Greff, Srivastava, Koutník, Steunebrink & Schmidhuber, "LSTM: A
Search Space Odyssey", IEEE TNNLS 28 (2017): the LSTM above plus the peephole connections of Gers &
Schmidhuber, "Recurrent Nets that Time and Count" (2000), diagonal weights p from the cell to the gates:
    i_t = σ(W_i x_t + R_i h_{t-1} + p_i ⊙ c_{t-1} + b_i)
    f_t = σ(W_f x_t + R_f h_{t-1} + p_f ⊙ c_{t-1} + b_f)
    g_t = tanh(W_g x_t + R_g h_{t-1} + b_g)                     (block input z in the paper)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    o_t = σ(W_o x_t + R_o h_{t-1} + p_o ⊙ c_t + b_o)           (peeps at the new cell state)
    h_t = o_t ⊙ tanh(c_t)                                       (block output y in the paper)
Its eight variants each change one thing (`LSTMConfig` switches them, in any combination):
    lstm-nig   no input gate            i_t = 1
    lstm-nfg   no forget gate           f_t = 1
    lstm-nog   no output gate           o_t = 1
    lstm-niaf  no input activation      g_t = W_g x_t + R_g h_{t-1} + b_g
    lstm-noaf  no output activation     h_t = o_t ⊙ c_t
    lstm-np    no peepholes             p_i = p_f = p_o = 0 (this is torch's nn.LSTM)
    lstm-cifg  coupled input and forget gate, f_t = 1 - i_t
    lstm-fgr   full gate recurrence: each gate's pre-activation also gets R_{g←g'} a_{t-1} for the
               previous step's activations a_{t-1} = (o, i, f)_{t-1} of all gates (9 more matrices)

Speed. The peephole LSTM is written by hand, so it cannot use torch's fused kernels. A Python loop under
autograd costs about 2× nn.LSTM on a CPU, so `_PeepholeLSTMFunction` does back-propagation through time
itself: the input projections of all steps are one matmul, the forward loop runs without autograd and
keeps the gate activations, the backward loop carries only the recurrent gradients (a few fused
elementwise ops per step, with every per-step coefficient precomputed over all steps at once), and the
weight gradients are single matmuls over all steps. That makes it about as fast as nn.LSTM's fused
oneDNN kernel on a CPU (benchmarks/cells.py), with no compilation. `_reference_layer` is the same cell
as a readable loop under autograd; the tests check one against the other, against nn.LSTM and with
gradcheck.

`lstm-fgr` is the exception, above 2× nn.LSTM, and that is its arithmetic: the gate-to-gate products
(a_{t-1} R_ggᵀ forward, dpre_gates R_gg backward, and dR_gg; R_gg is 3H × 3H) add 2.8G multiply-adds to
nn.LSTM's 1.5G at T=100 B=64 I=32 H=128, so its matmuls alone take ~1.7× nn.LSTM's whole forward and
backward, at 1 or 2 threads. Fusing each step's two products into one
[h | a] @ [R; R_gg] costs more, not less: R_gg has no g rows, so the fused weight is zero-padded
(+23% multiply-adds), and each step then needs a concatenation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from benchbench.models._base import Backbone, TorchRecurrent
from benchbench.models.registry import MODELS

__all__ = [
    "LSTMConfig",
    "PeepholeLSTM",
    "PeepholeLSTMLayer",
    "bilstm",
    "lstm",
    "lstm_cifg",
    "lstm_fgr",
    "lstm_nfg",
    "lstm_niaf",
    "lstm_nig",
    "lstm_noaf",
    "lstm_nog",
    "lstm_np",
    "peephole",
]


# --- torch's LSTM -------------------------------------------------------------------------------------


@MODELS.register("lstm")
def lstm(*, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0) -> TorchRecurrent:
    """LSTM with forget gate (Hochreiter & Schmidhuber 1997; Gers et al. 2000), torch's nn.LSTM."""
    return TorchRecurrent(
        nn.LSTM, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers, dropout=dropout
    )


@MODELS.register("bilstm")
def bilstm(*, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0) -> TorchRecurrent:
    """Bidirectional LSTM (Schuster & Paliwal 1997; Graves & Schmidhuber 2005), torch's nn.LSTM."""
    return TorchRecurrent(
        nn.LSTM,
        input_size=input_size,
        hidden_size=hidden_size,
        num_layers=num_layers,
        dropout=dropout,
        bidirectional=True,
    )


# --- the peephole LSTM and its variants ---------------------------------------------------------------


@dataclass(frozen=True)
class LSTMConfig:
    """Which parts of the peephole LSTM are present; the defaults are Greff et al.'s vanilla LSTM."""

    input_gate: bool = True  # i_t; off (NIG): i_t = 1
    forget_gate: bool = True  # f_t; off (NFG): f_t = 1
    output_gate: bool = True  # o_t; off (NOG): o_t = 1
    input_activation: bool = True  # g_t = tanh(·); off (NIAF): the block input is linear
    output_activation: bool = True  # h_t = o_t ⊙ tanh(c_t); off (NOAF): h_t = o_t ⊙ c_t
    peepholes: bool = True  # p ⊙ c from the cell to every gate; off (NP): none
    coupled: bool = False  # CIFG: f_t = 1 - i_t, no forget-gate weights (needs both gates on)
    full_gate_recurrence: bool = False  # FGR: every gate also reads (o, i, f)_{t-1} of all gates

    def __post_init__(self) -> None:
        if self.coupled and not (self.input_gate and self.forget_gate):
            raise ValueError("a coupled input-forget gate (CIFG) needs input_gate and forget_gate on")
        if self.full_gate_recurrence and not self.gates:
            raise ValueError("full gate recurrence needs at least one gate")

    @property
    def gates(self) -> tuple[str, ...]:
        """The sigmoid gates with weights of their own, in the order their rows are stored."""
        present = {"o": self.output_gate, "i": self.input_gate, "f": self.forget_gate and not self.coupled}
        return tuple(name for name in ("o", "i", "f") if present[name])


@dataclass(frozen=True)
class _Layout:
    """Where each block sits in the stacked rows [o, i, f, g] (absent gates left out), for one layer."""

    config: LSTMConfig
    hidden_size: int

    @property
    def blocks(self) -> tuple[str, ...]:
        return (*self.config.gates, "g")

    def slice(self, block: str) -> slice:
        k = self.blocks.index(block)
        return slice(k * self.hidden_size, (k + 1) * self.hidden_size)

    def has(self, block: str) -> bool:
        return block in self.blocks

    @property
    def n_gates(self) -> int:  # gates with weights: FGR reads and writes these, rows [0, n_gates·H)
        return len(self.config.gates)


def _reference_layer(
    x: torch.Tensor,
    h: torch.Tensor,
    c: torch.Tensor,
    a: torch.Tensor | None,
    params: dict[str, torch.Tensor | None],
    layout: _Layout,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """One layer as a plain loop under autograd: the readable definition the fast path must match.

    x (T, B, I) time-major; h, c (B, H); a (B, n_gates·H) or None. Returns out (T, B, H), h, c, a.
    """
    cfg = layout.config
    w_ih, w_hh, bias, w_gg = params["weight_ih"], params["weight_hh"], params["bias"], params["weight_gg"]
    outputs = []
    for x_t in x:  # (B, I)
        pre = x_t @ w_ih.T + h @ w_hh.T + bias  # (B, rows): [o, i, f, g] pre-activations
        if cfg.full_gate_recurrence:
            pre = torch.cat([pre[:, : a.shape[1]] + a @ w_gg.T, pre[:, a.shape[1] :]], dim=1)

        def gate(name: str, peep_at: torch.Tensor) -> torch.Tensor:
            z = pre[:, layout.slice(name)]  # (B, H)
            if cfg.peepholes:
                z = z + params[f"peephole_{name}"] * peep_at
            return torch.sigmoid(z)

        z_g = pre[:, layout.slice("g")]
        g = torch.tanh(z_g) if cfg.input_activation else z_g
        i = gate("i", c) if cfg.input_gate else None
        if cfg.coupled:
            f = 1 - i
        else:
            f = gate("f", c) if cfg.forget_gate else None
        c = (c if f is None else f * c) + (g if i is None else i * g)  # (B, H)
        o = gate("o", c) if cfg.output_gate else None
        y = torch.tanh(c) if cfg.output_activation else c
        h = y if o is None else o * y  # (B, H)
        if cfg.full_gate_recurrence:
            a = torch.cat([{"o": o, "i": i, "f": f}[name] for name in cfg.gates], dim=1)
        outputs.append(h)
    return torch.stack(outputs), h, c, a


# torch's fused derivative kernels: _sig_grad(x, σ(y)) = x ⊙ σ'(y), _tanh_grad(x, tanh(y)) = x ⊙ tanh'(y);
# `grad_input=` names an output tensor.
_sig_grad = torch.ops.aten.sigmoid_backward
_tanh_grad = torch.ops.aten.tanh_backward


class _PeepholeLSTMFunction(torch.autograd.Function):
    """One peephole-LSTM layer over a whole sequence with hand-written back-propagation through time.

    Inputs: x (T, B, I), h0, c0 (B, H), a0 (B, n_gates·H) or None, then the layer's parameters (None
    where the configuration has none) and its `_Layout`. Outputs: out (T, B, H), h_T, c_T, a_T.
    """

    @staticmethod
    def forward(ctx, x, h0, c0, a0, w_ih, w_hh, bias, p_o, p_i, p_f, w_gg, layout):  # noqa: PLR0913
        cfg = layout.config
        T, B, _ = x.shape
        H = w_hh.shape[1]
        n_g = layout.n_gates * H
        first = H if cfg.output_gate else 0  # the gates that read c_{t-1} are rows [first, n_g)
        # All input projections at once, the bias as a column of ones on x (cheaper than addmm's
        # broadcast); the buffer then holds each step's pre-activations, turned into activations in place.
        x1 = torch.cat([x, x.new_ones(T, B, 1)], dim=2).view(T * B, -1)  # (T·B, I + 1)
        act = torch.mm(x1, torch.cat([w_ih, bias.unsqueeze(1)], dim=1).T).view(T, B, -1)  # (T, B, rows)
        hs = x.new_empty(T + 1, B, H)  # h_0 … h_T
        cs = x.new_empty(T + 1, B, H)  # c_0 … c_T
        hs[0] = h0
        cs[0] = c0
        tcs = x.new_empty(T, B, H) if cfg.output_activation else cs[1:]  # tanh(c_1) … tanh(c_T)

        # Per-step views made once (unbind is one call), so that the loop is nothing but kernels.
        def steps(rows: slice) -> tuple[torch.Tensor, ...] | None:  # None when there are no such rows
            return act[..., rows].unbind(0) if rows.stop > rows.start else None

        def block_steps(name: str) -> tuple[torch.Tensor, ...] | None:
            return steps(layout.slice(name)) if layout.has(name) else None

        pre_steps, h_steps, c_steps, tc_steps = act.unbind(0), hs.unbind(0), cs.unbind(0), tcs.unbind(0)
        i_steps, f_steps, o_steps, g_steps = (block_steps(name) for name in "ifog")
        peep_o = cfg.peepholes and cfg.output_gate
        early = steps(slice(first if peep_o else 0, n_g))  # gates activated before c_t (o after, if it peeps)
        gate_steps = steps(slice(0, n_g)) if cfg.full_gate_recurrence else None
        peep_cell = cfg.peepholes and n_g > first
        if peep_cell:
            cell_steps = act[..., first:n_g].unflatten(2, (-1, H)).unbind(0)  # (B, k, H) each
            c1_steps = cs.unsqueeze(2).unbind(0)  # (B, 1, H) each
            p_cell = torch.stack([p for p in (p_i, p_f) if p is not None])  # (k, H)
        w_hh_t = w_hh.T.contiguous()  # (H, rows): a contiguous right operand is faster per step
        w_gg_t = w_gg.T.contiguous() if w_gg is not None else None
        a = a0

        for t in range(T):
            pre_steps[t].addmm_(h_steps[t], w_hh_t)  # (B, rows)
            if gate_steps is not None:
                gate_steps[t].addmm_(a, w_gg_t)
                a = gate_steps[t]  # activated in place below: a_t for the next step
            if peep_cell:
                cell_steps[t].addcmul_(c1_steps[t], p_cell)
            if early is not None:
                early[t].sigmoid_()
            g = g_steps[t].tanh_() if cfg.input_activation else g_steps[t]
            c_prev, c = c_steps[t], c_steps[t + 1]  # (B, H)
            if cfg.coupled:
                torch.lerp(c_prev, g, i_steps[t], out=c)  # (1 - i) c_{t-1} + i g
            elif f_steps is None and i_steps is None:
                torch.add(c_prev, g, out=c)
            elif f_steps is None:
                torch.addcmul(c_prev, i_steps[t], g, out=c)
            elif i_steps is None:
                torch.addcmul(g, f_steps[t], c_prev, out=c)
            else:
                torch.mul(f_steps[t], c_prev, out=c).addcmul_(i_steps[t], g)
            if peep_o:
                o_steps[t].addcmul_(c, p_o).sigmoid_()
            y = torch.tanh(c, out=tc_steps[t]) if cfg.output_activation else c
            if o_steps is None:
                h_steps[t + 1].copy_(y)
            else:
                torch.mul(o_steps[t], y, out=h_steps[t + 1])

        ctx.layout = layout
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(x1, hs, cs, tcs if cfg.output_activation else None, act, a0,
                              w_ih, w_hh, p_o, p_i, p_f, w_gg)  # fmt: skip
        a_T = act[-1, :, :n_g].clone() if cfg.full_gate_recurrence else None
        return hs[1:], hs[T].clone(), cs[T].clone(), a_T

    @staticmethod
    def backward(ctx, d_out, d_hT, d_cT, d_aT):  # noqa: PLR0912, PLR0915
        x1, hs, cs, tcs, act, a0, w_ih, w_hh, p_o, p_i, p_f, w_gg = ctx.saved_tensors
        layout = ctx.layout
        cfg = layout.config
        T, B, _ = act.shape
        H = w_hh.shape[1]
        n_g = layout.n_gates * H
        first = H if cfg.output_gate else 0
        k = (n_g - first) // H + 1  # rows after o: i?, f?, g
        if d_out is None:  # only the final state was used
            d_out = act.new_zeros(T, B, H)
        c_prev, c = cs[:-1], cs[1:]  # (T, B, H)
        tc = tcs if cfg.output_activation else c

        def view(name: str) -> torch.Tensor | None:
            return act[..., layout.slice(name)] if layout.has(name) else None

        o, i, f, g = view("o"), view("i"), view("f"), view("g")
        cell_peeps = [p for p in (p_i, p_f) if p is not None]  # peepholes of rows [first, n_g)

        # The recurrence's per-step coefficients, over all steps at once (T, B, H each), with torch's
        # fused derivative kernels; a coefficient that is constantly 1 is None. M and N are written where
        # the pre-activation gradients go (rows [o, i, f, g] of d_pre) and multiplied there in place:
        #   dpre_o = dh ⊙ M                    M = tanh(c) ⊙ σ'(o)
        #   dc     = dc' + dh ⊙ K              K = o ⊙ tanh'(c) + p_o ⊙ M   (dc' from step t+1)
        #   dpre_x = dc ⊙ N_x for x = i, f, g: N_i = (g [- c_{t-1} for CIFG]) ⊙ σ'(i),
        #                                      N_f = c_{t-1} ⊙ σ'(f), N_g = i ⊙ g'
        #   dc'    = dc ⊙ Q                    Q = f (or 1 - i, or 1) + p_i ⊙ N_i + p_f ⊙ N_f
        # With full gate recurrence the gates also get da' = σ'(a_t) ⊙ (dpre_gates_{t+1} R) from step t+1:
        # it adds to dpre_o, dpre_i, dpre_f, and through the peepholes to dc and dc'.
        d_pre = torch.empty_like(act)  # (T, B, rows): [M, N], then the gradients of the pre-activations
        dpre_rest = d_pre[..., first:].unflatten(2, (k, H))  # (T, B, k, H): i?, f?, g
        if o is not None:
            M = _sig_grad(tc, o, grad_input=d_pre[..., :H])
            K = _tanh_grad(o, tc) if cfg.output_activation else o
            if p_o is not None:
                K = K.addcmul_(M, p_o) if cfg.output_activation else torch.addcmul(K, M, p_o)
        else:
            M = None
            K = _tanh_grad(torch.ones_like(tc), tc) if cfg.output_activation else None
        N = dpre_rest  # N_i, N_f, N_g are written in place of their gradients
        j = 0
        if i is not None:
            _sig_grad(g - c_prev if cfg.coupled else g, i, grad_input=N[:, :, j])
            j += 1
        if f is not None:
            _sig_grad(c_prev, f, grad_input=N[:, :, j])
            j += 1
        if cfg.input_activation:
            _tanh_grad(torch.ones_like(g) if i is None else i, g, grad_input=N[:, :, j])
        else:
            N[:, :, j] = 1 if i is None else i
        Q = f if f is not None else (1 - i if cfg.coupled else None)
        for j, p in enumerate(cell_peeps):
            if j == 0:  # a new tensor, so that f in `act` stays intact
                Q = torch.addcmul(act.new_ones(()) if Q is None else Q, N[:, :, j], p)
            else:
                Q.addcmul_(N[:, :, j], p)

        def unbind(t: torch.Tensor | None) -> tuple[torch.Tensor, ...] | None:
            return None if t is None else t.unbind(0)

        K_steps, Q_steps = unbind(K), unbind(Q)
        dpre_steps, dpre_o_steps, dpre_rest_steps = d_pre.unbind(0), unbind(M), dpre_rest.unbind(0)
        fgr = cfg.full_gate_recurrence
        if fgr:
            gate_steps, dpre_gate_steps = act[..., :n_g].unbind(0), d_pre[..., :n_g].unbind(0)
            da_buf = act.new_empty(B, n_g)  # da of one step, rewritten in place each step
            da_o = da_buf[:, :H]  # its output-gate rows, if there is an output gate
            da_cell = da_buf[:, first:].split(H, dim=1)  # rows of the gates that peep at c_{t-1}
        dc_buf = act.new_zeros(2, B, H)
        carry, dc = dc_buf.unbind(0)  # (B, H): dc' (gradient of c_t from step t+1) and dc
        dc1 = dc.unsqueeze(1)  # (B, 1, H)
        if d_cT is not None:
            carry.copy_(d_cT)

        for t in range(T - 1, -1, -1):
            if t == T - 1:
                dh = d_out[t] if d_hT is None else d_out[t] + d_hT
            else:
                dh = torch.addmm(d_out[t], dpre_steps[t + 1], w_hh)  # (B, H)
            da = None
            if fgr and t < T - 1:
                da = torch.mm(dpre_gate_steps[t + 1], w_gg, out=da_buf)  # (B, n_g)
                _sig_grad(da, gate_steps[t], grad_input=da)
            elif fgr and d_aT is not None:
                da = _sig_grad(d_aT, gate_steps[t], grad_input=da_buf)
            if K_steps is None:
                torch.add(carry, dh, out=dc)
            else:
                torch.addcmul(carry, dh, K_steps[t], out=dc)
            if dpre_o_steps is not None:
                dpre_o_steps[t].mul_(dh)  # dh ⊙ M
                if da is not None and p_o is not None:
                    dc.addcmul_(da_o, p_o)
            dpre_rest_steps[t].mul_(dc1)  # dc ⊙ N
            if Q_steps is None:
                carry.copy_(dc)
            else:
                torch.mul(dc, Q_steps[t], out=carry)
            if da is not None:
                dpre_gate_steps[t].add_(da)  # every gate's row block at once: o, i, f
                for da_j, p in zip(da_cell, cell_peeps):
                    carry.addcmul_(da_j, p)

        # Everything else as single matmuls and sums over all T·B rows ((x.T @ y).T is the faster form).
        need = ctx.needs_input_grad
        flat = d_pre.view(T * B, -1)  # (T·B, rows)
        dx = (flat @ w_ih).view(T, B, -1) if need[0] else None
        dh0 = dpre_steps[0] @ w_hh if need[1] else None
        dc0 = carry if need[2] else None
        da0 = dpre_gate_steps[0] @ w_gg if fgr and need[3] else None
        dw_ih = db = None
        if need[4] or need[6]:
            dw_ih1 = (x1.T @ flat).T  # (rows, I + 1): the last column is the bias gradient
            dw_ih, db = dw_ih1[:, :-1], dw_ih1[:, -1]
        dw_hh = (hs[:-1].reshape(T * B, H).T @ flat).T if need[5] else None
        dp_o = (d_pre[..., :H] * c).sum((0, 1)) if p_o is not None else None
        dp_cell = [(dpre_rest[:, :, j] * c_prev).sum((0, 1)) for j in range(len(cell_peeps))]
        dp_i = dp_cell[0] if p_i is not None else None
        dp_f = dp_cell[-1] if p_f is not None else None
        dw_gg = None
        if fgr and need[10]:
            # Σ_t dpre_gates_tᵀ a_{t-1}: a_0 on its own, a_1 … a_{T-1} read in place from `act` (no copy)
            d_gates = d_pre[..., :n_g]  # (T, B, n_g)
            a_prev = act[:-1, :, :n_g].reshape((T - 1) * B, n_g)  # a view: rows strided by `rows`
            dw_gg = torch.addmm(d_gates[0].T @ a0, d_gates[1:].reshape((T - 1) * B, n_g).T, a_prev)
        return dx, dh0, dc0, da0, dw_ih, dw_hh, db, dp_o, dp_i, dp_f, dw_gg, None


class PeepholeLSTMLayer(nn.Module):
    """One layer of the peephole LSTM: parameters for the blocks its `LSTMConfig` keeps.

    Rows of `weight_ih`, `weight_hh` and `bias` are stacked [o, i, f, g] (absent gates left out);
    `weight_gg` (full gate recurrence only) maps (o, i, f)_{t-1} to the gates' pre-activations.
    Initialised like torch's nn.LSTM: uniform in ±1/√H.
    """

    def __init__(self, input_size: int, hidden_size: int, config: LSTMConfig) -> None:
        super().__init__()
        self.layout = _Layout(config, hidden_size)
        self.hidden_size = hidden_size
        rows = len(self.layout.blocks) * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size))
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden_size))
        self.bias = nn.Parameter(torch.empty(rows))
        for name in ("o", "i", "f"):
            present = config.peepholes and name in config.gates
            peephole = nn.Parameter(torch.empty(hidden_size)) if present else None
            self.register_parameter(f"peephole_{name}", peephole)
        n_g = self.layout.n_gates * hidden_size
        self.weight_gg = nn.Parameter(torch.empty(n_g, n_g)) if config.full_gate_recurrence else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = self.hidden_size**-0.5
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def params(self) -> dict[str, torch.Tensor | None]:
        names = ("weight_ih", "weight_hh", "bias", "peephole_o", "peephole_i", "peephole_f", "weight_gg")
        return {name: getattr(self, name) for name in names}

    def forward(
        self,
        x: torch.Tensor,
        h: torch.Tensor,
        c: torch.Tensor,
        a: torch.Tensor | None = None,
        *,
        reference: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """x (T, B, I) time-major, h, c (B, H), a (B, n_gates·H) -> out (T, B, H), h_T, c_T, a_T."""
        if a is None and self.layout.config.full_gate_recurrence:
            a = x.new_zeros(x.shape[1], self.layout.n_gates * self.hidden_size)
        if reference:
            return _reference_layer(x, h, c, a, self.params(), self.layout)
        if torch.is_autocast_enabled(x.device.type):  # mixed precision: this layer runs in its own dtype
            dtype = self.weight_hh.dtype
            x, h, c, a = (t if t is None else t.to(dtype) for t in (x, h, c, a))
            with torch.autocast(x.device.type, enabled=False):
                return _PeepholeLSTMFunction.apply(x, h, c, a, *self.params().values(), self.layout)
        return _PeepholeLSTMFunction.apply(x, h, c, a, *self.params().values(), self.layout)


class PeepholeLSTM(Backbone):
    """Stacked peephole LSTM (Greff et al. 2017) with dropout between layers; batch-first.

    The state is (h, c), each (num_layers, B, H), as for nn.LSTM; with full gate recurrence it is
    (h, c, a) where a (num_layers, B, n_gates·H) holds the last step's gate activations.
    `reference=True` runs the readable autograd loop instead of the hand-written BPTT (same numbers).
    """

    def __init__(
        self,
        *,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        config: LSTMConfig = LSTMConfig(),
        reference: bool = False,
    ) -> None:
        super().__init__()
        self.config = config
        self.hidden_size = hidden_size
        self.dropout = dropout
        self.reference = reference
        self.output_size = hidden_size
        sizes = [input_size] + [hidden_size] * (num_layers - 1)
        self.layers = nn.ModuleList(PeepholeLSTMLayer(size, hidden_size, config) for size in sizes)

    def forward(self, x: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        L, B, H = len(self.layers), x.shape[0], self.hidden_size
        if state is None:
            state = (x.new_zeros(L, B, H), x.new_zeros(L, B, H))  # a_0 = 0 too, made by each layer
        h0, c0 = state[0], state[1]
        a0 = state[2] if len(state) > 2 else [None] * L
        final: list[list[torch.Tensor]] = [[], [], []]  # h_T, c_T, a_T per layer
        y = x.transpose(0, 1)  # (T, B, I): time-major inside
        for n, layer in enumerate(self.layers):
            if n > 0 and self.dropout > 0:
                y = F.dropout(y, self.dropout, self.training)
            y, *last = layer(y, h0[n], c0[n], a0[n], reference=self.reference)  # y (T, B, H)
            for kept, tensor in zip(final, last):
                kept.append(tensor)
        # (h, c), each (L, B, H), and with full gate recurrence a (L, B, n_gates·H)
        state = tuple(torch.stack(kept) for kept in final if kept[0] is not None)
        return y.transpose(0, 1), state  # (B, T, H)


def _peephole(config: LSTMConfig, input_size: int, hidden_size: int, num_layers: int, dropout: float) -> PeepholeLSTM:
    return PeepholeLSTM(
        input_size=input_size, hidden_size=hidden_size, num_layers=num_layers, dropout=dropout, config=config
    )


@MODELS.register("peephole")
def peephole(*, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0) -> PeepholeLSTM:
    """Peephole ("vanilla") LSTM (Gers & Schmidhuber 2000), the baseline of Greff et al. 2017."""
    return _peephole(LSTMConfig(), input_size, hidden_size, num_layers, dropout)


@MODELS.register("lstm-nig")
def lstm_nig(*, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0) -> PeepholeLSTM:
    """Peephole LSTM with no input gate, NIG (Greff et al. 2017)."""
    return _peephole(LSTMConfig(input_gate=False), input_size, hidden_size, num_layers, dropout)


@MODELS.register("lstm-nfg")
def lstm_nfg(*, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0) -> PeepholeLSTM:
    """Peephole LSTM with no forget gate, NFG (Greff et al. 2017)."""
    return _peephole(LSTMConfig(forget_gate=False), input_size, hidden_size, num_layers, dropout)


@MODELS.register("lstm-nog")
def lstm_nog(*, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0) -> PeepholeLSTM:
    """Peephole LSTM with no output gate, NOG (Greff et al. 2017)."""
    return _peephole(LSTMConfig(output_gate=False), input_size, hidden_size, num_layers, dropout)


@MODELS.register("lstm-niaf")
def lstm_niaf(*, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0) -> PeepholeLSTM:
    """Peephole LSTM with no input activation function, NIAF (Greff et al. 2017)."""
    return _peephole(LSTMConfig(input_activation=False), input_size, hidden_size, num_layers, dropout)


@MODELS.register("lstm-noaf")
def lstm_noaf(*, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0) -> PeepholeLSTM:
    """Peephole LSTM with no output activation function, NOAF (Greff et al. 2017)."""
    return _peephole(LSTMConfig(output_activation=False), input_size, hidden_size, num_layers, dropout)


@MODELS.register("lstm-np")
def lstm_np(*, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0) -> PeepholeLSTM:
    """LSTM with no peepholes, NP (Greff et al. 2017): nn.LSTM's equations, hand-written BPTT."""
    return _peephole(LSTMConfig(peepholes=False), input_size, hidden_size, num_layers, dropout)


@MODELS.register("lstm-cifg")
def lstm_cifg(*, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0) -> PeepholeLSTM:
    """Peephole LSTM with coupled input and forget gate, f = 1 - i, CIFG (Greff et al. 2017)."""
    return _peephole(LSTMConfig(coupled=True), input_size, hidden_size, num_layers, dropout)


@MODELS.register("lstm-fgr")
def lstm_fgr(*, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0) -> PeepholeLSTM:
    """Peephole LSTM with full gate recurrence, FGR (Greff et al. 2017)."""
    return _peephole(LSTMConfig(full_gate_recurrence=True), input_size, hidden_size, num_layers, dropout)
