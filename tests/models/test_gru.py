"""The GRU's two forms: nn.GRU (reset after the recurrent product) and the reset-before form."""

import json

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from benchbench import contract, models
from benchbench.cli import app
from benchbench.models.gru import ResetBeforeGRU
from tests.synthetic import USER_TASK

REF = "benchbench.models.gru:ResetBeforeGRU"


def test_the_reset_before_form_passes_the_family_contract():
    """What `bench check-model` asks of any family (shapes, final state, causality, gradients, stacking
    with dropout, seeding), and a few training steps on the music task it is meant for."""
    report = contract.check_family(REF, tasks="jsb-chorales")
    assert not report.failed, report.failure_lines()


def _pair(seed=0, layers=2):
    torch.manual_seed(seed)
    after = nn.GRU(3, 4, layers, batch_first=True)
    before = ResetBeforeGRU(input_size=3, hidden_size=4, num_layers=layers)
    before.load_state_dict(after.state_dict())  # the same names, shapes and gate order
    return after, before


def test_with_the_reset_gate_open_both_forms_are_one_function():
    """r = 1 makes r * (W h + b) equal W (r * h) + b: any error in gate order, biases or the update's
    convention shows here."""
    after, before = _pair()
    with torch.no_grad():
        for module in (after, before):
            for layer in range(2):
                getattr(module, f"bias_hh_l{layer}")[:4] = 60.0  # r = sigmoid(>= 50) = 1 in float32
    x, h0 = torch.randn(2, 7, 3), torch.randn(2, 2, 4)
    out_a, h_a = after(x, h0)
    out_b, h_b = before(x, h0)
    torch.testing.assert_close(out_b, out_a)
    torch.testing.assert_close(h_b, h_a)


def test_one_step_is_the_papers_equation_and_not_nn_grus():
    after, before = _pair(layers=1)
    x, h = torch.randn(1, 1, 3), torch.randn(1, 1, 4)
    w_ih, w_hh, b_ih, b_hh = (getattr(before, f"{k}_l0").detach() for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    xi, hp = x[0, 0], h[0, 0]
    r = torch.sigmoid(w_ih[:4] @ xi + b_ih[:4] + w_hh[:4] @ hp + b_hh[:4])
    z = torch.sigmoid(w_ih[4:8] @ xi + b_ih[4:8] + w_hh[4:8] @ hp + b_hh[4:8])
    n = torch.tanh(w_ih[8:] @ xi + b_ih[8:] + w_hh[8:] @ (r * hp) + b_hh[8:])
    expected = (1 - z) * n + z * hp
    out, _ = before(x, h)
    torch.testing.assert_close(out[0, 0], expected)
    assert not torch.allclose(after(x, h)[0][0, 0], expected, atol=1e-4)  # the forms differ once r < 1


def test_the_family_switch():
    fast = models.create("gru", input_size=5, hidden_size=6, num_layers=2)
    slow = models.create("gru", input_size=5, hidden_size=6, num_layers=2, reset_after=False)
    assert isinstance(fast.rnn, nn.GRU) and isinstance(slow, ResetBeforeGRU)
    assert sum(p.numel() for p in fast.parameters()) == sum(p.numel() for p in slow.parameters())


SPEC = USER_TASK + "\n[budgets.smoke.by_family.gru]\nreset_after = false\n"  # the reset-before form, fixed by the spec


def test_a_spec_that_fixes_the_form_runs_it_and_the_leaderboard_says_so(tmp_path):
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "my-adding.toml").write_text(SPEC)
    results = tmp_path / "results"
    common = ["--tasks-dir", str(tmp_path / "tasks")]
    runner = CliRunner()
    out = runner.invoke(app, ["run", "--task", "my-adding", "--model", "gru", "--budget", "smoke", "--results", str(results), *common])
    assert out.exit_code == 0, out.output
    board = runner.invoke(app, ["leaderboard", "--results", str(results), "--format", "json"])
    (row,) = [r for r in json.loads(board.stdout) if r["model"] == "gru"]
    assert row["hyperparams"]["reset_after"] is False and "lr" in row["hyperparams"]
