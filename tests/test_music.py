"""Polyphonic music on hand-built piano rolls: the frame-weighted NLL with padding, the three naive
baselines, and the batching of sequences of different lengths (every real frame once, the state
carried within a group of sequences and started afresh at the next)."""

import math

import pytest
import torch

from benchbench.baselines import evaluate_baseline
from benchbench.batching import PAD, SequenceWindows, make_loader, pad_sequences
from benchbench.data import Sequences, Splits
from benchbench.errors import BenchError
from benchbench.metrics import METRICS, frame_nll_loss
from benchbench.tasks import BaselineSpec, load_task
from benchbench.training import TrainConfig, build_model


def _t(rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32)


def _nll(p: float, on: float) -> float:
    """-log of the probability a Bernoulli(p) gives to `on`."""
    return -math.log(p if on else 1 - p)


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def test_masked_nll_of_two_sequences_of_different_lengths_is_the_hand_computation():
    # Two keys. Sequence a has 3 frames (2 predicted), b has 2 frames (1 predicted): b's second step is padding.
    a = _t([[1, 0], [0, 1], [1, 1]])
    b = _t([[0, 0], [1, 0]])
    x, y = pad_sequences([a, b])
    assert x.shape == y.shape == (2, 2, 2)
    assert (y[1, 1] == PAD).all() and (x[1, 1] == 0).all()
    logits = _t([[[0.5, -1.0], [2.0, 0.0]], [[-0.3, 1.5], [40.0, -40.0]]])  # b's padded step: wild logits
    # By hand: a predicts [0, 1] with logits (0.5, -1.0) and [1, 1] with (2.0, 0.0); b predicts [1, 0] with (-0.3, 1.5).
    by_hand = (
        _nll(_sigmoid(0.5), 0) + _nll(_sigmoid(-1.0), 1)
        + _nll(_sigmoid(2.0), 1) + _nll(_sigmoid(0.0), 1)
        + _nll(_sigmoid(-0.3), 1) + _nll(_sigmoid(1.5), 0)
    ) / 3  # three real frames, summed over both keys  # fmt: skip
    metric = METRICS.get("frame-nll")
    assert metric.direction == "minimize"
    assert metric.finalize(metric.stats(logits, y)) == pytest.approx(by_hand, rel=1e-6)
    assert float(frame_nll_loss(logits, y)) == pytest.approx(by_hand, rel=1e-6)
    # Frame-weighted, not a mean of per-sequence means: summed batch by batch, the split figure is the same.
    one, two = metric.stats(logits[:1], y[:1]), metric.stats(logits[1:], y[1:])
    assert metric.finalize(one + two) == pytest.approx(by_hand, rel=1e-6)
    assert metric.finalize(one + two) != pytest.approx((metric.finalize(one) + metric.finalize(two)) / 2, rel=1e-3)


def _splits(train, val, test) -> Splits:
    return Splits(train=Sequences(map(_t, train)), val=Sequences(map(_t, val)), test=Sequences(map(_t, test)))


# Two keys. Training targets (frames 2..T): [1,0] [1,1] [0,0] from the first, [1,0] from the second.
TRAIN = [[[0, 0], [1, 0], [1, 1], [0, 0]], [[1, 0], [1, 0]]]
TEST = [[[1, 0], [1, 1], [0, 1]], [[0, 0], [0, 1]]]  # targets [1,1] [0,1] and [0,1]


def _baseline(name: str, **options) -> float:
    data = _splits(TRAIN, TEST, TEST)
    return evaluate_baseline(BaselineSpec(name, options), data, metric="frame-nll", regression=False).test


def test_constant_half_is_ln2_per_key_and_61_on_88_keys():
    assert _baseline("constant", value=0.5) == pytest.approx(2 * math.log(2), rel=1e-6)
    roll = [[[float(k % 3 == 0) for k in range(88)]] * 3]
    data = _splits(roll, roll, roll)
    result = evaluate_baseline(BaselineSpec("constant", {"value": 0.5}), data, metric="frame-nll", regression=False)
    assert result.test == pytest.approx(88 * math.log(2), rel=1e-6) and round(result.test, 2) == 61.00


def test_key_frequency_is_the_add_one_training_frequency_of_each_key():
    # Key 0 sounds in 3 of the 4 training targets, key 1 in 1: p = (3+1)/(4+2), (1+1)/(4+2).
    p0, p1 = 4 / 6, 2 / 6
    targets = [[1, 1], [0, 1], [0, 1]]
    by_hand = sum(_nll(p0, k0) + _nll(p1, k1) for k0, k1 in targets) / 3
    assert _baseline("key-frequency") == pytest.approx(by_hand, rel=1e-6)


def test_key_markov_is_the_add_one_frequency_given_the_previous_frame():
    # Training pairs (previous -> next): [0,0]->[1,0], [1,0]->[1,1], [1,1]->[0,0], [1,0]->[1,0].
    # Key 0: after on (3 times) on twice -> (2+1)/(3+2); after off (once) on once -> (1+1)/(1+2).
    # Key 1: after on (once) on 0 times -> (0+1)/(1+2); after off (3 times) on once -> (1+1)/(3+2).
    on0, off0, on1, off1 = 3 / 5, 2 / 3, 1 / 3, 2 / 5
    p = {0: {True: on0, False: off0}, 1: {True: on1, False: off1}}
    pairs = [([1, 0], [1, 1]), ([1, 1], [0, 1]), ([0, 0], [0, 1])]  # the test pairs
    by_hand = sum(sum(_nll(p[k][bool(prev[k])], nxt[k]) for k in (0, 1)) for prev, nxt in pairs) / 3
    assert _baseline("key-markov") == pytest.approx(by_hand, rel=1e-6)


def test_sequence_baselines_refuse_other_data_in_one_line():
    data = load_task("adding").load_data("smoke")
    for name in ("key-frequency", "key-markov"):
        with pytest.raises(BenchError) as err:
            evaluate_baseline(BaselineSpec(name), data, metric="mse", regression=True)
        assert "\n" not in str(err.value) and name in str(err.value)


def _rolls(lengths, keys=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return Sequences((torch.rand(n, keys, generator=gen) > 0.5).float() for n in lengths)


@pytest.mark.parametrize("shuffle", [True, False])
def test_windows_serve_every_real_frame_once_and_keep_their_length(shuffle):
    lengths = [3, 40, 7, 41, 39, 12, 2, 100, 90, 8]
    data = _rolls(lengths)
    windows = SequenceWindows(data, batch_size=3, bptt=5, shuffle=shuffle, seed=1)
    for _ in range(3):  # epochs: a new order, the same number of windows
        served = list(windows)
        assert len(served) == len(windows)
        assert served[0][2] is True
        real = sum(int((y[..., 0] >= 0).sum()) for _, y, _ in served)
        assert real == sum(n - 1 for n in lengths)
        for x, y, _ in served:
            assert x.shape == y.shape and x.shape[1] <= 5
    for indices, length in windows.groups():  # a group pads by at most a quarter of its sequences' lengths
        assert length >= max(lengths[i] for i in indices) and all(lengths[i] >= 0.8 * length for i in indices)


def test_state_is_carried_within_a_group_and_reset_at_the_next():
    """Evaluating in windows of 4 steps gives the same figure as whole sequences in one window: the
    state runs on through a group's windows and starts from zero at each new group."""
    task = load_task("jsb-chorales")
    data = Splits(train=_rolls([30, 9, 17, 25], keys=88), val=_rolls([30, 28, 17, 16], keys=88, seed=1), test=_rolls([6], keys=88))
    torch.manual_seed(0)
    module = build_model(task, "lstm", {"hidden_size": 8}, data, TrainConfig()).eval()
    with torch.no_grad():  # large weights: what the state holds changes the predictions a lot
        for p in module.parameters():
            p.mul_(6.0)
    metric = METRICS.get("frame-nll")

    def evaluate(bptt: int, *, reset: bool = True) -> float:
        module._reset("val")
        with torch.no_grad():
            for x, y, first in make_loader(data.val, batch_size=2, shuffle=False, seed=0, bptt=bptt):
                module._accumulate((x, y, first and reset), "val")
        return metric.finalize(module._sums["val"][0])

    whole = evaluate(100)
    assert evaluate(4) == pytest.approx(whole, rel=1e-5)
    assert evaluate(1) == pytest.approx(whole, rel=1e-5)
    # A state carried over from the previous group's sequences: a different figure.
    assert evaluate(100, reset=False) != pytest.approx(whole, rel=1e-2)
    module.stateful = False  # without the carried state the windows lose their past: a different figure
    assert evaluate(4) != pytest.approx(whole, rel=1e-2)


@pytest.mark.parametrize("family", ["lstm", "gru", "rnn"])
def test_the_bai_presets_train_through_the_cli_at_about_300k_parameters(family, tmp_path):
    """`bench train --preset bai-<family>` on the smoke data for one epoch passes the checks and
    reports a finite test figure; the preset's model has about Bai et al.'s 300K parameters."""
    import re

    from typer.testing import CliRunner

    from benchbench.cli import app

    task = load_task("jsb-chorales")
    hparams = {k: v for k, v in task.preset(f"bai-{family}").items() if k != "max_epochs"}
    data = task.load_data("smoke")
    module = build_model(task, family, hparams, data, TrainConfig(**{k: v for k, v in hparams.items() if k in TrainConfig.__dataclass_fields__}))
    assert 295_000 <= sum(p.numel() for p in module.parameters()) <= 305_000
    args = ["train", "--task", "jsb-chorales", "--model", family, "--preset", f"bai-{family}", "--budget", "smoke"]
    out = CliRunner().invoke(app, [*args, "--max-epochs", "1", "--results", str(tmp_path / "results")])
    assert out.exit_code == 0, out.output
    test = re.search(r"test ([0-9.]+)", out.stdout)
    assert test and math.isfinite(float(test.group(1)))
