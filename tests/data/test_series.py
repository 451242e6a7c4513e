"""The `csv` dataset: windows, splits and scaling on a series whose answer is known."""

import numpy as np
import pandas as pd
import pytest
import torch

from benchbench.data.series import series, series_splits
from benchbench.errors import BenchError


def test_windows_targets_and_train_only_scaling():
    n = 100
    rows = np.arange(n, dtype=np.float64)
    matrix = np.stack([rows, 10 * rows], axis=1)  # (100, 2): row index, 10 x row index
    data = series_splits(matrix, [1], window=5, horizon=3, train=0.6, val=0.2, scale="standard")
    x, y = data.train.tensors
    # train targets are rows [window + horizon - 1, 60) = [7, 60); the first window is rows 0-4
    assert len(y) == 60 - 7 and len(data.val) == 20 and len(data.test) == 20
    mean, std = rows[:60].mean(), rows[:60].std()  # statistics of the training rows only
    unscale = lambda v, col: v * (std * (10 if col else 1)) + mean * (10 if col else 1)  # noqa: E731
    assert unscale(x[0, :, 0].double(), 0).numpy() == pytest.approx([0, 1, 2, 3, 4], abs=1e-4)
    assert float(unscale(y[0, 0].double(), 1)) == pytest.approx(10 * 7, abs=1e-3)  # row 4 + horizon 3
    assert data.meta["target_channels"] == (1,)
    assert float(data.meta["target_scale"][0]) == pytest.approx(10 * std, rel=1e-6)
    assert float(data.meta["target_offset"][0]) == pytest.approx(10 * mean, rel=1e-6)
    # the first test window looks back into val: its target is row 80, its inputs rows 73-77
    tx, ty = data.test.tensors
    assert unscale(tx[0, :, 0].double(), 0).numpy() == pytest.approx([73, 74, 75, 76, 77], abs=1e-3)
    assert float(unscale(ty[0, 0].double(), 1)) == pytest.approx(800, abs=1e-2)


def test_file_columns_date_detection_and_target_among_inputs(tmp_path):
    path = tmp_path / "s.csv"
    frame = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=60, freq="D").astype(str), "a": np.arange(60.0), "b": np.ones(60)})
    frame.iloc[::-1].to_csv(path, index=False)  # rows written newest first: the date column orders them
    data = series(path=str(path), target="a", inputs="b", window=4, horizon=1, scale="none")
    x, y = data.train.tensors
    assert x.shape[1:] == (4, 2) and data.meta["target_channels"] == (1,)  # inputs b, then the target a
    assert x[0, :, 1].tolist() == [0, 1, 2, 3] and y[0].tolist() == [4.0]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"train": 1.2}, "train must be a fraction between 0 and 1"),
        ({"train": 0.7, "val": 0.3}, r"train \+ val must leave a test part"),
        ({"scale": "log"}, "scale must be one of standard, max, none"),
        ({"window": 0}, "window must be a positive integer"),
    ],
)
def test_bad_options_are_one_line(tmp_path, options, expected):
    path = tmp_path / "s.csv"
    pd.DataFrame({"a": np.arange(100.0)}).to_csv(path, index=False)
    with pytest.raises(BenchError, match=expected):
        series(path=str(path), **options)


def test_a_missing_value_names_its_row(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("a,b\n1,2\n3,\n5,6\n")
    with pytest.raises(BenchError, match="column 'b' has a missing value at data row 2"):
        series(path=str(path))


def test_persistence_and_train_mean_baselines_on_a_known_series(tmp_path):
    """A random walk: persistence predicts the last value, train-mean the training targets' mean."""
    from benchbench.baselines import BASELINES

    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.normal(size=400))
    data = series_splits(walk[:, None], [0], window=10, horizon=1, train=0.6, val=0.2, scale="standard")
    x, y = data.test.tensors
    persistence = BASELINES.get("persistence").fit(data)(x)
    assert torch.equal(persistence, x[:, -1, [0]])
    mean = BASELINES.get("train-mean").fit(data)(x)
    assert torch.allclose(mean, data.train.tensors[1].double().mean(0).float().expand_as(mean))
