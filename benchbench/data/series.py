"""`csv`: the user's own time series, from a CSV or Parquet file with a header row.

Each row is a time step, each chosen column a series. The windows are made as for the LSTNet tasks
(data/lstnet.py): a window of `window` rows predicts the target columns `horizon` rows after its
end; rows are split chronologically into train / val / test by the fractions `train` and `val` (the
rest is test), and a window belongs to the part holding its target row (the first val and test
windows look back into the part before: the past is known when forecasting). Every column is scaled
with statistics of the training rows only:

    scale = "standard"   (x - mean) / std    (a constant column keeps std 1)
    scale = "max"        x / max |x|         (LSTNet's, over the training part)
    scale = "none"       as in the file

Inputs are (N, window, C) over the input columns, targets (N, D) over the target columns; the
targets are always among the inputs (their past is known), so `meta["target_channels"]` lets the
persistence baseline and the residual head read their last values. `meta["target_scale"]` and
`meta["target_offset"]` undo the scaling, so metrics are in the file's units.

Options (a task spec's `[dataset]`, or `--option key=value`): `path`, `target` and `inputs` (column
names, comma-separated; default every column but `time`), `time` (a column to order the rows by and
leave out; default: the first column when it holds dates), `window`, `horizon`, `train`, `val`, `scale`, `stride` and `limit` (as for exchange-rate).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import TensorDataset

from benchbench.data.lstnet import check_window_options
from benchbench.data.registry import DATASETS, Splits
from benchbench.errors import BenchError

__all__ = ["SCALES", "read_table", "series", "series_splits"]

SCALES = ("standard", "max", "none")


@cache
def _read(path: str, mtime: int):  # mtime: an edited file is read again
    import pandas as pd

    try:
        if path.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        return pd.read_csv(path, compression="infer")
    except ImportError as err:
        raise BenchError(f"{path}: reading Parquet needs an extra package ({err}); pip install pyarrow, or save the file as CSV") from None
    except (OSError, ValueError, UnicodeDecodeError) as err:
        raise BenchError(f"{path}: not a readable table with a header row ({type(err).__name__}: {err})") from None


def read_table(path: str | Path):
    """The file's table (a DataFrame); BenchError, one line, when it cannot be read."""
    file = Path(path)
    if not file.is_file():
        raise BenchError(f"no series file {file}; give the path of a CSV or Parquet file (--task csv:PATH or [dataset] path)")
    return _read(str(file.resolve()), file.stat().st_mtime_ns)


def _columns(text: Any, key: str) -> list[str]:
    if isinstance(text, (list, tuple)):
        return [str(c) for c in text]
    if not isinstance(text, str):
        raise BenchError(f"{key} must name columns, comma-separated, e.g. {key}=close; got {text!r}")
    return [c.strip() for c in text.split(",") if c.strip()]


def _date_column(frame) -> list[str]:
    """The first column when it holds dates or times (and no number), which then orders the rows."""
    import pandas as pd

    first = frame.columns[0]
    if pd.api.types.is_numeric_dtype(frame[first]):
        return []
    try:
        pd.to_datetime(frame[first], errors="raise", format="mixed")
    except (ValueError, TypeError):
        return []
    return [first]


def _numeric(frame, column: str, path: str) -> np.ndarray:
    """One column as float64; the first non-numeric or missing value is the error."""
    import pandas as pd

    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.argmax(bad))
        raw = frame[column].iloc[row]
        what = "a missing value" if pd.isna(raw) else f"a non-numeric value {raw!r}"
        raise BenchError(
            f"{path}: column {column!r} has {what} at data row {row + 1}; fill it, or leave the column out "
            "with --option inputs=... (or name a date column with --option time=...)"
        )
    return values


def series_splits(
    matrix: np.ndarray,
    targets: list[int],
    *,
    window: int,
    horizon: int,
    train: float,
    val: float,
    scale: str,
    stride: int = 1,
    limit: int | None = None,
    where: str = "the series",
) -> Splits:
    """Windows of a (rows, columns) matrix whose columns `targets` are predicted; see the module docstring."""
    check_window_options(window=window, horizon=horizon, stride=stride, limit=limit)
    for key, value in (("train", train), ("val", val)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
            raise BenchError(f"{key} must be a fraction between 0 and 1, got {value!r}")
    if train + val >= 1:
        raise BenchError(f"train + val must leave a test part (be below 1), got {train} + {val}")
    if scale not in SCALES:
        raise BenchError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")
    n, c = matrix.shape
    a, b = int(train * n), int((train + val) * n)
    rows = {"train": range(window + horizon - 1, a), "val": range(max(a, window + horizon - 1), b), "test": range(b, n)}
    short = [split for split, r in rows.items() if len(r) == 0]
    if short:
        need = int(np.ceil((window + horizon) / train))
        raise BenchError(
            f"{where}: {n} rows are too few for window {window} + horizon {horizon}: the {short[0]} part has no window "
            f"(split {train:g}/{val:g}/{1 - train - val:g}); give at least {need} rows, or a shorter window or horizon"
        )
    fit = matrix[:a]
    if scale == "standard":
        offset, spread = fit.mean(axis=0), fit.std(axis=0)
    elif scale == "max":
        offset, spread = np.zeros(c), np.abs(fit).max(axis=0)
    else:
        offset, spread = np.zeros(c), np.ones(c)
    spread[spread == 0] = 1.0
    scaled = torch.from_numpy((matrix - offset) / spread).float()  # (n, C)
    every = scaled.unfold(0, window, 1).transpose(1, 2)  # (n - window + 1, window, C); [s] = rows [s, s + window)
    shift = horizon - 1 + window  # target row t <- the window starting at row t - shift
    sets = {}
    thinned = {split: r[:: stride if split == "train" else 1][:limit] for split, r in rows.items()}
    for split, r in thinned.items():
        inputs = every[r.start - shift : r.stop - shift : r.step]  # (N, window, C), a view
        sets[split] = TensorDataset(inputs, scaled[r.start : r.stop : r.step][:, targets].clone())  # (N, D)
    meta = {
        "target_scale": torch.from_numpy(spread[targets]).float(),  # (D,)
        "target_offset": torch.from_numpy(offset[targets]).float(),  # (D,)
        "target_channels": tuple(targets),
        "target_rows": thinned,
        "window": window,
        "horizon": horizon,
    }
    return Splits(**sets, meta=meta)


@DATASETS.register("csv")
def series(
    *,
    path: str = "",
    target: str = "",
    inputs: str = "",
    time: str = "",
    window: int = 24,
    horizon: int = 1,
    train: float = 0.6,
    val: float = 0.2,
    scale: str = "standard",
    stride: int = 1,
    limit: int | None = None,
) -> Splits:
    """Your own series from a CSV or Parquet file (columns as series, rows as time steps)."""
    if not path:
        raise BenchError("the csv dataset needs a file: --task csv:PATH, or path = \"...\" in the spec's [dataset]")
    frame = read_table(path)
    name = Path(path).name
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    for key, wanted in (("time", _columns(time, "time")), ("inputs", _columns(inputs, "inputs")), ("target", _columns(target, "target"))):
        missing = [col for col in wanted if col not in columns]
        if missing:
            raise BenchError(f"{name}: no column {missing[0]!r} (--option {key}); its columns are: {', '.join(columns)}")
    order = _columns(time, "time") or _date_column(frame)
    if len(order) > 1:
        raise BenchError(f"time names one column, got {time!r}")
    if order:
        frame = frame.sort_values(order[0], kind="stable")
    chosen = _columns(inputs, "inputs") or [col for col in columns if col not in order]
    targets = _columns(target, "target") or list(chosen)
    chosen += [col for col in targets if col not in chosen]  # a target's past is always an input
    if not chosen:
        raise BenchError(f"{name}: no column left to read; name the series with --option inputs=...")
    matrix = np.stack([_numeric(frame, col, name) for col in chosen], axis=1)  # (rows, C)
    return series_splits(
        matrix, [chosen.index(col) for col in targets], window=window, horizon=horizon, train=train, val=val,
        scale=scale, stride=stride, limit=limit, where=name,
    )  # fmt: skip
