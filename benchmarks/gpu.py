"""Everything benchbench needs to know about a GPU, measured in one run (benchmarks/gpu.sh wraps it).

First the environment: torch, CUDA and the GPU's name (with --device cuda and no GPU it stops there,
one line, exit 2). Then, section by section, each printed as it ends and written to the JSON file
after every section (a run cut short keeps what it measured). The correctness sections run while
PTB trains in a process of its own beside them; the timings run after it, with the GPU to themselves.

    tests     the suite's tests marked `cuda` (`pytest -m cuda`, 4 processes; all skipped without a GPU)
    equality  every family's outputs, final state and gradients on the device against the CPU in
              float64 (pass: within 1e-6)
    syncs     host synchronisations per time step of the hand-written cells (torch's sync debug mode
              on CUDA; host reads counted on a CPU); target 0
    sweeps    one smoke sweep (`bench run --budget smoke --trials 1 --seeds 0`, lstm) per offline task
    bf16      `--precision bf16-mixed`: finite validation and test figures for every family (adding, smoke)
    ptb       Zaremba et al.'s small LSTM on PTB (`benchmarks/reproduce.py zaremba-small`), started
              first, collected here: wall time and test perplexity (target: test <= 116 within 5
              minutes), or how long it ran before the deadline stopped it; skipped with --quick
    cells     each family's forward + backward as a ratio of nn.LSTM (cuDNN on a GPU) at T=100 B=64
              I=32 and H=128, H=512; the first call (allocation, cuDNN set-up) on its own; nothing
              is compiled or captured (no torch.compile, no CUDA graphs)
    jobs      trials per hour of one adding sweep with --jobs 1, 2, 4, 8, and the GPU's utilisation
              at each (nvidia-smi, sampled every 0.5 s)

    python benchmarks/gpu.py [--device cuda|cpu] [--quick] [--out FILE] [--only SECTION,...] [--jobs 1,2,4,8] [--deadline-s 420]

--device cpu --quick runs the same code on a CPU, with small shapes and budgets, in under 2 minutes
(the test suite runs it). --out defaults to $OUT/gpu.json when $OUT is set.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

# Correctness first, while PTB trains beside them; then the timings, with the GPU to themselves.
SECTIONS = ("tests", "equality", "syncs", "sweeps", "bf16", "ptb", "cells", "jobs")
OFFLINE_TASKS = ("adding", "moving-digits", "ptb", "ptb-char", "sentiment", "uci-pm25", "exchange-rate")  # electricity needs a download
LSTM_TARGET = 1.5  # hand-written cells: at most 1.5x nn.LSTM's forward + backward
PTB_TARGET = 116.0  # test perplexity of zaremba-small
PTB_TARGET_S = 300.0


def _say(line: str) -> None:
    print(line, flush=True)


def environment(device: str) -> dict:
    """torch, CUDA and the GPU, before anything else; SystemExit(2) when CUDA is asked for and absent."""
    import torch

    found = {
        "python": platform.python_version(), "torch": torch.__version__, "cuda_available": torch.cuda.is_available(),
        "torch_cuda": torch.version.cuda, "cpu_count": os.cpu_count(), "device": device,
    }  # fmt: skip
    if device == "cuda":
        if not torch.cuda.is_available():
            print(f"error: --device cuda but torch {torch.__version__} sees no CUDA GPU; use --device cpu to run the checks on the CPU", file=sys.stderr)
            raise SystemExit(2)
        props = torch.cuda.get_device_properties(0)
        found.update(
            gpu=torch.cuda.get_device_name(0), gpu_memory_gib=round(props.total_memory / 2**30, 1),
            multiprocessors=props.multi_processor_count, capability=f"{props.major}.{props.minor}",
            cudnn=torch.backends.cudnn.version(), gpus=torch.cuda.device_count(),
        )  # fmt: skip
        smi = _nvidia_smi("--query-gpu=driver_version", "--format=csv,noheader")
        found["driver"] = smi[0] if smi else None
    for name in ("lightning", "optuna", "optuna-integration", "numpy"):
        try:
            from importlib.metadata import version

            found[name] = version(name)
        except Exception:  # noqa: BLE001
            found[name] = None
    return found


def _nvidia_smi(*args: str) -> list[str] | None:
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        out = subprocess.run(["nvidia-smi", *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip().splitlines() if out.returncode == 0 else None


def cells(device: str, quick: bool, save=None) -> dict:
    from benchbench.device_checks import hand_written, time_forward_backward
    from benchbench.models import MODELS

    shapes = [(10, 8, 4, 16), (10, 8, 4, 32)] if quick else [(100, 64, 32, 128), (100, 64, 32, 512)]
    reps = 2 if quick else 20
    out = {}
    for T, B, I, H in shapes:
        key = f"T={T} B={B} I={I} H={H}"
        rows = {}
        for name in MODELS.names():
            try:
                row = time_forward_backward(name, device, T=T, B=B, I=I, H=H, reps=reps)
                row["hand_written"] = hand_written(name)
                if row["hand_written"]:
                    row["within_target"] = row["ratio"] <= LSTM_TARGET
            except Exception as err:  # noqa: BLE001 - a family that cannot run at this shape is reported
                row = {"error": f"{type(err).__name__}: {err}".splitlines()[0]}
            rows[name] = row
            _say(f"  {key} {name:<10} " + (
                f"{row['ms']:8.2f} ms  nn.LSTM {row['lstm_ms']:7.2f} ms  ratio {row['ratio']:5.2f}  first call {row['first_call_ms']:7.0f} ms"
                if "ratio" in row else row["error"]
            ))  # fmt: skip
        out[key] = rows
        if save is not None:
            save(out)
    out["compile_or_capture"] = "none: no torch.compile and no CUDA graphs; the first call's time is reported on its own"
    return out


def equality(device: str, quick: bool) -> dict:
    from benchbench.device_checks import compare_devices
    from benchbench.models import MODELS

    size = {"T": 6, "B": 3, "I": 4, "H": 8} if quick else {"T": 50, "B": 8, "I": 8, "H": 32}
    out = {"shape": size, "tolerance": 1e-6}
    for name in MODELS.names():
        try:
            found = compare_devices(name, device, **size)
            found["equal"] = found["max_abs_diff"] <= 1e-6 and found["max_rel_diff"] <= 1e-6
        except Exception as err:  # noqa: BLE001
            found = {"error": f"{type(err).__name__}: {err}".splitlines()[0], "equal": False}
        out[name] = found
        _say(f"  {name:<10} " + (f"max |diff| {found['max_abs_diff']:.2e}  relative {found['max_rel_diff']:.2e}  "
                                 f"{'equal' if found['equal'] else 'DIFFERENT'}" if "max_abs_diff" in found else found["error"]))  # fmt: skip
    out["all_equal"] = all(v["equal"] for k, v in out.items() if isinstance(v, dict) and "equal" in v)
    return out


def syncs(device: str, quick: bool) -> dict:
    from benchbench.device_checks import hand_written_families, host_syncs_per_step

    out = {"method": "torch.cuda.set_sync_debug_mode + host reads" if device == "cuda" else "host reads (.item, .cpu, truth value, ...)"}
    for name in hand_written_families():
        try:
            out[name] = host_syncs_per_step(name, device, B=16 if not quick else 4, I=8, H=32 if not quick else 8)
        except Exception as err:  # noqa: BLE001
            out[name] = f"{type(err).__name__}: {err}".splitlines()[0]
        _say(f"  {name:<10} {out[name]} per step")
    out["all_zero"] = all(v == 0 for k, v in out.items() if k != "method")
    return out


def _trials(results: Path, study: str) -> list:
    import optuna

    from benchbench.store.storage import StorageSpec

    return optuna.load_study(study_name=study, storage=StorageSpec(results, None).open()).get_trials(deepcopy=False)


def sweeps(device: str, quick: bool) -> dict:
    from benchbench.sweep.config import SweepConfig
    from benchbench.sweep.run import run_sweep

    out = {}
    for task in OFFLINE_TASKS:
        with tempfile.TemporaryDirectory(prefix="gpu-sweep-") as tmp:
            start = time.perf_counter()
            try:
                config = SweepConfig(task=task, model="lstm", budget="smoke", results=Path(tmp), trials=1, seeds=0,
                                     max_epochs=1 if quick else None)  # fmt: skip
                names = run_sweep(config)
                trials = [t for name in names.values() for t in _trials(Path(tmp), name)]
                done = [t for t in trials if t.state.name == "COMPLETE"]
                row = {
                    "wall_s": time.perf_counter() - start, "trials": len(trials), "complete": len(done),
                    "devices": sorted({t.user_attrs.get("device", "?") for t in trials}),
                    "test": [t.user_attrs["test"] for t in done],
                }  # fmt: skip
                row["ok"] = bool(done) and all(math.isfinite(v) for v in row["test"]) and all(d.startswith(device) for d in row["devices"])
            except Exception as err:  # noqa: BLE001
                row = {"error": f"{type(err).__name__}: {err}".splitlines()[0], "ok": False, "wall_s": time.perf_counter() - start}
        out[task] = row
        _say(f"  {task:<14} " + (f"{row['complete']}/{row['trials']} complete on {','.join(row['devices'])} in {row['wall_s']:.1f} s"
                                 if "error" not in row else row["error"]))  # fmt: skip
    return out


def bf16(device: str, quick: bool) -> dict:
    from benchbench.models import MODELS
    from benchbench.sweep.objective import trial_data
    from benchbench.tasks import load_task
    from benchbench.training import fit_and_test

    task = load_task("adding")
    data = trial_data(task, "smoke", {})
    out = {}
    for name in MODELS.names():
        space = task.search_space(name, "smoke")
        hparams = {k: p.centre() for k, p in space.items()}
        start = time.perf_counter()
        try:
            r = fit_and_test(task, name, hparams, data=data, max_epochs=1 if quick else 2, seed=0, precision="bf16-mixed")
            row = {"val": r.val, "test": r.test, "device": r.device, "wall_s": time.perf_counter() - start}
            row["finite"] = math.isfinite(r.val) and math.isfinite(r.test)
        except Exception as err:  # noqa: BLE001
            row = {"error": f"{type(err).__name__}: {err}".splitlines()[0], "finite": False}
        out[name] = row
        _say(f"  {name:<10} " + (f"val {row['val']:.4g} test {row['test']:.4g} on {row['device']}" if "error" not in row else row["error"]))
    out["all_finite"] = all(v["finite"] for v in out.values())
    return out


class _Utilisation:
    """GPU utilisation and memory sampled with nvidia-smi every `every` seconds in a thread."""

    def __init__(self, every: float = 0.5) -> None:
        self.every, self.samples, self._stop = every, [], threading.Event()
        self.available = shutil.which("nvidia-smi") is not None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            lines = _nvidia_smi("--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits")
            if lines:
                util, memory = (float(v) for v in lines[0].split(","))
                self.samples.append((util, memory))
            self._stop.wait(self.every)

    def __enter__(self) -> _Utilisation:
        if self.available:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self.available:
            self._thread.join()

    def summary(self) -> dict:
        if not self.samples:
            return {"gpu_util_mean": None, "gpu_util_max": None, "gpu_memory_max_mib": None,
                    "note": "nvidia-smi not found" if not self.available else "no samples"}  # fmt: skip
        utils = [u for u, _ in self.samples]
        return {"gpu_util_mean": statistics.mean(utils), "gpu_util_max": max(utils),
                "gpu_memory_max_mib": max(m for _, m in self.samples), "samples": len(self.samples)}  # fmt: skip


def jobs(device: str, quick: bool, job_counts: list[int], save=None) -> dict:
    """One adding sweep per --jobs N, in a fresh results folder each: no pruning, no final evaluation,
    at most `window` seconds of claims (the trials started by then finish); trials per hour counts
    the complete trials over the whole wall time, start-up of the worker processes included."""
    from benchbench.sweep.config import SweepConfig
    from benchbench.sweep.run import run_sweep

    budget, epochs, window = ("smoke", 1, None) if quick else ("default", 2, 20.0)
    out = {
        "budget": budget, "max_epochs": epochs, "claim_window_s": window,
        "note": "--jobs 1 trains in this already started process, as `bench run --jobs 1` does in its own; "
        "--jobs N > 1 includes starting N worker processes (imports, data, CUDA context), as bench run's does",
    }  # fmt: skip
    for n in job_counts:
        planned = 2 * n if quick else 8 * n
        with tempfile.TemporaryDirectory(prefix="gpu-jobs-") as tmp:
            config = SweepConfig(task="adding", model="lstm", budget=budget, trials=planned, max_epochs=epochs, seeds=0,
                                 pruner="none", jobs=n, timeout=window, results=Path(tmp))  # fmt: skip
            start = time.perf_counter()
            try:
                with _Utilisation() as util:
                    names = run_sweep(config)
                wall = time.perf_counter() - start
                trials = _trials(Path(tmp), names["search"])
                done = [t for t in trials if t.state.name == "COMPLETE"]
                row = {
                    "jobs": n, "wall_s": wall, "complete": len(done), "trials_per_hour": len(done) / wall * 3600,
                    "mean_trial_s": statistics.mean(t.user_attrs["wall_time"] for t in done) if done else None,
                    "devices": sorted({t.user_attrs.get("device", "?") for t in trials}),
                    # one process per worker for all its trials: one CUDA context each, made for its first trial
                    "worker_processes": len({t.user_attrs["worker"]["pid"] for t in trials if "worker" in t.user_attrs}),
                    **util.summary(),
                }  # fmt: skip
            except Exception as err:  # noqa: BLE001
                row = {"jobs": n, "error": f"{type(err).__name__}: {err}".splitlines()[0]}
        out[f"jobs={n}"] = row
        if save is not None:
            save(out)  # each setting's figures survive a run stopped during the next one
        _say(f"  --jobs {n}: " + (f"{row['complete']} trials in {row['wall_s']:.1f} s = {row['trials_per_hour']:.0f} trials/hour, "
                                  f"GPU util mean {row['gpu_util_mean']} max {row['gpu_util_max']}" if "error" not in row else row["error"]))  # fmt: skip
    rates = {k: v["trials_per_hour"] for k, v in out.items() if isinstance(v, dict) and "trials_per_hour" in v}
    out["best"] = max(rates, key=rates.get) if rates else None
    return out


def tests(device: str, quick: bool) -> dict:
    """The suite's `cuda` tests, in 4 processes (correctness only: nothing here is timed)."""
    root = Path(__file__).resolve().parents[1]
    command = [sys.executable, "-m", "pytest", "-m", "cuda", "-q", "-p", "no:cacheprovider", "tests/test_device.py"]
    if not quick:
        command[3:3] = ["-n", "4"]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=300)
    summary = (done.stdout.strip().splitlines() or ["?"])[-1]
    failed = [line for line in done.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    _say(f"  {summary}")
    for line in failed:
        _say(f"  {line}")
    return {"exit_code": done.returncode, "summary": summary, "failed": failed, "passed": done.returncode in (0, 5)}


def _last_json(text: str) -> dict:
    """The last top-level JSON object a program printed with indent=2, whatever came before it (a
    library's banner on stdout must not cost the figures)."""
    lines = text.splitlines()
    start = max(i for i, line in enumerate(lines) if line == "{")
    return json.loads("\n".join(lines[start:]))


class _PTB:
    """Zaremba's small LSTM on PTB in a process of its own, started at once and collected later, so
    that it trains while the correctness sections run; stopped if it runs past its deadline."""

    def __init__(self) -> None:
        script = Path(__file__).with_name("reproduce.py")
        self.tmp = tempfile.TemporaryDirectory(prefix="gpu-ptb-")
        command = [sys.executable, str(script), "zaremba-small", "--json", "--results", self.tmp.name]
        self.start = time.perf_counter()
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def collect(self, until: float) -> dict:
        """Wait until `until` (a perf_counter time) at most; the figures, or why there are none."""
        try:
            stdout, stderr = self.process.communicate(timeout=max(1.0, until - time.perf_counter()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            ran = time.perf_counter() - self.start
            self.tmp.cleanup()
            _say(f"  not finished after {ran:.0f} s: stopped at the deadline")
            return {"finished": False, "ran_s": ran, "note": f"not finished after {ran:.0f} s (stopped at the deadline)"}
        wall = time.perf_counter() - self.start
        self.tmp.cleanup()
        if self.process.returncode != 0:
            error = (stderr.strip().splitlines() or ["?"])[-1]
            _say(f"  failed after {wall:.0f} s: {error}")
            return {"finished": False, "error": error, "wall_s": wall}
        figures = _last_json(stdout)
        row = {"finished": True, "wall_s": wall, "train_wall_s": figures["wall_time_s"], "val_ppl": figures["val"],
               "test_ppl": figures["test"], "published_test_ppl": figures["published_test"], "device": figures["device"],
               "epochs": figures["epochs"], "alongside": "the correctness sections (tests, equality, syncs, sweeps, bf16)"}  # fmt: skip
        row["reached_target"] = row["test_ppl"] <= PTB_TARGET
        row["within_time_target"] = wall <= PTB_TARGET_S
        _say(f"  test perplexity {row['test_ppl']:.2f} (target <= {PTB_TARGET}), {wall:.0f} s wall on {row['device']}")
        return row


def _write(path: Path | None, figures: dict) -> None:
    if path is None:
        return
    from benchbench.atomic import write_text_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(figures, indent=2, default=str) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--quick", action="store_true", help="small shapes and budgets, no PTB (the suite's CPU run)")
    default_out = Path(os.environ["OUT"]) / "gpu.json" if os.environ.get("OUT") else None
    parser.add_argument("--out", type=Path, default=default_out, help="JSON file of every figure (default: $OUT/gpu.json when $OUT is set)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections, from: {', '.join(SECTIONS)}")
    parser.add_argument("--jobs", default="1,2,4,8", help="the --jobs settings of the jobs section")
    parser.add_argument("--deadline-s", type=float, default=420.0, help="seconds from the start by which the timings are done: PTB is stopped in time for them")
    args = parser.parse_args()
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        parser.exit(2, f"error: unknown section {unknown[0]!r}; choose from: {', '.join(SECTIONS)}\n")
    if args.quick and "ptb" in sections:
        sections.remove("ptb")
    sections.sort(key=SECTIONS.index)
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before torch: the same code, on the CPU, workers included

    began = time.perf_counter()
    figures: dict = {"command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]), "quick": args.quick, "sections": sections}
    figures["environment"] = environment(args.device)
    env = figures["environment"]
    _say(f"torch {env['torch']} (CUDA {env['torch_cuda']}), {env.get('gpu', 'no GPU')}, device {args.device}"
         + (f", driver {env.get('driver')}, cuDNN {env.get('cudnn')}" if args.device == "cuda" else ""))  # fmt: skip
    _write(args.out, figures)

    import torch

    from benchbench.training import quiet_lightning

    torch.set_num_threads(1 if args.quick else max(1, (os.cpu_count() or 1) // 2))
    quiet_lightning()
    job_counts = [int(n) for n in args.jobs.split(",")]
    if args.quick:
        job_counts = [n for n in job_counts if n <= 2] or [1]
    ptb_run = _PTB() if "ptb" in sections else None
    # what the timings after PTB need: about 25 s of cells and 40 s per --jobs setting
    timings = (25.0 if "cells" in sections else 0.0) + (40.0 * len(job_counts) if "jobs" in sections else 0.0)
    for section in sections:
        _say(f"{section}:")
        start = time.perf_counter()
        try:
            def save(partial: dict, section: str = section) -> None:
                _write(args.out, {**figures, section: {**partial, "partial": True}})

            if section == "jobs":
                result = jobs(args.device, args.quick, job_counts, save)
            elif section == "cells":
                result = cells(args.device, args.quick, save)
            elif section == "ptb":
                result = ptb_run.collect(began + args.deadline_s - timings)
            else:
                result = globals()[section](args.device, args.quick)
        except Exception as err:  # noqa: BLE001 - one section failing must not cost the others' figures
            traceback.print_exc()
            result = {"error": f"{type(err).__name__}: {err}".splitlines()[0]}
        result["section_wall_s"] = time.perf_counter() - start
        figures[section] = result
        _write(args.out, figures)
        _say(f"  ({section}: {result['section_wall_s']:.1f} s)")
    figures["wall_s"] = time.perf_counter() - began
    _write(args.out, figures)
    _say(f"done in {figures['wall_s']:.0f} s" + (f"; figures in {args.out}" if args.out else ""))


if __name__ == "__main__":
    main()
