"""LSTNet-protocol forecasting (exchange rate, electricity) on the real exchange-rate file from
$BENCH_DATA_DIR (missing data fails these tests, never skips). Electricity is not available offline;
its loader is exercised on the exchange-rate file, which has the same format."""

import gzip
import os
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch

from benchbench.data import DATASETS
from benchbench.data import lstnet
from benchbench.data.lstnet import ELECTRICITY, EXCHANGE_RATE, PUBLISHED_HORIZONS, lstnet_splits, read_matrix
from benchbench.errors import BenchError

ROWS, SERIES = 7588, 8
TRAIN_END, VAL_END = int(0.6 * ROWS), int(0.8 * ROWS)  # 4552, 6070


@pytest.fixture(scope="module")
def path() -> Path:
    root = os.environ.get("BENCH_DATA_DIR")
    assert root, "set BENCH_DATA_DIR to the folder of verified data files (e.g. /work/shared/data)"
    p = Path(root) / EXCHANGE_RATE.path
    assert p.is_file(), f"{p} is missing; see /work/shared/data/README.md"
    return p


@pytest.fixture(scope="module")
def raw(path) -> np.ndarray:
    """The file read independently of the loader: (7588, 8) float64."""
    with gzip.open(path, "rt") as f:
        return np.loadtxt(f, delimiter=",")


def test_parsing_gives_the_documented_matrix(path, raw):
    m = read_matrix(str(path))
    assert m.shape == (ROWS, SERIES) and m.dtype == np.float64
    np.testing.assert_array_equal(m, raw)
    assert read_matrix(str(path)) is m  # parsed once per process


@pytest.mark.parametrize("horizon", PUBLISHED_HORIZONS)
def test_shapes_for_each_published_horizon(path, horizon):
    s = DATASETS.get("exchange-rate")(horizon=horizon)
    sizes = {"train": TRAIN_END - (168 + horizon - 1), "val": VAL_END - TRAIN_END, "test": ROWS - VAL_END}
    for split, n in sizes.items():
        x, y = s[split].tensors
        assert x.shape == (n, 168, SERIES) and y.shape == (n, SERIES)
        assert x.dtype == y.dtype == torch.float32
    assert s.meta["target_scale"].shape == s.meta["target_offset"].shape == (SERIES,)
    assert (s.meta["target_offset"] == 0).all()


@pytest.mark.parametrize("horizon", [1, 6, 24])
def test_target_alignment_against_the_raw_file(raw, horizon):
    """LSTNet `_batchify`: target row t has inputs rows [t - h + 1 - 168, t - h + 1)."""
    s = lstnet.exchange_rate(horizon=horizon)
    scale = s.meta["target_scale"].double().numpy()
    cases = {"train": (0, 168 + horizon - 1), "val": (10, TRAIN_END + 10), "test": (1234, VAL_END + 1234)}
    for split, (i, t) in cases.items():
        x, y = s[split].tensors
        np.testing.assert_allclose(y[i].double().numpy() * scale, raw[t], rtol=1e-6)
        end = t - horizon + 1  # the window ends (exclusive) h - 1 rows before the target
        np.testing.assert_allclose(x[i].double().numpy() * scale, raw[end - 168 : end], rtol=1e-6)
        assert s.meta["target_rows"][split][i] == t
    # the first training window starts at row 0; val/test windows look back into the previous part
    np.testing.assert_allclose(s.train.tensors[0][0, 0].double().numpy() * scale, raw[0], rtol=1e-6)
    assert s.meta["target_rows"]["train"].stop == TRAIN_END == s.meta["target_rows"]["val"].start


def test_series_are_scaled_by_their_training_maximum_only(raw):
    s = lstnet.exchange_rate()
    train_max = np.abs(raw[:TRAIN_END]).max(axis=0)
    np.testing.assert_allclose(s.meta["target_scale"].double().numpy(), train_max, rtol=1e-6)
    assert (np.abs(raw).max(axis=0) > train_max).any()  # the whole file's maximum would differ
    assert s.train.tensors[0].abs().max() <= 1 + 1e-6 and s.train.tensors[1].abs().max() <= 1 + 1e-6
    assert max(s[split].tensors[1].abs().max() for split in ("val", "test")) > 1  # later values may exceed it


def test_no_nans_and_inputs_are_a_view_not_copies(path):
    s = lstnet.exchange_rate()
    for split in ("train", "val", "test"):
        x, y = s[split].tensors
        assert torch.isfinite(x).all() and torch.isfinite(y).all()
    # all three splits' windows share the one scaled matrix (electricity would be ~5 GB materialised)
    assert s.train.tensors[0].untyped_storage().data_ptr() == s.test.tensors[0].untyped_storage().data_ptr()


def test_stride_and_limit_make_a_smoke_sized_subset(path):
    full = lstnet.exchange_rate(horizon=6)
    small = lstnet.exchange_rate(horizon=6, stride=10, limit=16)
    for split in ("train", "val", "test"):
        step = 10 if split == "train" else 1  # val and test keep every window: budgets score alike
        assert len(small[split]) == 16
        torch.testing.assert_close(small[split].tensors[0], full[split].tensors[0][::step][:16])
        torch.testing.assert_close(small[split].tensors[1], full[split].tensors[1][::step][:16])
    assert small.meta["target_rows"]["val"] == range(TRAIN_END, VAL_END)[:16]


def test_electricity_loader_on_a_file_of_the_same_format(path, raw, monkeypatch):
    asked = []
    monkeypatch.setattr(lstnet, "fetch", lambda remote: asked.append(remote) or path)
    s = DATASETS.get("electricity")(horizon=12, window=48, limit=5)
    assert asked == [ELECTRICITY]
    assert s.train.tensors[0].shape == (5, 48, SERIES) and s.test.tensors[1].shape == (5, SERIES)
    scale = s.meta["target_scale"].double().numpy()
    np.testing.assert_allclose(s.val.tensors[1][0].double().numpy() * scale, raw[TRAIN_END], rtol=1e-6)


def test_electricity_remote_file_is_the_canonical_one():
    assert ELECTRICITY.path == "uci/electricity/electricity.txt.gz"
    assert ELECTRICITY.urls[0] == (
        "https://raw.githubusercontent.com/laiguokun/multivariate-time-series-data/master/electricity/electricity.txt.gz"
    )
    assert ELECTRICITY.sha256 == "3c4c069588198c1fcc95cace7bb69c99922129edfd673b7286661dad20badefa"
    assert ELECTRICITY.size == 17_993_794
    assert EXCHANGE_RATE.sha256 == "6a4fbb561dcdee43f071a83badbeec9223a335552278348656738b556f1c2e9d"


def test_missing_electricity_is_a_one_line_error_without_network(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    tried = []

    def offline(url, *args, **kwargs):
        tried.append(url)
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(BenchError) as err:
        DATASETS.get("electricity")()
    message = str(err.value)
    assert "\n" not in message
    assert ELECTRICITY.path in message and ELECTRICITY.urls[0] in message and "offline" in message and len(message.replace(str(tmp_path), "")) < 360
    assert tried and tried[0] == ELECTRICITY.urls[0]
    assert not any((tmp_path / "cache").rglob("*.gz"))  # nothing half-written


@pytest.mark.parametrize(
    "options", [{"horizon": 0}, {"horizon": 2.5}, {"window": -1}, {"stride": 0}, {"limit": 0}, {"window": 5000}, {"window": 9000}]
)
def test_bad_options_are_one_line_errors(path, options):
    with pytest.raises(BenchError) as err:
        lstnet_splits(read_matrix(str(path)), **options)
    assert "\n" not in str(err.value)
