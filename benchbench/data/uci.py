"""UCI Beijing PM2.5 (Liang et al. 2015, Proc. R. Soc. A 471:20150257): forecast the US embassy's
hourly PM2.5 concentration `horizon` hours ahead from the past `window` hours of all covariates.

The file has 43,824 contiguous hourly rows (2010-01-01 00:00 to 2014-12-31 23:00). Inputs per hour,
16 features in this order (`meta["features"]`):

- `pm2.5`, gap-filled (below) and standardised;
- `pm2.5_missing`, 1 where the value was missing in the file, else 0, so a model can tell a filled
  value from a measured one;
- `DEWP`, `TEMP`, `PRES`, `Iws` (cumulated wind speed), `Is`, `Ir` (cumulated hours of snow and of
  rain), standardised;
- `cbwd_NE`, `cbwd_NW`, `cbwd_SE`, `cbwd_cv`: the combined wind direction, one-hot (0/1);
- `hour_sin`, `hour_cos`, `doy_sin`, `doy_cos`: the hour of day and the time of year on the unit
  circle. PM2.5 and the weather follow strong daily and seasonal cycles, and a window of a day or
  two cannot show where in the year it sits; sin/cos keeps 23:00 next to 00:00 and 31 Dec next to
  1 Jan.

Missing values: only `pm2.5` has them (2,067 rows, `NA`; the longest gap is 155 hours, and the
first 24 hours are missing). As *inputs* they are filled causally, by the last measured value
(forward fill), and flagged by `pm2.5_missing`; the leading gap, which has no past, gets the
training mean (0 after standardisation). Linear interpolation is deliberately not used: it would
fill a gap at the end of a window from the next measured hour, which can be the target itself, so
the inputs would leak the answer. As *targets* missing hours are never used: a window whose target
hour was missing is dropped, in every split, so no model is trained or scored on an invented value.

Splits and windows follow the LSTNet protocol of `benchbench.data.lstnet`: rows split
chronologically 60/20/20 at `int(0.6 n)` and `int(0.8 n)`; a window belongs to the split holding its
target row; inputs are rows `[e - window, e)` and the target is row `e + horizon - 1`, so
`horizon=1` predicts the hour right after the window.

Normalisation is fitted on the training part (rows `[0, int(0.6 n))`) only: mean and (population)
standard deviation of each continuous covariate over those rows, and of the measured `pm2.5` values
among them. Inputs and targets use the same `pm2.5` statistics. Targets (N, 1) are normalised;
`meta["target_scale"]` (1,) = that standard deviation and `meta["target_offset"]` (1,) = that mean,
so `pred * scale + offset` is in µg/m³.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from benchbench.data.download import RemoteFile, fetch
from benchbench.data.lstnet import check_window_options, split_rows, target_rows
from benchbench.data.registry import DATASETS, Splits
from benchbench.errors import BenchError

__all__ = ["FEATURES", "PM25", "pm25_features", "read_pm25", "uci_pm25"]

PM25 = RemoteFile(
    path="uci/beijing_pm25/PRSA_data_2010.1.1-2014.12.31.csv",
    urls=(
        "https://archive.ics.uci.edu/ml/machine-learning-databases/00381/PRSA_data_2010.1.1-2014.12.31.csv",
        "https://raw.githubusercontent.com/jbrownlee/Datasets/master/pollution.csv",  # byte-identical mirror
    ),
    sha256="892e9559205d16d32623135c127a3951c12e46ea1e0b3093e107ce89a9fd60e2",
    size=2010492,
)

_COLUMNS = ["No", "year", "month", "day", "hour", "pm2.5", "DEWP", "TEMP", "PRES", "cbwd", "Iws", "Is", "Ir"]
_CONTINUOUS = ["DEWP", "TEMP", "PRES", "Iws", "Is", "Ir"]
_WIND = ["NE", "NW", "SE", "cv"]
FEATURES = (
    ["pm2.5", "pm2.5_missing", *_CONTINUOUS]
    + [f"cbwd_{w}" for w in _WIND]
    + ["hour_sin", "hour_cos", "doy_sin", "doy_cos"]
)


@cache
def read_pm25(path: str | Path):
    """The file as a pandas DataFrame (pm2.5 `NA` -> NaN), checked; cached per path. Do not mutate."""
    import pandas as pd

    try:
        frame = pd.read_csv(path, na_values=["NA"], keep_default_na=False)
    except (OSError, ValueError, UnicodeDecodeError) as err:
        raise BenchError(f"{path}: not the UCI PM2.5 CSV ({err}); delete it and fetch it again") from None
    if list(frame.columns) != _COLUMNS:
        raise BenchError(f"{path}: expected the columns {','.join(_COLUMNS)}; delete it and fetch it again")
    numeric = [c for c in _COLUMNS if c not in ("pm2.5", "cbwd")]
    if frame[numeric].isna().any().any() or not set(frame["cbwd"]).issubset(_WIND):
        raise BenchError(f"{path}: missing values outside pm2.5 or an unknown cbwd; delete it and fetch it again")
    return frame


def pm25_features(frame, n_train: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """(features (n, F) float64 in `FEATURES` order, raw pm2.5 (n,) with NaN, measured mask (n,),
    pm2.5 mean, pm2.5 std), every statistic from the first `n_train` rows only."""
    import pandas as pd

    raw = frame["pm2.5"].to_numpy(dtype=np.float64)  # (n,)
    measured = ~np.isnan(raw)
    train_pm = raw[:n_train][measured[:n_train]]
    mean, std = float(train_pm.mean()), float(train_pm.std())
    filled = frame["pm2.5"].ffill().fillna(mean).to_numpy(dtype=np.float64)  # causal: never a future value

    cont = frame[_CONTINUOUS].to_numpy(dtype=np.float64)  # (n, 6)
    c_mean, c_std = cont[:n_train].mean(axis=0), cont[:n_train].std(axis=0)
    c_std[c_std == 0] = 1.0
    wind = (frame["cbwd"].to_numpy()[:, None] == np.array(_WIND)[None, :]).astype(np.float64)  # (n, 4)

    when = pd.to_datetime(frame[["year", "month", "day", "hour"]])
    hour = frame["hour"].to_numpy(dtype=np.float64)
    days = np.where(when.dt.is_leap_year, 366.0, 365.0)
    year_frac = (when.dt.day_of_year.to_numpy(dtype=np.float64) - 1 + hour / 24) / days
    cycles = np.stack(
        [np.sin(2 * np.pi * hour / 24), np.cos(2 * np.pi * hour / 24),
         np.sin(2 * np.pi * year_frac), np.cos(2 * np.pi * year_frac)],
        axis=1,
    )  # (n, 4)

    features = np.concatenate(
        [((filled - mean) / std)[:, None], (~measured).astype(np.float64)[:, None], (cont - c_mean) / c_std, wind, cycles],
        axis=1,
    )  # (n, F)
    return features, raw, measured, mean, std


@DATASETS.register("uci-pm25")
def uci_pm25(*, window: int = 24, horizon: int = 1, stride: int = 1, limit: int | None = None) -> Splits:
    """Beijing hourly PM2.5 forecasting, 2010-2014 (UCI; 43,824 hours, 16 covariates).

    `stride` keeps every stride-th training window (val and test keep all) and `limit` the first `limit` windows of each split
    (after dropping the windows whose target was missing), for quick budgets.
    """
    check_window_options(window=window, horizon=horizon, stride=stride, limit=limit)
    frame = read_pm25(str(fetch(PM25)))
    n = len(frame)
    n_train, _ = split_rows(n)
    parts = target_rows(n, window=window, horizon=horizon)  # checks the window fits first
    features, raw, measured, mean, std = pm25_features(frame, n_train)
    series = torch.from_numpy(features).float()  # (n, F)
    every = series.unfold(0, window, 1).transpose(1, 2)  # (n - window + 1, window, F); [s] = rows [s, s + window)
    target = torch.from_numpy((raw - mean) / std).float()  # (n,), NaN where missing, never selected
    measured_t = torch.from_numpy(measured)

    sets, rows_of = {}, {}
    for split, r in parts.items():
        rows = torch.arange(r.start, r.stop)
        # `stride` thins training windows only: every budget is scored on the same val and test windows.
        rows = rows[measured_t[rows]][:: stride if split == "train" else 1][:limit]  # (N,) file rows of the targets
        if len(rows) == 0:
            raise BenchError(f"uci-pm25: no {split} window left for window={window}, horizon={horizon}")
        inputs = every[rows - (horizon - 1 + window)]  # (N, window, F)
        sets[split] = TensorDataset(inputs, target[rows].unsqueeze(-1))  # targets (N, 1)
        rows_of[split] = rows
    meta = {
        "target_scale": torch.tensor([std]),  # (1,) µg/m³ per normalised unit
        "target_offset": torch.tensor([mean]),  # (1,) µg/m³
        "features": list(FEATURES),
        "target_channels": (0,),  # input feature 0 is pm2.5, in the targets' normalised units
        "target_rows": rows_of,  # split -> (N,) file rows (0-based) of the targets
        "window": window,
        "horizon": horizon,
    }
    return Splits(**sets, meta=meta)
