"""Multivariate forecasting under the LSTNet protocol (Lai et al. 2018, "Modeling Long- and
Short-Term Temporal Patterns with Deep Neural Networks"): `exchange-rate` and `electricity`.

Both files come from laiguokun/multivariate-time-series-data in the same format: gzip text, no
header, comma-separated floats, one row per time step and one column per series (exchange rate:
7,588 daily rows x 8 currencies; electricity: 26,304 hourly rows x 321 clients).

The protocol, as in LSTNet's `utils.Data_utility`:

- rows are split chronologically at `int(0.6 n)` and `int(0.8 n)`; a window belongs to the part
  that holds its *target* row, so the first val/test windows look back into the previous part
  (the past is known when forecasting; no target is shared between parts);
- alignment: a window that ends at row `e` (exclusive; inputs are rows `[e - window, e)`) has the
  target row `e + horizon - 1`. Said from the target's side, as LSTNet's `_batchify` does: target
  row `t` has inputs `[t - horizon + 1 - window, t - horizon + 1)`. So `horizon=1` predicts the row
  right after the window and `horizon=3` the third one. Training targets start at row
  `window + horizon - 1`, the first row with a full window;
- each series is divided by its maximum absolute value. LSTNet takes that maximum over the whole
  file; here it is taken over the training part (rows `[0, int(0.6 n))`) only, so nothing about
  val/test leaks into training (`scale="file"` takes LSTNet's whole-file maximum, to reproduce
  their figures). A series that is all zero there keeps scale 1.

Inputs are (N, window, D), targets (N, D), both scaled. `meta["target_scale"]` (D,) and
`meta["target_offset"]` (D,) zeros undo the scaling: `pred * scale + offset` is in the file's
units, which is what LSTNet's RSE and CORR are computed on. Published results use window 168 and
horizons 3, 6, 12 and 24.

To keep large sets cheap, inputs are a strided view of the one scaled matrix (no copy of the
overlapping windows). For quick budgets `stride` keeps every stride-th *training* window (val and test
keep every window, so figures compare across budgets and with published ones) and `limit` the first
`limit` windows of each split.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from benchbench.data.download import RemoteFile, fetch
from benchbench.data.registry import DATASETS, Splits
from benchbench.errors import BenchError

__all__ = [
    "ELECTRICITY",
    "EXCHANGE_RATE",
    "PUBLISHED_HORIZONS",
    "check_window_options",
    "electricity",
    "exchange_rate",
    "lstnet_splits",
    "read_matrix",
    "split_rows",
    "target_rows",
]

PUBLISHED_HORIZONS = (3, 6, 12, 24)  # the horizons LSTNet reports

_REPO = "laiguokun/multivariate-time-series-data"

EXCHANGE_RATE = RemoteFile(
    path="lstnet/exchange_rate/exchange_rate.txt.gz",
    urls=(
        f"https://raw.githubusercontent.com/{_REPO}/master/exchange_rate/exchange_rate.txt.gz",
        f"https://github.com/{_REPO}/raw/master/exchange_rate/exchange_rate.txt.gz",
    ),
    sha256="6a4fbb561dcdee43f071a83badbeec9223a335552278348656738b556f1c2e9d",
    size=177142,
)

ELECTRICITY = RemoteFile(
    path="uci/electricity/electricity.txt.gz",
    urls=(
        f"https://raw.githubusercontent.com/{_REPO}/master/electricity/electricity.txt.gz",
        f"https://github.com/{_REPO}/raw/master/electricity/electricity.txt.gz",
    ),
    # Pinned by third-party code, not re-verified offline (see the shared data README).
    sha256="3c4c069588198c1fcc95cace7bb69c99922129edfd673b7286661dad20badefa",
    size=17993794,
)


@cache
def read_matrix(path: str | Path) -> np.ndarray:
    """The (rows, series) float64 matrix of an LSTNet-format file (gzip or plain text); read-only,
    cached per path because the same file serves every trial and horizon."""
    import pandas as pd

    try:
        frame = pd.read_csv(path, header=None, sep=",", dtype=np.float64, compression="infer")
    except (OSError, ValueError, EOFError) as err:
        raise BenchError(
            f"{path}: not an LSTNet-format file of comma-separated numbers ({err}); delete it and fetch it again"
        ) from None
    matrix = frame.to_numpy()
    if matrix.ndim != 2 or matrix.size == 0 or not np.isfinite(matrix).all():
        raise BenchError(f"{path}: expected a non-empty matrix of finite numbers; delete it and fetch it again")
    matrix.setflags(write=False)
    return matrix


def split_rows(n: int) -> tuple[int, int]:
    """The chronological 60/20/20 boundaries: rows [0, a) train, [a, b) val, [b, n) test."""
    return int(0.6 * n), int(0.8 * n)


def target_rows(n: int, *, window: int, horizon: int) -> dict[str, range]:
    """The target rows of each split (LSTNet `_split`): a window belongs where its target falls."""
    a, b = split_rows(n)
    rows = {"train": range(window + horizon - 1, a), "val": range(a, b), "test": range(b, n)}
    for split, r in rows.items():
        if len(r) == 0:
            raise BenchError(
                f"{n} rows leave no {split} window for window={window}, horizon={horizon}; use a shorter window or horizon"
            )
    return rows


def check_window_options(*, window: int, horizon: int, stride: int, limit: int | None) -> None:
    for name, value in (("window", window), ("horizon", horizon), ("stride", stride)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise BenchError(f"{name} must be a positive integer, got {value!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise BenchError(f"limit must be a positive integer or omitted, got {limit!r}")


def _windows(scaled: torch.Tensor, rows: range, *, window: int, horizon: int) -> TensorDataset:
    """Inputs (N, window, D) as a view of `scaled` (n, D) and targets (N, D) for target rows `rows`."""
    every = scaled.unfold(0, window, 1).transpose(1, 2)  # (n - window + 1, window, D); [s] = rows [s, s + window)
    shift = horizon - 1 + window  # target row t <- window starting at t - shift
    inputs = every[rows.start - shift : rows.stop - shift : rows.step]  # (N, window, D), a view
    targets = scaled[rows.start : rows.stop : rows.step].clone()  # (N, D)
    return TensorDataset(inputs, targets)


SCALES = ("train", "file")  # each series' maximum over the training part (ours), or the whole file (LSTNet's)


def lstnet_splits(
    matrix: np.ndarray,
    *,
    window: int = 168,
    horizon: int = 3,
    stride: int = 1,
    limit: int | None = None,
    scale: str = "train",
) -> Splits:
    """LSTNet windows of a (rows, series) matrix; see the module docstring for the protocol.
    `scale="file"` divides by the whole file's maximum as LSTNet's code does (it lets the test
    period's range into training), for reproducing their figures."""
    check_window_options(window=window, horizon=horizon, stride=stride, limit=limit)
    if scale not in SCALES:
        raise BenchError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")
    n, d = matrix.shape
    rows = target_rows(n, window=window, horizon=horizon)
    a, _ = split_rows(n)
    scale = np.abs(matrix[: a if scale == "train" else n]).max(axis=0)  # (D,)
    scale[scale == 0] = 1.0
    scaled = torch.from_numpy(matrix / scale).float()  # (n, D)
    # `stride` thins training windows only: every budget is scored on the same val and test windows.
    thinned = {split: r[:: stride if split == "train" else 1][:limit] for split, r in rows.items()}
    sets = {split: _windows(scaled, r, window=window, horizon=horizon) for split, r in thinned.items()}
    meta = {
        "target_scale": torch.from_numpy(scale).float(),  # (D,)
        "target_offset": torch.zeros(d),  # (D,)
        "target_channels": tuple(range(d)),  # the inputs are the target series, scaled alike
        "target_rows": thinned,  # split -> range of the file rows its targets are
        "window": window,
        "horizon": horizon,
    }
    return Splits(**sets, meta=meta)


def _load(remote: RemoteFile, **options) -> Splits:
    return lstnet_splits(read_matrix(str(fetch(remote))), **options)


@DATASETS.register("exchange-rate")
def exchange_rate(
    *, window: int = 168, horizon: int = 3, stride: int = 1, limit: int | None = None, scale: str = "train"
) -> Splits:
    """Daily exchange rates of 8 currencies, 1990-2016 (LSTNet protocol; 7,588 rows)."""
    return _load(EXCHANGE_RATE, window=window, horizon=horizon, stride=stride, limit=limit, scale=scale)


@DATASETS.register("electricity")
def electricity(
    *, window: int = 168, horizon: int = 3, stride: int = 1, limit: int | None = None, scale: str = "train"
) -> Splits:
    """Hourly consumption of 321 clients, 2012-2014 (UCI, LSTNet preprocessing; 26,304 rows)."""
    return _load(ELECTRICITY, window=window, horizon=horizon, stride=stride, limit=limit, scale=scale)
