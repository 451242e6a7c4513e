"""The peephole LSTM and Greff et al.'s variants, each checked against an independent reference.

- with no peepholes (or zero ones) it is torch's nn.LSTM: outputs, states and every gradient;
- each switch obeys its defining equation on a one-step case written out here by hand;
- the hand-written backward passes torch.autograd.gradcheck in every configuration, and the fast layer
  equals the readable autograd loop (`reference=True`) in values and gradients.
"""

import dataclasses

import pytest
import torch

from benchbench import models
from benchbench.models.lstm import LSTMConfig, PeepholeLSTM, PeepholeLSTMLayer, _PeepholeLSTMFunction

I, H = 3, 4
TORCH_ORDER = ("i", "f", "g", "o")  # nn.LSTM's rows; PeepholeLSTM stacks [o, i, f, g], absent ones left out

CONFIGS = {
    "peephole": LSTMConfig(),
    "lstm-nig": LSTMConfig(input_gate=False),
    "lstm-nfg": LSTMConfig(forget_gate=False),
    "lstm-nog": LSTMConfig(output_gate=False),
    "lstm-niaf": LSTMConfig(input_activation=False),
    "lstm-noaf": LSTMConfig(output_activation=False),
    "lstm-np": LSTMConfig(peepholes=False),
    "lstm-cifg": LSTMConfig(coupled=True),
    "lstm-fgr": LSTMConfig(full_gate_recurrence=True),
    # combinations exercise the remaining branches of the fast path
    "cifg+fgr": LSTMConfig(coupled=True, full_gate_recurrence=True),
    "nog+noaf+fgr": LSTMConfig(output_gate=False, output_activation=False, full_gate_recurrence=True),
    "nig+nfg+np+fgr": LSTMConfig(input_gate=False, forget_gate=False, peepholes=False, full_gate_recurrence=True),
    "nfg+niaf+np": LSTMConfig(forget_gate=False, input_activation=False, peepholes=False),
    "no gates": LSTMConfig(input_gate=False, forget_gate=False, output_gate=False, input_activation=False),
}


def _randomise(module, scale=0.5):
    torch.manual_seed(1)
    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(-scale, scale)
    return module


def test_factories_build_the_documented_configs():
    for name, config in list(CONFIGS.items())[:9]:
        model = models.create(name, input_size=I, hidden_size=H)
        assert isinstance(model, PeepholeLSTM) and model.config == config, name


# --- equal to nn.LSTM -----------------------------------------------------------------------------------


def _copy_from_torch(ours: PeepholeLSTM, theirs: torch.nn.LSTM) -> None:
    def rows(w):  # torch's [i, f, g, o] -> our [o, i, f, g]
        blocks = dict(zip(TORCH_ORDER, w.split(H)))
        return torch.cat([blocks[name] for name in ("o", "i", "f", "g")])

    with torch.no_grad():
        for n, layer in enumerate(ours.layers):
            layer.weight_ih.copy_(rows(getattr(theirs, f"weight_ih_l{n}")))
            layer.weight_hh.copy_(rows(getattr(theirs, f"weight_hh_l{n}")))
            layer.bias.copy_(rows(getattr(theirs, f"bias_ih_l{n}") + getattr(theirs, f"bias_hh_l{n}")))
            for name in ("o", "i", "f"):
                if getattr(layer, f"peephole_{name}") is not None:
                    getattr(layer, f"peephole_{name}").zero_()  # zero peepholes: nn.LSTM's equations


@pytest.mark.parametrize("config", [LSTMConfig(peepholes=False), LSTMConfig()], ids=["np", "zero-peepholes"])
def test_equals_torch_lstm_with_gradients(config):
    B, T, L = 3, 6, 2
    torch.manual_seed(0)
    theirs = torch.nn.LSTM(I, H, num_layers=L, batch_first=True).double()
    ours = PeepholeLSTM(input_size=I, hidden_size=H, num_layers=L, config=config).double()
    _copy_from_torch(ours, theirs)
    x = torch.randn(B, T, I, dtype=torch.double)
    h0, c0 = torch.randn(2, L, B, H, dtype=torch.double)
    results = []
    for model in (theirs, ours):
        inputs = [t.clone().requires_grad_() for t in (x, h0, c0)]
        out, (hT, cT) = model(inputs[0], (inputs[1], inputs[2]))
        (out.sin().sum() + hT.square().sum() + cT.cos().sum()).backward()
        results.append((out, hT, cT, *(t.grad for t in inputs)))
    for mine, reference in zip(results[1], results[0]):
        torch.testing.assert_close(mine, reference, atol=1e-10, rtol=0)

    for n, layer in enumerate(ours.layers):
        for ours_name, theirs_name in (("weight_ih", "weight_ih"), ("weight_hh", "weight_hh"), ("bias", "bias_ih")):
            grad = getattr(theirs, f"{theirs_name}_l{n}").grad  # (the bias_hh gradient is the same, below)
            blocks = dict(zip(TORCH_ORDER, grad.split(H)))
            expected = torch.cat([blocks[name] for name in ("o", "i", "f", "g")])
            torch.testing.assert_close(getattr(layer, ours_name).grad, expected, atol=1e-10, rtol=0)
        torch.testing.assert_close(
            getattr(theirs, f"bias_ih_l{n}").grad, getattr(theirs, f"bias_hh_l{n}").grad, atol=1e-12, rtol=0
        )


# --- each switch's defining equation, one step written out by hand ---------------------------------------


def _step(config, *, a0=None):
    """One step of a random one-layer cell; returns the layer, its inputs, its outputs and a function
    giving a block's pre-activation W x + R h + b from the documented row order [o, i, f, g]."""
    torch.manual_seed(0)
    layer = _randomise(PeepholeLSTMLayer(I, H, config).double())
    x, h, c = torch.randn(1, 2, I, dtype=torch.double), *torch.randn(2, 2, H, dtype=torch.double)
    with torch.no_grad():
        out, h1, c1, a1 = layer(x, h, c, a0)
    present = [name for name in ("o", "i", "f", "g") if name == "g" or name in config.gates]
    assert layer.weight_ih.shape[0] == len(present) * H  # absent gates have no weights

    def pre(name):
        k = present.index(name)
        rows = slice(k * H, (k + 1) * H)
        with torch.no_grad():
            return x[0] @ layer.weight_ih[rows].T + h @ layer.weight_hh[rows].T + layer.bias[rows]

    return layer, (h, c), (out, h1, c1, a1), pre


def _peep(layer, name):
    return layer.state_dict()[f"peephole_{name}"]


def _close(a, b):
    torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


def test_vanilla_peephole_equations():
    layer, (h, c), (out, h1, c1, _), pre = _step(LSTMConfig())
    i = torch.sigmoid(pre("i") + _peep(layer, "i") * c)
    f = torch.sigmoid(pre("f") + _peep(layer, "f") * c)
    g = torch.tanh(pre("g"))
    _close(c1, f * c + i * g)
    o = torch.sigmoid(pre("o") + _peep(layer, "o") * c1)  # o peeps at the new cell state
    _close(h1, o * torch.tanh(c1))
    _close(out[0], h1)


def test_nig_has_no_input_gate():
    layer, (h, c), (_, h1, c1, _), pre = _step(LSTMConfig(input_gate=False))
    f = torch.sigmoid(pre("f") + _peep(layer, "f") * c)
    _close(c1, f * c + torch.tanh(pre("g")))  # i = 1
    assert layer.peephole_i is None


def test_nfg_has_no_forget_gate():
    layer, (h, c), (_, h1, c1, _), pre = _step(LSTMConfig(forget_gate=False))
    i = torch.sigmoid(pre("i") + _peep(layer, "i") * c)
    _close(c1, c + i * torch.tanh(pre("g")))  # f = 1
    assert layer.peephole_f is None


def test_nog_has_no_output_gate():
    layer, _, (_, h1, c1, _), _ = _step(LSTMConfig(output_gate=False))
    _close(h1, torch.tanh(c1))  # o = 1
    assert layer.peephole_o is None


def test_niaf_block_input_is_linear():
    layer, (h, c), (_, _, c1, _), pre = _step(LSTMConfig(input_activation=False))
    i = torch.sigmoid(pre("i") + _peep(layer, "i") * c)
    f = torch.sigmoid(pre("f") + _peep(layer, "f") * c)
    _close(c1, f * c + i * pre("g"))  # g = z, no tanh


def test_noaf_output_is_linear_in_the_cell():
    layer, _, (_, h1, c1, _), pre = _step(LSTMConfig(output_activation=False))
    o = torch.sigmoid(pre("o") + _peep(layer, "o") * c1)
    _close(h1, o * c1)  # no tanh on the cell


def test_np_has_no_peepholes():
    layer, (h, c), (_, h1, c1, _), pre = _step(LSTMConfig(peepholes=False))
    assert all(getattr(layer, f"peephole_{name}") is None for name in "oif")
    i, f, o = (torch.sigmoid(pre(name)) for name in "ifo")
    _close(c1, f * c + i * torch.tanh(pre("g")))
    _close(h1, o * torch.tanh(c1))


def test_cifg_couples_forget_to_input_gate():
    layer, (h, c), (_, _, c1, _), pre = _step(LSTMConfig(coupled=True))
    assert layer.peephole_f is None  # no forget-gate weights of its own
    i = torch.sigmoid(pre("i") + _peep(layer, "i") * c)
    _close(c1, (1 - i) * c + i * torch.tanh(pre("g")))  # f = 1 - i


def test_fgr_feeds_previous_gate_activations_to_all_gates():
    config = LSTMConfig(full_gate_recurrence=True)
    torch.manual_seed(5)
    a0 = torch.rand(2, 3 * H, dtype=torch.double)  # (o, i, f) of the previous step
    layer, (h, c), (_, h1, c1, a1), pre = _step(config, a0=a0)
    R = layer.weight_gg.detach()  # (3H, 3H): rows and columns [o, i, f]
    extra = dict(zip("oif", (a0 @ R.T).split(H, dim=1)))
    i = torch.sigmoid(pre("i") + extra["i"] + _peep(layer, "i") * c)
    f = torch.sigmoid(pre("f") + extra["f"] + _peep(layer, "f") * c)
    _close(c1, f * c + i * torch.tanh(pre("g")))
    o = torch.sigmoid(pre("o") + extra["o"] + _peep(layer, "o") * c1)
    _close(h1, o * torch.tanh(c1))
    _close(a1, torch.cat([o, i, f], dim=1))  # handed on to the next step
    # and they do matter: other previous activations, other outputs
    _, _, (_, h1_other, _, _), _ = _step(config, a0=torch.zeros_like(a0))
    assert (h1 - h1_other).abs().max() > 1e-3


def test_contradictory_configs_are_refused():
    with pytest.raises(ValueError, match="CIFG"):
        LSTMConfig(coupled=True, forget_gate=False)
    with pytest.raises(ValueError, match="at least one gate"):
        LSTMConfig(input_gate=False, forget_gate=False, output_gate=False, full_gate_recurrence=True)


# --- the hand-written backward --------------------------------------------------------------------------


@pytest.mark.parametrize("name", CONFIGS)
def test_gradcheck_hand_written_bptt(name):
    layer = _randomise(PeepholeLSTMLayer(I, H, CONFIGS[name]).double())
    T, B = 4, 2
    torch.manual_seed(2)
    config = CONFIGS[name]
    x = torch.randn(T, B, I, dtype=torch.double, requires_grad=True)
    h0, c0 = (torch.randn(B, H, dtype=torch.double, requires_grad=True) for _ in range(2))
    a0 = None
    if config.full_gate_recurrence:
        a0 = torch.rand(B, len(config.gates) * H, dtype=torch.double, requires_grad=True)
    params = [p.detach().clone().requires_grad_() if p is not None else None for p in layer.params().values()]

    def run(*args):  # out, h_T, c_T and, with full gate recurrence, a_T
        return tuple(t for t in _PeepholeLSTMFunction.apply(*args, layer.layout) if t is not None)

    inputs = (x, h0, c0, a0, *params)
    assert torch.autograd.gradcheck(run, inputs, eps=1e-6, atol=1e-7)

    def final_state_only(*args):  # the output sequence unused: its gradient arrives as None
        return run(*args)[2]

    assert torch.autograd.gradcheck(final_state_only, inputs, eps=1e-6, atol=1e-7)


def test_gradcheck_fgr_single_step():
    """T = 1: the gate-to-gate weight gradient comes from a_0 alone (its a_1 … a_{T-1} part is empty)."""
    config = LSTMConfig(full_gate_recurrence=True)
    layer = _randomise(PeepholeLSTMLayer(I, H, config).double())
    torch.manual_seed(3)
    x = torch.randn(1, 2, I, dtype=torch.double, requires_grad=True)
    h0, c0 = (torch.randn(2, H, dtype=torch.double, requires_grad=True) for _ in range(2))
    a0 = torch.rand(2, len(config.gates) * H, dtype=torch.double, requires_grad=True)
    params = [p.detach().clone().requires_grad_() for p in layer.params().values()]

    def run(*args):
        return _PeepholeLSTMFunction.apply(*args, layer.layout)

    assert torch.autograd.gradcheck(run, (x, h0, c0, a0, *params), eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", CONFIGS)
def test_fast_path_equals_the_readable_loop(name):
    config = CONFIGS[name]
    torch.manual_seed(3)
    model = _randomise(PeepholeLSTM(input_size=I, hidden_size=H, num_layers=2, config=config).double())
    x = torch.randn(2, 5, I, dtype=torch.double)
    results = []
    for reference in (False, True):
        model.reference = reference
        model.zero_grad()
        xr = x.clone().requires_grad_()
        out, state = model(xr)
        (out.sin().sum() + sum(s.square().sum() for s in state)).backward()
        results.append([out, *state, xr.grad, *(p.grad for p in model.parameters())])
    for fast, slow in zip(*results):
        torch.testing.assert_close(fast, slow, atol=1e-12, rtol=0)


@pytest.mark.parametrize("name", [n for n, c in CONFIGS.items() if c.full_gate_recurrence])
def test_fused_full_gate_recurrence_in_float32(name):
    """The fused step ([h | a] times [R; R_gg] in one matmul, forwards and backwards) against the
    readable autograd loop in float32, on a longer sequence and a carried state (h, c, a)."""
    config = CONFIGS[name]
    torch.manual_seed(4)
    model = _randomise(PeepholeLSTM(input_size=I, hidden_size=16, num_layers=2, config=config), scale=0.3)
    x = torch.randn(8, 25, I)
    state = tuple(s.detach() for s in model(x[:, :5])[1])  # a real (h, c, a), as on a stream
    results = []
    for reference in (False, True):
        model.reference = reference
        model.zero_grad()
        xr = x.clone().requires_grad_()
        out, last = model(xr, state)
        (out.sin().sum() + sum(s.square().sum() for s in last)).backward()
        results.append([out, *last, xr.grad, *(p.grad for p in model.parameters())])
    for fast, slow in zip(*results):
        scale = slow.abs().max().item()  # NIG+NFG cells grow without bound: float32 error grows with them
        torch.testing.assert_close(fast, slow, atol=1e-5 * scale, rtol=1e-3)


def test_config_fields_are_commented_dataclass_fields():
    fields = {f.name for f in dataclasses.fields(LSTMConfig)}
    assert fields == {
        "input_gate", "forget_gate", "output_gate", "input_activation", "output_activation",
        "peepholes", "coupled", "full_gate_recurrence",
    }  # fmt: skip


def test_bilstm_is_bidirectional_torch_lstm():
    model = models.create("bilstm", input_size=I, hidden_size=H, num_layers=2)
    assert model.bidirectional and model.output_size == 2 * H
    assert isinstance(model.rnn, torch.nn.LSTM) and model.rnn.bidirectional
    out, _ = model(torch.randn(2, 5, I))
    assert out.shape == (2, 5, 2 * H)
