"""Contract tests generated from the model registry: a new family is covered with no new test code."""

import pytest
import torch

from benchbench import models
from benchbench.errors import BenchError

FAMILIES = models.MODELS.names()
UNIDIRECTIONAL = [name for name in FAMILIES if not models.is_bidirectional(name)]
B, T, I, H = 3, 7, 5, 8


def _make(name, **options):
    torch.manual_seed(0)
    return models.create(name, input_size=I, hidden_size=H, **options).eval()


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("num_layers", [1, 2])
def test_shapes_backward_and_finite(name, num_layers):
    model = _make(name, num_layers=num_layers, dropout=0.1).train()
    x = torch.randn(B, T, I, requires_grad=True)
    out, state = model(x)
    assert out.shape == (B, T, model.output_size)
    assert torch.isfinite(out).all()
    out.square().mean().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    for pname, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname


@pytest.mark.parametrize("name", UNIDIRECTIONAL)
def test_state_is_carried_across_calls(name):
    """Feeding a sequence in two chunks with the state passed on equals feeding it whole (a
    bidirectional model reads the whole sequence, so chunking changes it by design)."""
    model = _make(name, num_layers=2)
    x = torch.randn(B, T, I)
    whole, _ = model(x)
    first, state = model(x[:, :3])
    second, _ = model(x[:, 3:], state)
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole)


@pytest.mark.parametrize("name", FAMILIES)
def test_causal_unless_bidirectional(name):
    """Outputs at step t never depend on inputs after t, unless the model declares itself
    bidirectional: then they do (the flag the causal tasks refuse on is true to the model)."""
    model = _make(name)
    x = torch.randn(B, T, I)
    y = x.clone()
    y[:, 4:] += 1.0
    a, _ = model(x)
    b, _ = model(y)
    assert not torch.allclose(a[:, 4:], b[:, 4:])  # the change reaches the steps it was made at
    if model.bidirectional:
        assert not torch.allclose(a[:, :4], b[:, :4]), "declared bidirectional, but blind to later steps"
    else:
        torch.testing.assert_close(a[:, :4], b[:, :4])


@pytest.mark.parametrize("name", FAMILIES)
def test_description_cites_a_source(name):
    description = models.describe()[name]
    assert description and any(ch.isdigit() for ch in description), "docstring should cite a paper and year"


def test_unknown_family_lists_choices():
    with pytest.raises(BenchError, match="choose one of: .*lstm"):
        models.create("nope", input_size=1, hidden_size=1)
