"""What each outcome of issue 21's findings looks like: every command run as a user types it, with its
exit code, its first line and what it left behind. Prints one Markdown table row per finding.

    BENCH_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/outcomes.py [--only NAME,...]

Two families registered only here stand in for a user's fragile cell: `badcell` raises RuntimeError
in its forward, `nancell` outputs NaN (every trial diverges). Commands run at the smoke budget in a
fresh folder under /tmp with no network (the datasets not in $BENCH_DATA_DIR cannot be had).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _register_test_cells() -> None:
    import torch

    from benchbench.models import MODELS, Backbone

    class _Broken(Backbone):
        def __init__(self, *, input_size: int, hidden_size: int, nan: bool, **_) -> None:
            super().__init__()
            self.proj, self.output_size, self.nan = torch.nn.Linear(input_size, hidden_size), hidden_size, nan

        def forward(self, x, state=None):
            if not self.nan:
                raise RuntimeError("badcell: a deliberately broken forward")
            return self.proj(x) * float("nan"), state  # (B, T, H) of NaN

    if "badcell" not in MODELS:
        MODELS.register("badcell")(lambda **kw: _Broken(nan=False, **kw))
        MODELS.register("nancell")(lambda **kw: _Broken(nan=True, **kw))


def _bench(argv: list[str]) -> None:
    """`bench ARGS` with the two test cells registered (run in a subprocess by `case`)."""
    _register_test_cells()
    from benchbench.cli import app

    app(argv, prog_name="bench")


CASES: list[tuple[str, str, list[list[str]]]] = [
    # (name, what it shows, commands run in turn in one fresh folder; the last one is reported)
    ("1a-skipped", "every cell skipped", [["run", "--task", "ptb,ptb-char", "--model", "bilstm", "--budget", "smoke"]]),
    ("1b-diverged", "every trial diverged", [["run", "--task", "adding", "--model", "nancell", "--budget", "smoke", "--seeds", "1"]]),
    ("1c-timeout", "search cut short", [["run", "--task", "adding", "--model", "lstm", "--budget", "smoke", "--timeout", "0.001", "--seeds", "1"]]),
    ("1d-leaderboard", "missing folder", [["leaderboard", "--results", "/nonexistent"]]),
    ("1d-compare", "missing folder", [["compare", "--results", "/nonexistent"]]),
    ("1d-report", "missing folder", [["report", "--results", "/nonexistent"]]),
    ("1d-baseline", "missing folder", [["baseline", "save", "--results", "/nonexistent"]]),
    ("1d-check", "missing folder", [["check", "--baseline", "/nonexistent/b.json", "--results", "/nonexistent"]]),
    ("2-downloads", "offline matrix", [["run", "--task", "electricity,uci-pm25", "--model", "lstm,gru", "--budget", "smoke", "--trials", "1", "--seeds", "0"]]),
    ("3-badcell", "a cell raising in forward", [["run", "--task", "adding", "--model", "badcell,lstm", "--budget", "smoke", "--trials", "1", "--seeds", "1"]]),
    ("4-seq-len", "a size that cannot fit", [["run", "--task", "adding", "--model", "lstm", "--budget", "smoke", "--option", "seq_len=100000000"]]),
    ("5-seeds", "identical splits", [["run", "--task", "adding", "--model", "lstm", "--budget", "smoke", "--trials", "1", "--seeds", "0", "--option", "seeds={train=1,val=1,test=1}"]]),
    ("6-train", "train at two budgets", [
        ["train", "--task", "adding", "--model", "lstm", "--budget", "smoke", "--max-epochs", "1"],
        ["train", "--task", "adding", "--model", "lstm", "--budget", "default", "--max-epochs", "1", "--set", "hidden_size=8"],
        ["leaderboard", "--format", "csv"],
    ]),
    ("8-task-example", "--task malformed", [["run", "--task", "a b", "--model", "lstm"]]),
    ("8-long-name", "100,000-character name", [["run", "--task", "x" * 100_000, "--model", "lstm"]]),
    ("8-show-invalid", "show with an invalid name", [
        ["train", "--task", "adding", "--model", "lstm", "--budget", "smoke", "--max-epochs", "1"],
        ["show", "--task", "nope", "--model", "lstm"],
    ]),
    ("8-symlink-loop", "--results a symlink loop", [["run", "--task", "adding", "--model", "lstm", "--results", "loop/results"]]),
    ("8-symlink-self", "--results is a symlink loop", [["run", "--task", "adding", "--model", "lstm", "--results", "loop"]]),
]


def case(name: str, commands: list[list[str]], folder: Path) -> dict:
    columns = "80" if name == "8-80-columns" else "200"
    env = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache"), "COLUMNS": columns, "BENCH_RESULTS": str(folder / "results")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    if name.startswith("8-symlink"):
        (folder / "loop").symlink_to(folder / "loop")
    start = time.perf_counter()
    for argv in commands:
        done = subprocess.run(
            [sys.executable, __file__, "--bench", *argv], cwd=folder, env=env, capture_output=True, text=True, timeout=900
        )
    lines = [ln for ln in (done.stderr + done.stdout).splitlines() if ln.strip()]
    errs = [ln for ln in done.stderr.splitlines() if ln.strip() and "━" not in ln]  # not the progress bars
    first = (errs or lines or [""])[0]
    if commands[-1][:3] == ["leaderboard", "--format", "csv"]:  # what the rows are, not the header
        import csv
        import io

        rows = [r for r in csv.DictReader(io.StringIO(done.stdout)) if r["kind"] == "model"]
        first = f"{len(rows)} family rows: " + "; ".join(f"{r['task']} · {r['budget']} · {r['model']} ({r['trials']} trials)" for r in rows)
    elif commands[-1] == ["leaderboard"]:  # which columns a terminal of env COLUMNS shows
        header = next((ln for ln in done.stdout.splitlines() if " model " in ln), "")
        first = "columns: " + " ¦ ".join(w.strip() for w in header.split("  ") if w.strip())
    cache = folder / "cache"
    empty = [str(p.relative_to(folder)) for p in cache.rglob("*") if p.is_dir() and not any(p.iterdir())] if cache.exists() else []
    results = folder / "results"
    return {
        "rc": done.returncode, "first": first, "stderr_lines": len(errs), "longest": max(map(len, errs), default=0),
        "traceback": "Traceback" in done.stderr, "empty_dirs": empty, "wall": time.perf_counter() - start,
        "leaderboards": sorted(p.name for p in results.glob("leaderboard.*")) if results.exists() else [],
        "stderr": done.stderr, "stdout": done.stdout,
    }  # fmt: skip


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--bench":
        _bench(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated case names")
    parser.add_argument("--full", action="store_true", help="also print each case's stderr")
    args = parser.parse_args()
    wanted = set(args.only.split(",")) if args.only else None
    print("| finding | command | exit | first line | stderr lines (longest) | leaderboard files | left behind |")
    print("|---|---|---|---|---|---|---|")
    for name, what, commands in CASES:
        if wanted is not None and name not in wanted:
            continue
        with tempfile.TemporaryDirectory(prefix=f"outcome-{name}-") as tmp:
            out = case(name, commands, Path(tmp))
        shown = " ; ".join("bench " + shlex.join(c) for c in commands)
        shown = shown if len(shown) < 240 else shown[:120] + "…" + shown[-60:]
        first = out["first"] if len(out["first"]) < 300 else out["first"][:300] + f"… ({len(out['first'])} chars)"
        extra = ("traceback; " if out["traceback"] else "") + (f"empty: {', '.join(out['empty_dirs'])}" if out["empty_dirs"] else "")
        print(
            f"| {name} ({what}) | `{shown}` | {out['rc']} | `{first.replace('|', '¦')}` | {out['stderr_lines']} ({out['longest']}) | "
            f"{', '.join(out['leaderboards']) or '—'} | {extra or '—'} |",
            flush=True,
        )
        if args.full:
            print("```\n" + out["stderr"][-3000:] + "\n" + out["stdout"][-1500:] + "\n```")


if __name__ == "__main__":
    main()
