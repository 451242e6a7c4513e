"""Clockwork RNN (Koutník et al. 2014): an Elman RNN when every period is 1, modules tick on their
periods, recurrence runs only from slower to faster modules, gradients are right."""

import pytest
import torch
from torch.func import functional_call

from benchbench import models
from benchbench.errors import BenchError
from benchbench.models.clockwork import Clockwork, module_sizes

B, T, I = 3, 12, 4


def _block_upper_triangular(sizes):
    """mask[r, c] = 1 when unit c's module is the same as or slower than unit r's (fastest first)."""
    mask = torch.zeros(sum(sizes), sum(sizes), dtype=torch.float64)
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    for i, (start, size) in enumerate(zip(starts, sizes, strict=True)):
        mask[start : start + size, start:] = 1.0  # row block i receives from column blocks j >= i
    return mask


def _elman(x, w, u, b, h):
    """Reference: h_t = tanh(W x_t + U h_{t-1} + b), float64."""
    outputs = []
    for t in range(x.shape[1]):
        h = torch.tanh(x[:, t] @ w.T + h @ u.T + b)
        outputs.append(h)
    return torch.stack(outputs, dim=1), h


def _double(model):
    torch.manual_seed(1)
    model = model.double()
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-0.7, 0.7)
    return model


def test_every_period_one_is_an_elman_rnn_with_block_triangular_weights():
    sizes = [2, 3, 3]
    model = _double(Clockwork(input_size=I, sizes=sizes, periods=[1, 1, 1]))
    layer = model.layers[0]
    x = torch.randn(B, T, I, dtype=torch.float64)
    h0 = torch.randn(1, B, 8, dtype=torch.float64)
    out, (h, step) = model(x, (h0, torch.tensor(5)))
    u = layer.recurrent * _block_upper_triangular(sizes)  # the same weights, masked independently
    expected, final = _elman(x, layer.input.weight, u, layer.input.bias, h0[0])
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(h[0], final)
    assert int(step) == 5 + T


def test_modules_change_only_on_their_ticks():
    modules, size = 4, 3
    model = models.create("clockwork", input_size=I, hidden_size=modules * size, modules=modules)
    x = torch.randn(B, 2 * T, I)
    out, _ = model(x)  # (B, 2T, H)
    for i in range(modules):
        states = out[..., i * size : (i + 1) * size]  # module i, fastest first: (B, 2T, size)
        for t in range(1, 2 * T):
            moved = not torch.equal(states[:, t], states[:, t - 1])
            assert moved == (t % 2**i == 0), (i, t)


@pytest.mark.parametrize("split", [1, 3, 5, 8])
def test_the_clock_continues_from_a_returned_state(split):
    model = models.create("clockwork", input_size=I, hidden_size=8, num_layers=2, modules=4)
    x = torch.randn(B, T, I)
    whole, (h_whole, step_whole) = model(x)
    first, state = model(x[:, :split])
    assert int(state[1]) == split
    second, (h, step) = model(x[:, split:], state)
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole)
    torch.testing.assert_close(h, h_whole)
    assert int(step) == int(step_whole) == T


def test_recurrence_runs_only_from_slower_to_faster_modules():
    sizes = module_sizes(10, 4)  # [3, 3, 2, 2]
    model = _double(Clockwork(input_size=I, sizes=sizes, periods=[1, 2, 4, 8]))
    layer = model.layers[0]
    mask = _block_upper_triangular(sizes)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1, weight_decay=0.1)
    for _ in range(2):
        optimizer.zero_grad()
        out, _ = model(torch.randn(B, T, I, dtype=torch.float64), (torch.randn(1, B, 10, dtype=torch.float64), torch.tensor(0)))
        out.square().sum().backward()
        assert (layer.recurrent.grad[mask == 0] == 0).all()  # no gradient outside the blocks
        assert (layer.recurrent.grad[mask == 1] != 0).any()
        optimizer.step()
        assert (layer.effective_recurrent()[mask == 0] == 0).all()  # and they never act

    # Behaviourally: d h_0 / d h_{-1} (all modules tick at t = 0) is zero from faster to slower modules.
    h_prev = torch.randn(B, 10, dtype=torch.float64)
    x = torch.randn(B, 1, I, dtype=torch.float64)
    jacobian = torch.autograd.functional.jacobian(lambda h: model(x, (h[None], torch.tensor(0)))[0][:, 0], h_prev)
    block = jacobian.abs().sum(dim=(0, 2))  # (H out, H in)
    assert (block[mask == 0] == 0).all() and (block[mask == 1] > 0).all()


def test_module_sizes_split_evenly_with_faster_modules_larger():
    assert module_sizes(8, 4) == [2, 2, 2, 2]
    assert module_sizes(10, 4) == [3, 3, 2, 2]
    assert module_sizes(5, 1) == [5]
    assert models.create("clockwork", input_size=I, hidden_size=10, modules=4).output_size == 10
    with pytest.raises(BenchError, match="modules"):
        models.create("clockwork", input_size=I, hidden_size=3, modules=4)
    with pytest.raises(BenchError, match="modules"):
        models.create("clockwork", input_size=I, hidden_size=3, modules=0)


def test_gradcheck():
    model = _double(models.create("clockwork", input_size=2, hidden_size=6, num_layers=2, modules=3))
    names = [name for name, _ in model.named_parameters()]
    x = torch.randn(2, 6, 2, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 2, 6, dtype=torch.float64, requires_grad=True)

    def run(x, h0, *params):
        out, (h, _) = functional_call(model, dict(zip(names, params, strict=True)), (x, (h0, torch.tensor(3))))
        return out, h

    params = tuple(p.detach().clone().requires_grad_() for p in model.parameters())
    assert torch.autograd.gradcheck(run, (x, h0, *params))
