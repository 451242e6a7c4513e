"""Moving digits: bouncing sklearn 8x8 digits, generated offline from fixed seeds."""

import pytest
import torch

from benchbench.data import DATASETS
from benchbench.data.digits import DIGIT_POOLS, digit_images, moving_digits, moving_digits_sequences
from benchbench.errors import BenchError

SMALL = {"train_size": 64, "val_size": 32, "test_size": 32}


@pytest.fixture(scope="module")
def splits():
    return moving_digits(**SMALL)


def test_registered_shapes_and_meta(splits):
    assert DATASETS.get("moving-digits") is moving_digits
    for split, n in (("train", 64), ("val", 32), ("test", 32)):
        x, y = splits[split].tensors
        assert x.shape == (n, 10, 256) and y.shape == (n, 5, 256)
        assert x.dtype == y.dtype == torch.float32
    assert splits.meta == {"step_shape": (1, 16, 16), "output_frames": 5}
    other = moving_digits(frame_size=12, input_frames=3, output_frames=7, digits=2, **SMALL)
    assert other.train.tensors[0].shape == (64, 10, 144) and other.train.tensors[1].shape == (64, 7, 144)
    assert other.meta == {"step_shape": (1, 12, 12), "output_frames": 7}


def test_values_in_unit_interval_and_digits_visible(splits):
    for split in ("train", "val", "test"):
        for t in splits[split].tensors:
            assert t.min() >= 0 and t.max() <= 1
        assert (splits[split].tensors[1].flatten(2).amax(-1) > 0.5).all()  # every target frame shows a digit
    two = moving_digits(digits=2, **SMALL)
    assert two.train.tensors[1].max() <= 1  # overlapping digits combine by max, not sum


def test_last_frames_are_blank_in_inputs_and_targets_are_the_future(splits):
    video, _ = moving_digits_sequences(64, seed=1, pool=DIGIT_POOLS["train"], frames=10)
    x, y = splits.train.tensors
    assert (x[:, 5:] == 0).all()
    torch.testing.assert_close(x[:, :5], video[:, :5].flatten(2))
    torch.testing.assert_close(y, video[:, 5:].flatten(2))


@pytest.mark.parametrize("digits", [1, 2])
def test_digits_stay_in_the_frame_and_bounce(digits):
    video, corners = moving_digits_sequences(500, seed=5, digits=digits, frames=40, speed=1.5)
    assert corners.min() >= 0 and corners.max() <= 16 - 8
    # both walls are hit along each axis, and a step moves at most speed (+1 for rounding) per axis
    assert (corners == 0).any() and (corners == 8).any()
    assert (corners.diff(dim=1).abs() <= 2).all()
    if digits == 1:
        # the whole digit is drawn in every frame: a frame's total intensity is constant in time
        totals = video.sum((-1, -2))  # (n, frames)
        torch.testing.assert_close(totals, totals[:, :1].expand_as(totals))


def test_a_frame_is_the_digit_drawn_at_its_corner():
    video, corners = moving_digits_sequences(20, seed=2, pool=DIGIT_POOLS["test"], frames=6)
    pool = digit_images()[DIGIT_POOLS["test"].start : DIGIT_POOLS["test"].stop]
    for i in range(20):
        r, c = corners[i, 3, 0].tolist()
        patch = video[i, 3, r : r + 8, c : c + 8]
        assert video[i, 3].sum() == pytest.approx(patch.sum().item())  # nothing outside the digit
        assert (pool - patch).abs().flatten(1).sum(1).min() == 0  # a digit of the test pool


def test_digit_pools_are_disjoint_and_cover_all_images():
    pools = [set(p) for p in DIGIT_POOLS.values()]
    assert not (pools[0] & pools[1]) and not (pools[0] & pools[2]) and not (pools[1] & pools[2])
    assert set().union(*pools) == set(range(1797)) == set(range(len(digit_images())))


def test_fixed_seeds_give_the_same_data_and_other_seeds_differ(splits):
    again = moving_digits(**SMALL)
    for split in ("train", "val", "test"):
        assert torch.equal(splits[split].tensors[0], again[split].tensors[0])
        assert torch.equal(splits[split].tensors[1], again[split].tensors[1])
    other = moving_digits(seeds={"train": 11, "val": 2, "test": 3}, **SMALL)
    assert not torch.equal(splits.train.tensors[0], other.train.tensors[0])
    assert torch.equal(splits.val.tensors[0], other.val.tensors[0])
    assert not torch.equal(splits.val.tensors[0], splits.test.tensors[0])


@pytest.mark.parametrize(
    "options",
    [
        {"digits": 3}, {"frame_size": 8}, {"speed": 0}, {"speed": 9},
        {"input_frames": 0}, {"train_size": 0}, {"seeds": {"train": 1}},
    ],
)
def test_bad_options_are_one_line_errors(options):
    with pytest.raises(BenchError) as err:
        moving_digits(**{**SMALL, **options})
    assert "\n" not in str(err.value)
