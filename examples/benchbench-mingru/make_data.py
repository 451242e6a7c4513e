"""Write benchbench_mingru/tasks/synthetic-load.csv: a small synthetic multi-series, made here (no
copied data), so the example task needs nothing downloaded. Run again to remake the same file:

    python make_data.py

Hourly rows. `temp` is a daily cycle plus a slow AR(1) weather drift; `wind` an AR(1) series;
`load` a daily cycle of its own that also follows temperature three hours earlier and wind, plus
noise, so a forecaster gains from reading the other series' past.
"""

import csv
import math
import random
from datetime import datetime, timedelta
from pathlib import Path

ROWS = 2000
OUT = Path(__file__).resolve().parent / "benchbench_mingru" / "tasks" / "synthetic-load.csv"


def main() -> None:
    rng = random.Random(24)
    drift, wind = 0.0, 0.0
    temps: list[float] = []
    rows = []
    for t in range(ROWS):
        drift = 0.98 * drift + rng.gauss(0, 0.3)
        wind = 0.9 * wind + rng.gauss(0, 0.5)
        temp = 12 + 6 * math.sin(2 * math.pi * (t - 9) / 24) + drift
        temps.append(temp)
        lagged = temps[t - 3] if t >= 3 else temp
        load = 50 + 8 * math.sin(2 * math.pi * (t - 18) / 24) + 1.5 * (lagged - 12) - 2.0 * wind + rng.gauss(0, 1.0)
        stamp = (datetime(2024, 1, 1) + timedelta(hours=t)).isoformat(timespec="minutes")
        rows.append((stamp, f"{temp:.3f}", f"{wind:.3f}", f"{load:.3f}"))
    with OUT.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["timestamp", "temp", "wind", "load"])
        writer.writerows(rows)
    print(f"wrote {OUT} ({ROWS} rows)")


if __name__ == "__main__":
    main()
