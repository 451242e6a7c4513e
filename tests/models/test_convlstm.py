"""ConvLSTM (Shi et al. 2015): against an independent peephole LSTM, its grid shapes, locality and gradients."""

import pytest
import torch
from torch.func import functional_call

from benchbench import models
from benchbench.errors import BenchError
from benchbench.models import convlstm

B, T = 3, 6


@pytest.fixture(params=["dense", "conv"])
def path(request, monkeypatch):
    """Run a test through both implementations of the convolutions (dense matrices and real convs)."""
    if request.param == "conv":
        monkeypatch.setattr(convlstm, "_DENSE_LIMIT", 0)
    return request.param


def _peephole_lstm(x, weights, state=None):
    """Reference: one peephole LSTM layer in plain torch, gates in the order i, f, g, o.

    i = σ(W_xi x + W_hi h + w_ci ⊙ c + b_i)   f = σ(W_xf x + W_hf h + w_cf ⊙ c + b_f)
    c' = f ⊙ c + i ⊙ tanh(W_xc x + W_hc h + b_c)   o = σ(W_xo x + W_ho h + w_co ⊙ c' + b_o)   h' = o ⊙ tanh(c')
    """
    w_x, w_h, bias, peep = weights  # (4H, I), (4H, H), (4H,), (3, H)
    hidden = w_h.shape[1]
    h, c = state if state is not None else (x.new_zeros(x.shape[0], hidden), x.new_zeros(x.shape[0], hidden))
    outputs = []
    for t in range(x.shape[1]):
        z = x[:, t] @ w_x.T + h @ w_h.T + bias  # (B, 4H)
        zi, zf, zg, zo = z.split(hidden, dim=1)
        i = torch.sigmoid(zi + peep[0] * c)
        f = torch.sigmoid(zf + peep[1] * c)
        c = f * c + i * torch.tanh(zg)
        o = torch.sigmoid(zo + peep[2] * c)
        h = o * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs, dim=1), (h, c)


def _randomize(model):
    """Random weights everywhere, peepholes included (they start at zero)."""
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-0.8, 0.8)
    return model


@pytest.mark.parametrize("num_layers", [1, 2])
def test_one_by_one_kernels_on_one_cell_equal_a_peephole_lstm(path, num_layers):
    channels, hidden = 4, 5
    model = models.create(
        "convlstm", input_size=channels, hidden_size=hidden, num_layers=num_layers,
        step_shape=(channels, 1, 1), kernel_size=1,
    )
    model = _randomize(model.double())
    x = torch.randn(B, T, channels, dtype=torch.float64)
    h0 = torch.randn(num_layers, B, hidden, 1, 1, dtype=torch.float64)
    c0 = torch.randn(num_layers, B, hidden, 1, 1, dtype=torch.float64)

    out, (h, c) = model(x, (h0, c0))

    expected, finals = x, []
    for index, layer in enumerate(model.layers):
        weights = (
            layer.input_conv.weight.reshape(4 * hidden, -1),
            layer.state_conv.weight.reshape(4 * hidden, hidden),
            layer.input_conv.bias,
            layer.peephole.reshape(3, hidden),
        )
        expected, final = _peephole_lstm(expected, weights, (h0[index].flatten(1), c0[index].flatten(1)))
        finals.append(final)
    assert model.output_size == hidden
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(h.flatten(2), torch.stack([f[0] for f in finals]))
    torch.testing.assert_close(c.flatten(2), torch.stack([f[1] for f in finals]))


@pytest.mark.parametrize("kernel_size", [1, 3, 5])
def test_dense_and_convolution_paths_agree(monkeypatch, kernel_size):
    step_shape, hidden = (2, 4, 5), 3
    torch.manual_seed(0)
    model = _randomize(
        models.create("convlstm", input_size=40, hidden_size=hidden, num_layers=2, step_shape=step_shape,
                      kernel_size=kernel_size).double()
    )
    x = torch.randn(B, T, 40, dtype=torch.float64)
    dense, dense_state = model(x)
    monkeypatch.setattr(convlstm, "_DENSE_LIMIT", 0)
    conv, conv_state = model(x)
    torch.testing.assert_close(conv, dense)
    torch.testing.assert_close(conv_state, dense_state)


@pytest.mark.parametrize("num_layers", [1, 2])
def test_image_steps_keep_their_grid(path, num_layers):
    step_shape, hidden = (2, 5, 6), 3
    model = models.create(
        "convlstm", input_size=60, hidden_size=hidden, num_layers=num_layers, step_shape=step_shape, dropout=0.2
    )
    out, (h, c) = model(torch.randn(B, T, 60))
    assert model.output_size == hidden * 5 * 6
    assert out.shape == (B, T, hidden * 5 * 6)
    assert h.shape == c.shape == (num_layers, B, hidden, 5, 6)
    torch.testing.assert_close(out[:, -1], h[-1].flatten(1))  # output is H_t flattened channel-major


@pytest.mark.parametrize(
    ("input_size", "hidden_size", "step_shape", "output_size"),
    [
        (5, 8, None, 10),  # vectors: ceil(8 / 5) = 2 channels over 5 cells
        (2, 16, None, 16),  # 8 channels over 2 cells: exactly hidden_size
        (40, 8, (40,), 40),  # more cells than hidden_size: one channel
        (12, 4, (3, 4), 16),  # multichannel 1-D signal: hidden_size channels over 4 cells
    ],
)
def test_vectors_and_signals_are_one_dimensional_grids(input_size, hidden_size, step_shape, output_size):
    model = models.create("convlstm", input_size=input_size, hidden_size=hidden_size, step_shape=step_shape)
    out, (h, _) = model(torch.randn(B, T, input_size))
    assert model.output_size == output_size and out.shape == (B, T, output_size)
    assert h.dim() == 4  # (L, B, channels, cells)
    assert isinstance(model.layers[0].input_conv, torch.nn.Conv1d)


def test_convolutions_are_local(path):
    """With 3×3 kernels, changing one corner pixel at t = 0 moves H_0 only in its 2×2 neighbourhood."""
    model = models.create("convlstm", input_size=36, hidden_size=2, step_shape=(1, 6, 6), kernel_size=3)
    x = torch.randn(B, 2, 36)
    y = x.clone()
    y[:, 0, 0] += 1.0  # pixel (0, 0) of the first frame
    a = model(x)[0][:, 0].view(B, 2, 6, 6)
    b = model(y)[0][:, 0].view(B, 2, 6, 6)
    changed = (a - b).abs().amax(dim=(0, 1)) > 0  # (6, 6)
    assert changed[:2, :2].all()
    assert not changed[2:].any() and not changed[:, 2:].any()


@pytest.mark.parametrize(
    ("step_shape", "options"), [((4, 4, 4), {}), ((2, 2, 2, 2), {}), ((15,), {"kernel_size": 2}), ((14,), {})]
)
def test_step_shapes_and_kernels_that_do_not_fit_are_refused(step_shape, options):
    with pytest.raises(BenchError, match="convlstm"):
        models.create("convlstm", input_size=15, hidden_size=4, step_shape=step_shape, **options)


def test_gradcheck(path):
    torch.manual_seed(0)
    model = _randomize(
        models.create("convlstm", input_size=9, hidden_size=2, num_layers=2, step_shape=(1, 3, 3)).double()
    )
    names = [name for name, _ in model.named_parameters()]
    x = torch.randn(2, 3, 9, dtype=torch.float64, requires_grad=True)

    def run(x, *params):
        out, (h, c) = functional_call(model, dict(zip(names, params, strict=True)), (x,))
        return out, h, c

    params = tuple(p.detach().clone().requires_grad_() for p in model.parameters())
    assert torch.autograd.gradcheck(run, (x, *params))
