"""UCI Beijing PM2.5 on the real file from $BENCH_DATA_DIR (missing data fails these tests, never skips)."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from benchbench.data import DATASETS
from benchbench.data.lstnet import split_rows
from benchbench.data.uci import FEATURES, PM25, pm25_features, read_pm25, uci_pm25
from benchbench.errors import BenchError

N_ROWS = 43_824
N_TRAIN, N_VAL_END = split_rows(N_ROWS)  # 26294, 35059


@pytest.fixture(scope="module")
def frame():
    root = os.environ.get("BENCH_DATA_DIR")
    assert root, "set BENCH_DATA_DIR to the folder of verified data files (e.g. /work/shared/data)"
    path = Path(root) / PM25.path
    assert path.is_file(), f"{path} is missing; see /work/shared/data/README.md"
    return read_pm25(str(path))


@pytest.fixture(scope="module")
def splits(frame):
    return uci_pm25()


def test_registered_and_the_file_has_43824_contiguous_hours(frame):
    assert DATASETS.get("uci-pm25") is uci_pm25
    assert len(frame) == N_ROWS
    assert (frame["No"].to_numpy() == np.arange(1, N_ROWS + 1)).all()
    assert int(frame["pm2.5"].isna().sum()) == 2067
    assert (N_TRAIN, N_VAL_END) == (26294, 35059)


def test_shapes_and_meta(splits):
    for split in ("train", "val", "test"):
        x, y = splits[split].tensors
        assert x.dtype == y.dtype == torch.float32
        assert x.shape[1:] == (24, len(FEATURES)) and y.shape == (len(x), 1)
    assert splits.meta["features"] == FEATURES and len(FEATURES) == 16
    assert splits.meta["target_scale"].shape == splits.meta["target_offset"].shape == (1,)


def test_chronological_split_boundaries_without_overlap(frame, splits):
    rows = splits.meta["target_rows"]
    measured = ~frame["pm2.5"].isna().to_numpy()
    bounds = {"train": (24, N_TRAIN), "val": (N_TRAIN, N_VAL_END), "test": (N_VAL_END, N_ROWS)}
    for split, (lo, hi) in bounds.items():
        r = rows[split].numpy()
        assert (np.diff(r) > 0).all() and lo <= r.min() and r.max() < hi
        # every measured hour of the part is a target, and no missing hour is
        assert (r == lo + np.flatnonzero(measured[lo:hi])).all()
    assert rows["train"].max() < rows["val"].min() and rows["val"].max() < rows["test"].min()
    # the first windows of val and test look back into the previous part, never forward
    assert rows["val"][0] - 24 < N_TRAIN


def test_inputs_are_the_window_before_the_target(frame):
    s = uci_pm25(window=12, horizon=3)
    dewp, temp = frame["DEWP"].to_numpy(float), frame["TEMP"].to_numpy(float)
    features, *_ = pm25_features(frame, N_TRAIN)
    for split, i in (("train", 0), ("val", 100), ("test", 5)):
        t = int(s.meta["target_rows"][split][i])
        x = s[split].tensors[0][i]  # (12, F)
        start, end = t - 3 + 1 - 12, t - 3 + 1  # window ends (exclusive) 2 rows before the target
        torch.testing.assert_close(x, torch.from_numpy(features[start:end]).float())
        d = FEATURES.index("DEWP")
        # standardised DEWP is an affine map of the raw values of exactly those rows
        raw = dewp[start:end]
        np.testing.assert_allclose(x[:, d].numpy(), (raw - dewp[:N_TRAIN].mean()) / dewp[:N_TRAIN].std(), rtol=0, atol=1e-5)
        assert not np.allclose(temp[start:end], temp[start + 1 : end + 1])  # the check can tell a shift apart
    assert int(s.meta["target_rows"]["train"][0]) >= 12 + 3 - 1


def test_normalisation_uses_training_statistics_only(frame, splits):
    pm = frame["pm2.5"].to_numpy(float)
    train_pm = pm[:N_TRAIN][~np.isnan(pm[:N_TRAIN])]
    assert splits.meta["target_offset"].item() == pytest.approx(train_pm.mean(), rel=1e-6)
    assert splits.meta["target_scale"].item() == pytest.approx(train_pm.std(), rel=1e-6)
    assert abs(np.nanmean(pm) - train_pm.mean()) > 0.5  # whole-file statistics would differ

    # train inputs: ~zero mean, unit std on the standardised features; val/test: visibly not exactly
    standardised = [FEATURES.index(f) for f in ("pm2.5", "DEWP", "TEMP", "PRES", "Iws")]
    last = lambda split: splits[split].tensors[0][:, -1, standardised]  # noqa: E731  (N, 5): each hour once
    assert last("train").mean(0).abs().max() < 0.05
    assert (last("train").std(0) - 1).abs().max() < 0.05
    for split in ("val", "test"):
        assert (last(split).mean(0).abs().max() > 0.02) or ((last(split).std(0) - 1).abs().max() > 0.02)

    # no leakage: changing every val/test row leaves the training rows' features unchanged
    changed = frame.copy()
    for col in ("pm2.5", "DEWP", "TEMP", "PRES", "Iws", "Is", "Ir"):
        changed.loc[N_TRAIN:, col] = changed.loc[N_TRAIN:, col] * 3 + 7
    before, *_ = pm25_features(frame, N_TRAIN)
    after, *_ = pm25_features(changed, N_TRAIN)
    np.testing.assert_array_equal(before[:N_TRAIN], after[:N_TRAIN])


def test_no_nans_anywhere(splits):
    for split in ("train", "val", "test"):
        for t in splits[split].tensors:
            assert torch.isfinite(t).all()
    assert torch.isfinite(splits.meta["target_scale"]).all() and torch.isfinite(splits.meta["target_offset"]).all()


def test_denormalised_targets_are_the_raw_micrograms(frame, splits):
    pm = frame["pm2.5"].to_numpy(float)
    scale, offset = splits.meta["target_scale"], splits.meta["target_offset"]
    for split in ("train", "val", "test"):
        y = splits[split].tensors[1]
        raw = torch.from_numpy(pm[splits.meta["target_rows"][split].numpy()]).float().unsqueeze(-1)
        assert torch.isfinite(raw).all()  # originally missing hours are never targets
        torch.testing.assert_close(y * scale + offset, raw, rtol=0, atol=2e-3)


def test_missing_pm25_is_forward_filled_and_flagged(frame):
    features, raw, measured, mean, std = pm25_features(frame, N_TRAIN)
    flag, pm = features[:, FEATURES.index("pm2.5_missing")], features[:, FEATURES.index("pm2.5")] * std + mean
    np.testing.assert_array_equal(flag, (~measured).astype(float))
    np.testing.assert_allclose(pm[measured], raw[measured], atol=1e-9)
    np.testing.assert_allclose(pm[:24], mean)  # the leading gap has no past: the training mean
    last_measured = np.maximum.accumulate(np.where(measured, np.arange(len(raw)), -1))
    inner = ~measured & (last_measured >= 0)
    np.testing.assert_allclose(pm[inner], raw[last_measured[inner]], atol=1e-9)  # the last measured value


def test_inputs_never_depend_on_the_future(frame):
    """Changing an hour changes no feature of an earlier hour, so no input sees its window's target."""
    before, *_ = pm25_features(frame, N_TRAIN)
    measured = ~frame["pm2.5"].isna().to_numpy()
    gap_ends = np.flatnonzero(measured[1:] & ~measured[:-1]) + 1  # measured hours right after a gap
    hours = [gap_ends[gap_ends > N_TRAIN][0], gap_ends[gap_ends > N_VAL_END][0], 40_000]
    for hour in hours:  # (a gap's end is where interpolating would leak the next value backwards)
        changed = frame.copy()
        changed.loc[hour, ["pm2.5", "DEWP", "TEMP", "PRES", "Iws"]] = 999.0
        after, *_ = pm25_features(changed, N_TRAIN)
        np.testing.assert_array_equal(before[:hour], after[:hour])
        assert not np.array_equal(before[hour], after[hour])


def test_stride_and_limit_make_a_smoke_sized_subset(splits):
    small = uci_pm25(stride=7, limit=50)
    for split in ("train", "val", "test"):
        step = 7 if split == "train" else 1  # val and test keep every window: budgets score alike
        x, y = small[split].tensors
        assert len(x) == len(y) == 50
        full_rows = splits.meta["target_rows"][split]
        assert torch.equal(small.meta["target_rows"][split], full_rows[::step][:50])
        torch.testing.assert_close(y, splits[split].tensors[1][::step][:50])


@pytest.mark.parametrize("options", [{"window": 0}, {"horizon": -1}, {"stride": 0}, {"limit": 0}, {"window": 30_000}, {"horizon": 50_000}])
def test_bad_options_are_one_line_errors(frame, options):
    with pytest.raises(BenchError) as err:
        uci_pm25(**options)
    assert "\n" not in str(err.value)
