"""Sweeps: a hyperparameter search per task x family x budget, then a final evaluation of its best
configurations with fresh seeds. Both are Optuna studies in one storage (see docs/results.md).

    bench run  ->  search study `task/family/budget`   (sampler + pruner, `planned` trials)
               ->  eval study   `task/family/budget/eval` (best K configurations x N fresh seeds)

A study plans a number of trials; running the same `bench run` again continues it: finished trials
are kept, trials a killed worker left behind are failed and retried (see workers.py), and only what
is missing runs. `--jobs N` runs N worker processes against the storage; `bench worker` joins a
study from any machine that reaches the storage: everything a worker needs is in the study's user
attributes.

Seeds: the sampler is seeded with seed + the trials already in the study (a continued study gets a
fresh stream, so no configuration repeats); search trial n trains with seed + n; the final
evaluation trains with seed + EVAL_SEED_OFFSET + i for i < N, seeds no search trial used.

`train_fixed` trains one fixed configuration (a task preset and/or `key=value` overrides) without
search and records it as a trial of the study `task/family/fixed`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import shlex
import time
import tomllib
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchbench.errors import BenchError
from benchbench.results import BASELINES, EVAL, FIXED, StorageSpec
from benchbench.tasks import Task, load_task

if TYPE_CHECKING:
    import optuna

__all__ = [
    "EVAL_SEED_OFFSET", "PRUNERS", "SAMPLERS", "FixedConfig", "SweepConfig", "expand_matrix", "parse_overrides",
    "provenance", "run_matrix", "run_sweep", "run_worker", "train_fixed", "validate",
]  # fmt: skip

EVAL_SEED_OFFSET = 10_000  # evaluation seeds: seed + EVAL_SEED_OFFSET + i
SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "hyperband", "none")


@dataclass(frozen=True)
class SweepConfig:
    task: str  # task spec name
    model: str  # family name
    budget: str = "default"  # a budget of the task spec
    trials: int | None = None  # trials the search study plans in all; None takes the budget's
    max_epochs: int | None = None  # epochs per trial; None takes the budget's (or the preset's)
    timeout: float | None = None  # start no new search trial after this many seconds
    seed: int = 0  # base seed of sampler and trials
    results: Path = Path("results")  # results folder (journal storage, logs, leaderboards)
    options: tuple[tuple[str, Any], ...] = ()  # dataset options overriding the spec (--option key=value)
    sampler: str = "tpe"  # tpe, random or grid
    pruner: str = "median"  # median, hyperband or none
    top_k: int | None = None  # configurations retrained after the search; None takes the budget's
    seeds: int | None = None  # fresh seeds per configuration; None takes the budget's; 0 skips it
    storage: str | None = None  # an RDB URL shared by many machines; None: the results folder's journal
    jobs: int = 1  # worker processes on this machine; 0 only plans the study for `bench worker`s
    threads: int = 1  # torch intra-op threads per worker process; 0: torch's choice split over jobs (cores / jobs)

    @property
    def store(self) -> StorageSpec:
        return StorageSpec(self.results, self.storage)


@dataclass(frozen=True)
class FixedConfig(SweepConfig):
    preset: str | None = None  # a preset of the task spec
    overrides: tuple[tuple[str, Any], ...] = ()  # (key, value) pairs from --set, applied last


def validate(config: SweepConfig) -> Task:
    """Check everything a user typed before anything is written; BenchError on the first problem."""
    from benchbench.models import is_bidirectional

    task = load_task(config.task)
    bidirectional = is_bidirectional(config.model)  # raises on an unknown family, listing the choices
    if task.causal and bidirectional:
        raise BenchError(
            f"task {task.name!r} predicts each step from the past, so bidirectional model {config.model!r} "
            "would see what it predicts; choose a unidirectional family"
        )
    task.budget(config.budget)
    for name in ("trials", "max_epochs", "timeout", "top_k"):
        value = getattr(config, name)
        if value is not None and value <= 0:
            raise BenchError(f"--{name.replace('_', '-')} must be positive, got {value}")
    for name in ("seeds", "jobs", "threads"):
        value = getattr(config, name)
        if value is not None and value < 0:
            raise BenchError(f"--{name} must be 0 or more, got {value}")
    if config.sampler not in SAMPLERS:
        raise BenchError(f"unknown sampler {config.sampler!r}; choose one of: {', '.join(SAMPLERS)}")
    if config.pruner not in PRUNERS:
        raise BenchError(f"unknown pruner {config.pruner!r}; choose one of: {', '.join(PRUNERS)}")
    config.store  # validates the storage URL
    if isinstance(config, FixedConfig) and config.preset is not None:
        task.preset(config.preset)
    return task


def parse_overrides(pairs: list[str], *, flag: str = "--set") -> tuple[tuple[str, Any], ...]:
    """`key=value` strings; values read as TOML literals (1, 0.5, true, "sgd"), else kept as text."""
    out = []
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise BenchError(f"{flag} takes key=value, got {pair!r}")
        try:
            value = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text
        out.append((key.strip(), value))
    return tuple(out)


def _names(text: str, known: list[str], what: str) -> list[str]:
    """`all`, one name or a comma-separated list; unknown names are refused with the choices."""
    if text.strip() == "all":
        return list(known)
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise BenchError(f"--{what} needs a name, a comma-separated list or 'all'")
    for name in names:
        if name not in known:
            raise BenchError(f"unknown {what} {name!r}; choose one of: {', '.join(known)} (a comma-separated list, or all)")
    return list(dict.fromkeys(names))


def expand_matrix(tasks: str, models: str) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """(cells to run, cells skipped with the reason) for `--task` and `--model` values that may be
    lists or `all`. A bidirectional family on a causal task is skipped in a matrix; asked for alone,
    it is refused (by `validate`)."""
    from benchbench.models import MODELS, is_bidirectional
    from benchbench.tasks import task_names

    task_list, model_list = _names(tasks, task_names(), "task"), _names(models, MODELS.names(), "model")
    cells, skipped = [], []
    for task in task_list:
        for model in model_list:
            if len(task_list) * len(model_list) > 1 and load_task(task).causal and is_bidirectional(model):
                skipped.append((task, model, "bidirectional family on a causal task"))
            else:
                cells.append((task, model))
    return cells, skipped


# --- provenance -------------------------------------------------------------------------------


@functools.cache
def provenance() -> dict[str, Any]:
    """Package versions, git commit (when the package runs from a checkout), host and platform;
    computed once per process."""
    import platform
    import socket
    import subprocess
    from importlib.metadata import PackageNotFoundError, version

    def ver(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    git = None
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        if head.returncode == 0:
            dirty = subprocess.run(
                ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                capture_output=True, text=True, timeout=5,
            ).stdout.strip()  # fmt: skip
            git = head.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.TimeoutExpired):
        pass
    return {
        "benchbench": ver("benchbench"), "python": platform.python_version(), "torch": ver("torch"),
        "lightning": ver("lightning") or ver("pytorch-lightning"), "optuna": ver("optuna"),
        "git": git, "host": socket.gethostname(), "platform": platform.platform(),
    }  # fmt: skip


def rerun_command(attrs: dict[str, Any], hparams: dict[str, Any], seed: int, max_epochs: int) -> str:
    """The `bench train` command line that trains one configuration alone, as a trial did."""
    words = ["bench", "train", "--task", attrs["task"], "--model", attrs["model"], "--budget", attrs["budget"]]
    for key, value in sorted((attrs.get("task_options") or {}).items()):
        words += ["--option", f"{key}={_literal(value)}"]
    words += ["--seed", str(seed), "--max-epochs", str(max_epochs)]
    for key, value in hparams.items():
        if value is not None:
            words += ["--set", f"{key}={_literal(value)}"]
    return shlex.join(words)


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


# --- studies ----------------------------------------------------------------------------------


def _sampler(name: str, space: dict, seed: int):
    import optuna

    from benchbench.space import grid

    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":

        class PlannedGrid(optuna.samplers.GridSampler):
            """The grid sampler without its `study.stop()` once every point is visited (that call is
            meant for `optimize`): a sweep caps its plan at the grid's size and stops by the plan."""

            def after_trial(self, study, trial, state, values) -> None:
                pass

        return PlannedGrid(grid(space), seed=seed)
    # constant_liar: parallel workers see each other's running trials and do not propose the same point.
    return optuna.samplers.TPESampler(seed=seed, constant_liar=True)


def _pruner(name: str, max_epochs: int):
    import optuna

    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs, reduction_factor=3)
    if name == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=min(3, max_epochs - 1))


def _study_attrs(task: Task, config: SweepConfig, kind: str, budget_name: str) -> dict[str, Any]:
    """What every reader and every worker needs, so that neither needs the command line."""
    return {
        "kind": kind,
        "task": task.name,
        "task_options": dict(config.options),
        "model": config.model,
        "budget": budget_name,
        "metric": task.metric,
        "direction": task.direction,
        "units": task.units,
        "extra_metrics": list(task.extra_metrics),
        "tolerance": task.tolerance,
        "seed": config.seed,
    }


def _create_study(store: StorageSpec, name: str, direction: str, attrs: dict[str, Any]):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=store.open(), study_name=name, direction=direction, load_if_exists=True)
    for key, value in attrs.items():
        if study.user_attrs.get(key) != value:
            study.set_user_attr(key, value)
    return study


def _record(result) -> dict[str, Any]:
    """A RunResult as trial user attributes (extra test metrics flattened to test_<name>)."""
    attrs = dataclasses.asdict(result)
    attrs.update({f"test_{name}": value for name, value in attrs.pop("test_extra").items()})
    return attrs


# --- the objective: one trial, search or evaluation --------------------------------------------


class _Objective:
    """Trains the trial's configuration; built from the study's user attributes alone, so any worker
    on any machine builds the same one."""

    def __init__(self, study: optuna.Study, store: StorageSpec, progress=None) -> None:
        self.attrs = dict(study.user_attrs)
        self.kind = self.attrs["kind"]
        self.task = load_task(self.attrs["task"])
        self.model = self.attrs["model"]
        self.budget = self.attrs["budget"]
        self.space = self.task.search_space(self.model, self.budget)
        self.max_epochs = int(self.attrs["max_epochs"])
        self.study_name = study.study_name
        self.store = store
        self.progress = progress
        self.data = _data(self.task, self.budget, self.attrs.get("task_options") or {})  # once per worker

    def __call__(self, trial: optuna.Trial) -> float:
        from benchbench.space import suggest
        from benchbench.training import fit_and_test

        monitor = f"val_{self.task.metric}"
        callbacks = []
        if self.kind == EVAL:
            hparams = dict(trial.user_attrs["hparams"])  # the planned configuration, as it trained
            seed = int(trial.user_attrs["seed"])
        else:
            from optuna_integration import PyTorchLightningPruningCallback

            hparams = suggest(trial, self.space)
            seed = int(trial.user_attrs.get("seed", self.attrs["seed"] + trial.number))  # a retry keeps its seed
            callbacks.append(PyTorchLightningPruningCallback(trial, monitor=monitor))
        trial.set_user_attr("seed", seed)
        trial.set_user_attr("hparams", hparams)
        trial.set_user_attr("provenance", provenance())
        trial.set_user_attr("command", rerun_command(self.attrs, hparams, seed, self.max_epochs))
        if self.progress is not None:
            self.progress.trial_started(trial.number)
            callbacks.append(self.progress.callback(monitor))
        start = time.perf_counter()
        try:
            result = fit_and_test(
                self.task, self.model, hparams, data=self.data, max_epochs=self.max_epochs, seed=seed,
                callbacks=callbacks, log_dir=self.store.results / "logs", log_name=self.study_name,
                log_version=f"trial_{trial.number}",
            )  # fmt: skip
        except BaseException:  # pruned, diverged or broken: the record still says where and how long
            import torch

            trial.set_user_attr("wall_time", time.perf_counter() - start)
            trial.set_user_attr("device", "cuda:0" if torch.cuda.is_available() else "cpu")
            raise
        for key, value in _record(result).items():
            trial.set_user_attr(key, value)
        return result.val


_DATA: dict[str, Any] = {}  # the last splits loaded in this process: a sweep reads its data once


def _data(task: Task, budget: str, options: dict[str, Any]):
    key = json.dumps([task.name, budget, options], sort_keys=True, default=str)
    if key not in _DATA:
        _DATA.clear()
        _DATA[key] = task.load_data(budget, options)
    return _DATA[key]


def _load(store: StorageSpec, name: str, worker_index: int = 0) -> optuna.Study:
    """A study with the sampler and pruner its attributes name; each worker gets its own sampler seed."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = store.open()
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = sorted(s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False))
        raise BenchError(f"no study {name!r} in {store.label}; studies there: {', '.join(names) or 'none'}") from None
    attrs = study.user_attrs
    if attrs.get("kind") == EVAL:
        study.sampler = optuna.samplers.RandomSampler()  # never asked: every configuration is planned
        return study
    task = load_task(attrs["task"])
    space = task.search_space(attrs["model"], attrs["budget"])
    seed = attrs["seed"] + len(study.trials) + 10_007 * worker_index
    study.sampler = _sampler(attrs.get("sampler", "tpe"), space, seed)
    study.pruner = _pruner(attrs.get("pruner", "median"), int(attrs["max_epochs"]))
    return study


def _work(store: StorageSpec, name: str, worker_index: int, *, timeout: float | None, progress=None) -> int:
    """One worker's loop on study `name`: claims and runs trials until the study's plan is done."""
    from benchbench.workers import work

    study = _load(store, name, worker_index)
    objective = _Objective(study, store, progress)
    return work(
        study, objective, planned=int(study.user_attrs["planned"]), results_dir=store.results, timeout=timeout,
        on_trial_done=progress.trial_done if progress is not None else None,
    )  # fmt: skip


def _worker_process(store: StorageSpec, name: str, index: int, timeout: float | None, threads: int, device: str | None) -> None:
    """Entry point of a `--jobs` worker process (spawned: a fresh interpreter, no inherited torch state)."""
    if device is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = device  # pin this worker to one GPU; several may share one
    import torch

    torch.set_num_threads(threads)
    _work(store, name, index, timeout=timeout)


def _gpu_list() -> list[str]:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [d for d in visible.split(",") if d.strip()]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def _threads(threads: int, jobs: int) -> int:
    """Intra-op threads of each worker. One by default: a step of these families is a chain of small
    kernels (a (B, 4H) matmul, a few elementwise ops) that gain little from a second thread, and
    OpenMP's threads spin-wait at every kernel, so when a core they need is busy (another worker,
    another program) each kernel waits for a time slice: on 2 cores with one other busy process a
    small model's training loop ran 9x slower with two threads than with one. Spare cores are better
    used by `--jobs`. 0 restores torch's choice, the cores split over the jobs."""
    return threads if threads > 0 else max(1, (os.cpu_count() or 1) // jobs)


def _run_workers(store: StorageSpec, name: str, jobs: int, *, threads: int, timeout: float | None, progress=None) -> None:
    """Run the study's plan with `jobs` workers: in this process for one, else in spawned processes
    (worker i on GPU i mod the GPU count when there are GPUs), while this process shows progress.
    Each worker runs `_threads(threads, jobs)` intra-op threads."""
    threads = _threads(threads, jobs)
    if jobs == 1:
        import torch

        torch.set_num_threads(threads)
        _work(store, name, 0, timeout=timeout, progress=progress)
        return
    import multiprocessing

    gpus = _gpu_list()
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(
            target=_worker_process, args=(store, name, i, timeout, threads, gpus[i % len(gpus)] if gpus else None), daemon=False
        )
        for i in range(jobs)
    ]  # fmt: skip
    for worker in workers:
        worker.start()
    try:
        while any(w.is_alive() for w in workers):
            if progress is not None:
                progress.poll(store, name)
            time.sleep(1.0)
    except KeyboardInterrupt:
        for worker in workers:
            worker.terminate()
        raise
    for worker in workers:
        worker.join()
    if progress is not None:
        progress.poll(store, name)
    failed = [w.exitcode for w in workers if w.exitcode != 0]
    if failed:
        raise RuntimeError(f"{len(failed)} of {jobs} workers of {name} exited with codes {failed}; see their output above")


# --- planning ---------------------------------------------------------------------------------


def _plan_search(task: Task, config: SweepConfig) -> tuple[optuna.Study, int, int]:
    """Create or update the search study's plan; returns (the study, planned trials, max_epochs)."""
    from benchbench.results import study_name
    from benchbench.space import grid

    budget = task.budget(config.budget)
    planned = config.trials or budget.trials
    max_epochs = config.max_epochs or budget.max_epochs
    if config.sampler == "grid":
        size = 1
        for values in grid(task.search_space(config.model, config.budget)).values():
            size *= len(values)
        planned = min(planned, size)  # every grid point once
    attrs = _study_attrs(task, config, "search", config.budget)
    attrs.update(
        sampler=config.sampler, pruner=config.pruner, max_epochs=max_epochs, planned=planned,
        top_k=config.top_k or budget.top_k, eval_seeds=budget.seeds if config.seeds is None else config.seeds,
    )  # fmt: skip
    name = study_name(task.name, config.model, config.budget, dict(config.options))
    study = _create_study(config.store, name, task.direction, attrs)
    done = _count(study)
    if done > planned:  # a study planned bigger before keeps its trials; the plan never shrinks them
        study.set_user_attr("planned", done)
        planned = done
    return study, planned, max_epochs


def _count(study) -> int:
    from benchbench.results import counted_trials

    return len(counted_trials(study.get_trials(deepcopy=False)))


def _plan_evaluation(store: StorageSpec, search: optuna.Study) -> tuple[optuna.Study, int]:
    """Queue the final evaluation: the best `top_k` distinct configurations of the search, each with
    `eval_seeds` fresh seeds; only (configuration, seed) pairs not yet queued, running or done are
    added. Returns (the eval study, trials it plans)."""
    import optuna
    from optuna.trial import TrialState

    from benchbench.results import counted_trials, eval_study_name, ranked_trials
    from benchbench.workers import claim_lock

    attrs = search.user_attrs
    k, n = int(attrs["top_k"]), int(attrs["eval_seeds"])
    chosen, seen = [], set()
    for trial in ranked_trials(counted_trials(search.get_trials(deepcopy=False)), attrs["direction"]):
        key = json.dumps(trial.user_attrs.get("hparams", trial.params), sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            chosen.append(trial)
        if len(chosen) == k:
            break
    name = eval_study_name(search.study_name)
    eval_attrs = {**{key: attrs[key] for key in attrs if key not in ("sampler", "pruner", "planned", "top_k", "eval_seeds")}}
    eval_attrs.update(kind=EVAL, search_study=search.study_name, ranking=[t.number for t in chosen])
    study = _create_study(store, name, attrs["direction"], eval_attrs)
    with claim_lock(study, store.results):
        have = {
            (t.user_attrs.get("source_trial"), t.user_attrs.get("seed"))
            for t in counted_trials(study.get_trials(deepcopy=False))
        }
        for rank, source in enumerate(chosen, start=1):
            for i in range(n):
                seed = int(attrs["seed"]) + EVAL_SEED_OFFSET + i
                if (source.number, seed) in have:
                    continue
                study.add_trial(
                    optuna.trial.create_trial(
                        state=TrialState.WAITING, params=source.params, distributions=source.distributions,
                        user_attrs={"seed": seed, "source_trial": source.number, "rank": rank,
                                    "hparams": source.user_attrs.get("hparams", source.params)},
                    )
                )  # fmt: skip
        planned = len(counted_trials(study.get_trials(deepcopy=False)))
        study.set_user_attr("planned", planned)
    return study, planned


# --- naive baselines -------------------------------------------------------------------------



def record_baselines(store: StorageSpec, task: Task, budget: str, options: dict[str, Any], data, *, label: str | None = None):
    """Compute the task's naive baselines on `data` (fitted on train, scored on val and test through
    the metric code) and store each as a complete trial of the study `task/baselines/<label>` (label:
    the budget, or `fixed` for `bench train`). A baseline already stored there is not computed again."""
    import optuna

    from benchbench.baselines import evaluate_baseline
    from benchbench.heads import HEADS
    from benchbench.results import study_name

    if not task.baselines:
        return None
    label = label or budget
    attrs = {**_study_attrs(task, SweepConfig(task.name, BASELINES, options=tuple(sorted(options.items()))), "baseline", label)}
    attrs.update(model=BASELINES, data_budget=budget)
    study = _create_study(store, study_name(task.name, BASELINES, label, options), task.direction, attrs)
    have = {t.user_attrs.get("baseline") for t in study.get_trials(deepcopy=False)}
    regression = HEADS.get(task.output).regression
    for spec in task.baselines:
        if spec.label in have:
            continue
        result = evaluate_baseline(spec, data, metric=task.metric, extra_metrics=task.extra_metrics, regression=regression)
        study.add_trial(
            optuna.trial.create_trial(
                value=result.val,
                user_attrs={
                    "baseline": spec.label, "name": spec.name, "options": dict(spec.options), "val": result.val,
                    "test": result.test, **{f"test_{k}": v for k, v in result.test_extra.items()},
                    "wall_time": result.wall_time, "provenance": provenance(),
                },
            )
        )  # fmt: skip
    return study


# --- progress ---------------------------------------------------------------------------------


class _Progress:
    """A rich progress display: one bar for the study's trials, one line for the running trial's
    epochs (in-process workers), and a bar over the cells of a matrix."""

    def __init__(self, total_cells: int = 1) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        # Descriptions are plain text: a task label like `electricity[horizon=24]` is not markup.
        self.bar = Progress(
            TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
        )
        self.cells = self.bar.add_task("cells", total=total_cells, visible=total_cells > 1)
        self.trials = self.bar.add_task("", total=1, visible=False)
        self.epochs = self.bar.add_task("  trial", total=1, visible=False)
        self.title = ""
        self.label = "  trial"

    def study(self, name: str, planned: int, done: int, max_epochs: int | None) -> None:
        self.title = name
        self.bar.reset(self.trials, total=planned, completed=done, description=name, visible=True)
        self.bar.reset(self.epochs, total=max_epochs or 1, visible=max_epochs is not None)

    def cell_done(self) -> None:
        self.bar.advance(self.cells)

    def trial_started(self, number: int) -> None:
        self.label = f"  trial {number}"
        self.bar.reset(self.epochs, description=self.label)

    def epoch_done(self, epoch: int, value: float | None) -> None:
        shown = "" if value is None else f" · val {value:.4g}"
        self.bar.update(self.epochs, completed=epoch + 1, description=self.label + shown)

    def _describe(self, study) -> None:
        import optuna

        complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        best = f" · best val {study.best_value:.4g} (trial {study.best_trial.number})" if complete else ""
        self.bar.update(self.trials, completed=_finished(study), description=self.title + best)

    def trial_done(self, study, state: str) -> None:
        self._describe(study)

    def poll(self, store: StorageSpec, name: str) -> None:
        import optuna

        self._describe(optuna.load_study(study_name=name, storage=store.open()))

    def callback(self, monitor: str):
        import lightning.pytorch as pl

        progress = self

        class _EpochProgress(pl.Callback):
            def on_validation_end(self, trainer, pl_module) -> None:
                value = trainer.callback_metrics.get(monitor)
                progress.epoch_done(trainer.current_epoch, None if value is None else float(value))

        return _EpochProgress()


def _finished(study) -> int:
    from benchbench.results import counted_trials

    return sum(t.state.is_finished() for t in counted_trials(study.get_trials(deepcopy=False)))


# --- entry points -----------------------------------------------------------------------------


def run_sweep(config: SweepConfig, *, progress: _Progress | None = None, show_progress: bool = False) -> dict[str, str]:
    """Run (or continue) the search of `config`, then its final evaluation. Returns the names of the
    studies: {"search": ..., "eval": ...} (no "eval" when `seeds` is 0)."""
    from benchbench.results import prepare_results_dir

    task = validate(config)
    _data(task, config.budget, dict(config.options))  # fails early (missing data, bad option), before writing
    prepare_results_dir(config.results)  # only once the input is known to be good
    if progress is None and show_progress:
        progress = _Progress()
    with progress.bar if progress is not None and show_progress else nullcontext():
        search, planned, max_epochs = _plan_search(task, config)
        record_baselines(config.store, task, config.budget, dict(config.options), _data(task, config.budget, dict(config.options)))
        names = {"search": search.study_name}
        if config.jobs == 0:  # planned only: `bench worker`s anywhere do the work
            return names
        shown_epochs = max_epochs if config.jobs == 1 else None  # epoch progress from in-process workers only
        if progress is not None:
            progress.study(search.study_name, planned, _finished(search), shown_epochs)
        _run_workers(config.store, search.study_name, config.jobs, threads=config.threads, timeout=config.timeout, progress=progress)
        if int(search.user_attrs["eval_seeds"]) > 0 and _has_complete(search):
            evaluation, eval_planned = _plan_evaluation(config.store, search)
            if progress is not None:
                progress.study(evaluation.study_name, eval_planned, _finished(evaluation), shown_epochs)
            _run_workers(config.store, evaluation.study_name, config.jobs, threads=config.threads, timeout=None, progress=progress)
            names["eval"] = evaluation.study_name
    return names


def _has_complete(study) -> bool:
    from optuna.trial import TrialState

    return bool(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def run_matrix(configs: list[SweepConfig], *, show_progress: bool = True) -> list[tuple[str, str, str]]:
    """Run every cell's sweep in turn with one progress display over the matrix; a cell whose data
    can't be had is reported and the others go on. Returns the failed cells (task, model, reason)."""
    for config in configs:
        validate(config)  # every name and number before the first cell runs
    progress = _Progress(total_cells=len(configs)) if show_progress else None
    failed = []
    with progress.bar if progress is not None else nullcontext():
        for config in configs:
            try:
                run_sweep(config, progress=progress)
            except BenchError as err:
                if len(configs) == 1:
                    raise
                failed.append((config.task, config.model, str(err)))
                if progress is not None:
                    progress.bar.console.print(f"skipped {config.task}/{config.model}: {err}", markup=False)
            if progress is not None:
                progress.cell_done()
    return failed


def run_worker(store: StorageSpec, name: str, *, timeout: float | None = None, show_progress: bool = True) -> int:
    """Join a study created by `bench run` (on this or another machine) and work on its plan; the
    worker that finishes a search's last trial plans its final evaluation and works on that too.
    Returns the number of trials this worker ran."""
    from optuna.trial import TrialState

    study = _load(store, name)
    if "planned" not in study.user_attrs or "kind" not in study.user_attrs:
        raise BenchError(f"study {name!r} was not made by `bench run`; a worker needs its plan")
    progress = _Progress() if show_progress else None
    ran = 0
    with progress.bar if progress is not None else nullcontext():
        if progress is not None:
            progress.study(name, int(study.user_attrs["planned"]), _finished(study), int(study.user_attrs["max_epochs"]))
        ran += _work(store, name, os.getpid(), timeout=timeout, progress=progress)
        unfinished = study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING))
        attrs = study.user_attrs
        if attrs["kind"] == "search" and int(attrs["eval_seeds"]) > 0 and not unfinished and _has_complete(study):
            evaluation, eval_planned = _plan_evaluation(store, study)
            if progress is not None:
                progress.study(evaluation.study_name, eval_planned, _finished(evaluation), int(attrs["max_epochs"]))
            ran += _work(store, evaluation.study_name, os.getpid(), timeout=None, progress=progress)
    return ran


def train_fixed(config: FixedConfig, *, show_progress: bool = True):
    """Train one configuration without search: the space's fixed values and centres, then the preset,
    then the overrides. Records it as a trial of `task/family/fixed`; returns (trial, RunResult)."""
    import optuna

    from benchbench.results import prepare_results_dir, study_name
    from benchbench.training import fit_and_test

    task = validate(config)
    hparams = {name: param.centre() for name, param in task.search_space(config.model, config.budget).items()}
    preset = dict(task.preset(config.preset)) if config.preset else {}
    data_options = {**preset.pop("dataset", {}), **dict(config.options)}  # a preset's data protocol, then --option
    hparams.update(preset)
    hparams.update(dict(config.overrides))
    preset_epochs = hparams.pop("max_epochs", None)
    max_epochs = config.max_epochs or preset_epochs or task.budget(config.budget).max_epochs
    data = task.load_data(config.budget, data_options)
    results = prepare_results_dir(config.results)

    record_baselines(config.store, task, config.budget, dict(config.options), data, label=FIXED)
    attrs = _study_attrs(task, config, FIXED, FIXED)
    study = _create_study(config.store, study_name(task.name, config.model, FIXED, dict(config.options)), task.direction, attrs)
    number = len(study.trials)
    seed = config.seed
    progress = _Progress() if show_progress else None
    monitor = f"val_{task.metric}"
    with progress.bar if progress is not None else nullcontext():
        callbacks = []
        if progress is not None:
            progress.study(f"{study.study_name} · {config.preset or 'fixed'}", 1, 0, max_epochs)
            progress.trial_started(number)
            callbacks.append(progress.callback(monitor))
        result = fit_and_test(
            task, config.model, hparams, data=data, max_epochs=max_epochs, seed=seed, callbacks=callbacks,
            log_dir=results / "logs", log_name=study.study_name, log_version=f"trial_{number}",
        )  # fmt: skip
    run_attrs = {**attrs, "budget": config.budget}
    trial = optuna.trial.create_trial(
        params=hparams,
        distributions={k: optuna.distributions.CategoricalDistribution([v]) for k, v in hparams.items()},
        value=result.val,
        user_attrs={
            **_record(result),
            "seed": seed,
            "hparams": hparams,
            "provenance": provenance(),
            "command": rerun_command(run_attrs, hparams, seed, max_epochs),
            "preset": config.preset,
            "overrides": dict(config.overrides),
            "data_budget": config.budget,
            "data_options": data_options,
            "max_epochs": max_epochs,
        },
    )
    study.add_trial(trial)
    return trial, result

