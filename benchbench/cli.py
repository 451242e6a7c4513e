"""The `bench` command line. Each command parses its options, then makes one call into the library.

torch, lightning and optuna are imported inside the commands that need them, so `bench --help`
answers at once.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from benchbench.errors import BAD_INPUT_EXIT, INTERRUPTED_EXIT, UNFINISHED_EXIT, BenchError, Unfinished, user_line
from benchbench.sweep.samplers import PRUNERS, SAMPLERS

if TYPE_CHECKING:
    from benchbench.store.storage import StorageSpec

class _OneLineUsageErrors(typer.core.TyperGroup):
    """Click's usage errors (a value that is not a number, an unknown option or choice) as one line
    on stderr with exit code 2, like every other user error, instead of a usage box."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # noqa: ANN001
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        from typer._click.exceptions import (
            ClickException,
            NoArgsIsHelpError,
            UsageError,
        )

        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except NoArgsIsHelpError:  # `bench` alone: the help, as before
            return super().main(args, prog_name, complete_var, standalone_mode=True, **extra)
        except UsageError as err:
            where = f"; see `{err.ctx.command_path} --help`" if err.ctx is not None else ""
            typer.echo(f"error: {err.format_message().rstrip('.')}{where}", err=True)
            sys.exit(err.exit_code)
        except ClickException as err:
            typer.echo(f"error: {err.format_message()}", err=True)
            sys.exit(err.exit_code)
        sys.exit(code if isinstance(code, int) else 0)


# The exit codes (errors.py), one meaning each; README "Exit codes" says the same.
EXIT_CODES_HELP = (
    "Exit codes: 0 every requested cell has a result; 1 the run finished but some cells have no result or "
    "were cut short (one line each, with the reason and the command that continues it); 2 bad input, "
    "nothing written (one line); 130 interrupted (Ctrl-C), 143 terminated (SIGTERM)."
)

app = typer.Typer(
    name="bench",
    cls=_OneLineUsageErrors,
    help="Benchmark recurrent network families with automated hyperparameter search.\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_show_locals=False,
)


# The choices of --sampler and --pruner are the registries' (sweep/samplers.py imports no Optuna).
Sampler = Enum("Sampler", {name: name for name in SAMPLERS}, type=str)
Pruner = Enum("Pruner", {name: name for name in PRUNERS}, type=str)
_SAMPLER_HELP = "; ".join(f"{name}: {SAMPLERS.get(name).help}" for name in SAMPLERS)
_PRUNER_HELP = "; ".join(f"{name}: {PRUNERS.get(name).help}" for name in PRUNERS)


# The leaderboard's and compare's formats (render/leaderboard.py and render/compare.py share them).
Format = Enum("Format", {name: name for name in ("table", "csv", "markdown", "json")}, type=str)


def _complete_list(incomplete: str, names: list[str]) -> list[str]:
    """Completion of a comma-separated list: the last item completes, the ones before it stay
    (`lstm,g` -> `lstm,gru`); a name already in the list is not offered again."""
    head, _, last = incomplete.rpartition(",")
    taken = set(head.split(",")) if head else set()
    prefix = f"{head}," if head else ""
    return [prefix + n for n in names if n.startswith(last) and n not in taken]


def _complete_tasks(incomplete: str) -> list[str]:
    from benchbench.tasks import task_names

    return _complete_list(incomplete, task_names())


def _complete_budgets(incomplete: str) -> list[str]:
    """The budgets the task specs declare (each task checks its own when the command runs)."""
    from benchbench.tasks import load_task, task_names

    names = sorted({b for t in task_names() for b in load_task(t).budgets})
    return [n for n in names if n.startswith(incomplete)]


def no_results(label: str) -> str:
    from benchbench.store.storage import no_results as line

    return line(label)


def _store(results: Path, storage: Optional[str]) -> StorageSpec:
    """The one resolver of --results and --storage: where every command reads and writes studies."""
    from benchbench.store.storage import StorageSpec

    return StorageSpec(results, storage)


def _complete_models(incomplete: str) -> list[str]:
    from benchbench.models import MODELS

    return _complete_list(incomplete, MODELS.names())


OptionsOption = Annotated[
    Optional[list[str]],
    typer.Option("--option", help="Change a dataset option of the task: key=value (repeatable), e.g. horizon=24."),
]
TrackerOption = Annotated[
    Optional[list[str]],
    typer.Option(
        "--tracker", envvar="BENCH_TRACKER",
        help="Also log every trial to mlflow, tensorboard or wandb (repeatable, or comma-separated; env BENCH_TRACKER); "
        "off by default. mlflow: one run per study, a nested run per trial, in MLFLOW_TRACKING_URI or RESULTS/mlflow.db.",
    ),
]  # fmt: skip
ResultsOption = Annotated[
    Path, typer.Option("--results", envvar="BENCH_RESULTS", help="Results folder (env BENCH_RESULTS).")
]
PluginOption = Annotated[
    Optional[list[str]],
    typer.Option(
        "--plugin", help="Import this module first; the families it registers count (repeatable; env BENCH_PLUGINS, comma-separated)."
    ),
]
TasksDirOption = Annotated[
    Optional[list[Path]],
    typer.Option("--tasks-dir", help="A folder of task specs (*.toml) to use besides the shipped ones (repeatable; env BENCH_TASKS_PATH)."),
]


def _outside(plugin: Optional[list[str]], tasks_dir: Optional[list[Path]] = None) -> None:
    """Families and tasks from outside the package: --plugin modules (and BENCH_PLUGINS), --tasks-dir."""
    from benchbench.models import use_plugins
    from benchbench.tasks import add_tasks_dir

    use_plugins(plugin or [])
    for folder in tasks_dir or []:
        add_tasks_dir(folder)


@contextmanager
def _user_errors() -> Iterator[None]:
    """A BenchError, a full disk or a storage server gone becomes one line on stderr and exit code 2
    (errors.user_line); a run that finished with cells lacking a result, one line per cell and exit
    code 1 (errors.Unfinished); anything else is a bug and keeps its traceback."""
    try:
        yield
    except Unfinished as err:
        for line in err.lines:
            typer.echo(line, err=True)
        raise typer.Exit(UNFINISHED_EXIT) from None
    except Exception as err:
        line = user_line(err)
        if line is None:
            raise
        typer.echo(f"error: {line}", err=True)
        raise typer.Exit(BAD_INPUT_EXIT) from None


@contextmanager
def _interrupts(results: Path, storage: Optional[str]) -> Iterator[None]:
    """Ctrl-C (or SIGTERM) becomes one line saying what was kept and exit code 130 (143 for SIGTERM),
    the shell's codes for those signals. The interrupted trial is already recorded as failed and
    queued again (workers.py), so the same command continues it; every finished trial is in the
    storage as it finished."""
    from benchbench.sweep.signals import ignore_interrupts, sigterm_as_interrupt

    try:
        with sigterm_as_interrupt() as received:
            yield
    except KeyboardInterrupt as err:
        ignore_interrupts()  # counting what was kept is not to be torn by a second signal
        typer.echo(f"interrupted: {_kept(results, storage, err)}", err=True)
        raise typer.Exit(128 + received[0] if received else INTERRUPTED_EXIT) from None


def _kept(results: Path, storage: Optional[str], err: KeyboardInterrupt) -> str:
    from benchbench.errors import Interrupted
    from benchbench.store.trials import finished_trials

    store = _store(results, storage)
    if not isinstance(err, Interrupted):  # between trials, or in worker processes that recorded their own
        return f"every finished trial is kept in {store.label}; run the same command to continue"
    if not err.requeued:
        return f"{err.study} trial {err.trial} was stopped and recorded as failed; run the command again to train it"
    import optuna

    done = finished_trials(optuna.load_study(study_name=err.study, storage=store.open()))
    stopped = "the running trials were" if err.trial is None else f"trial {err.trial} was"
    return (
        f"{done} finished trials of {err.study} are kept in {store.label}; {stopped} stopped and queued again; "
        "run the same command to continue"
    )


def _print_leaderboard(store: StorageSpec, task: str | None) -> None:
    from benchbench.analysis.leaderboard import collect
    from benchbench.render.console import console as make_console
    from benchbench.render.leaderboard import render

    console = make_console()
    tables = render(collect(store, task=task), "table", width=console.width)
    if not tables:
        console.print(no_results(store.label))
    for table in tables:
        console.print(table)


def _complete_precisions(incomplete: str) -> list[str]:
    from benchbench.device import PRECISIONS

    return [p for p in PRECISIONS if p.startswith(incomplete)]


PrecisionOption = Annotated[
    str,
    typer.Option(
        help="Arithmetic of training, through Lightning's precision plugin: 32-true (default), bf16-mixed "
        "(CPU or GPU), 16-mixed (CUDA only) or 64-true.",
        autocompletion=_complete_precisions,
    ),
]

StorageOption = Annotated[
    Optional[str],
    typer.Option(
        "--storage", envvar="BENCH_STORAGE",
        help="Optuna RDB URL shared by workers on many machines, e.g. postgresql://user:pw@host/db "
        "(default: the results folder's journal file).",
    ),
]  # fmt: skip


@app.command()
def run(
    task: Annotated[
        str,
        typer.Option(
            help="Task spec name, a spec's path (my-task.toml), csv:FILE of your series, a comma-separated list, or all (bench list tasks).",
            autocompletion=_complete_tasks,
        ),
    ],
    model: Annotated[
        str,
        typer.Option(
            help="Model family, a reference to your own (cells.py:MinGRU or package.module:MinGRU), a comma-separated list, or all (bench list models).",
            autocompletion=_complete_models,
        ),
    ],
    budget: Annotated[
        str, typer.Option(help="Data sizes, epochs, trials and seeds from the task spec (bench list tasks).", autocompletion=_complete_budgets)
    ] = "default",
    trials: Annotated[
        Optional[int], typer.Option(help="Trials the search holds when done (default: the budget's); rerun to continue.")
    ] = None,
    max_epochs: Annotated[Optional[int], typer.Option(help="Epochs per trial (default: the budget's).")] = None,
    timeout: Annotated[Optional[float], typer.Option(help="Start no new search trial after SECONDS.")] = None,
    sampler: Annotated[Sampler, typer.Option(help=f"Search sampler. {_SAMPLER_HELP}.")] = Sampler.tpe,
    pruner: Annotated[Pruner, typer.Option(help=f"Stops poor trials early. {_PRUNER_HELP}.")] = Pruner.median,
    startup: Annotated[
        Optional[int], typer.Option(help="Random trials before TPE or GP model the results (default 10: with 10 or fewer trials, a random search).")
    ] = None,
    paired_search: Annotated[
        bool,
        typer.Option(
            "--paired-search/--no-paired-search",
            help="Paired: every family draws the same configurations from one sampler stream (common random "
            "numbers for comparing families); independent: each family's stream is its own.",
        ),
    ] = True,
    top_k: Annotated[Optional[int], typer.Option(help="Best configurations retrained after the search (default: the budget's).")] = None,
    seeds: Annotated[
        Optional[str],
        typer.Option(
            help="Fresh seeds each is retrained with (default: the budget's; 0 skips it); auto: the budget's, then more "
            "for the best configuration until --target-detectable or --max-seeds is reached."
        ),
    ] = None,
    target_detectable: Annotated[
        float, typer.Option(help="--seeds auto: the relative difference (0.05: 5%) its seeds should detect at 80% power.")
    ] = 0.05,
    max_seeds: Annotated[int, typer.Option(help="--seeds auto: at most this many seeds for the best configuration.")] = 20,
    seed: Annotated[int, typer.Option(help="Base seed of the sampler and of every trial.")] = 0,
    jobs: Annotated[
        int,
        typer.Option(help="Worker processes on this machine (GPUs shared in turn); 0 only plans the study for `bench worker`s."),
    ] = 1,
    threads: Annotated[
        int,
        typer.Option(
            envvar="BENCH_THREADS",
            help="Torch intra-op threads per worker. Default 1: these small-step models gain little from more, and "
            "spinning OpenMP threads slow down badly when another process shares the cores; use --jobs for spare "
            "cores. 0: torch's choice, cores / jobs.",
        ),
    ] = 1,
    precision: PrecisionOption = "32-true",
    storage: StorageOption = None,
    option: OptionsOption = None,
    tracker: TrackerOption = None,
    results: ResultsOption = Path("results"),
    plugin: PluginOption = None,
    tasks_dir: TasksDirOption = None,
) -> None:
    """Search hyperparameters of MODEL on TASK, retrain the best with fresh seeds, print the leaderboard.

    Running the same command again continues where it stopped: finished trials are kept and trials
    of a killed or interrupted (Ctrl-C) run are retried with their seeds.
    """
    with _user_errors(), _interrupts(results, storage):
        from benchbench.sweep.config import SweepConfig, expand_matrix, parse_overrides
        from benchbench.sweep.run import DONE, run_matrix
        from benchbench.sweep.tracking import parse_trackers

        _outside(plugin, tasks_dir)
        options, trackers = parse_overrides(option or [], flag="--option"), parse_trackers(tracker)
        cells, skipped = expand_matrix(task, model)
        configs = [
            SweepConfig(
                task=t, model=m, budget=budget, trials=trials, max_epochs=max_epochs, timeout=timeout,
                seed=seed, results=results, options=options, sampler=sampler.value, pruner=pruner.value,
                top_k=top_k, seeds=_seeds(seeds), storage=storage, jobs=jobs, threads=threads, precision=precision,
                seeds_target=target_detectable if seeds == "auto" else None, max_seeds=max_seeds, trackers=trackers,
                startup=startup, paired_search=paired_search,
            )
            for t, m in cells
        ]  # fmt: skip
        for t, m, why in skipped:
            typer.echo(f"skipping {t}/{m}: {why}", err=True)
        with _leaderboards_written(results, storage):
            outcomes = run_matrix(configs, show_progress=True)
        _after_run(results, storage, [c.task for c in configs])
        unfinished = [o.line for o in outcomes if o.status != DONE]
        if unfinished:
            raise Unfinished(unfinished)


@contextmanager
def _leaderboards_written(results: Path, storage: Optional[str]) -> Iterator[None]:
    """Refresh results/leaderboard.{csv,md,json} from the storage a run wrote (its journal, or
    --storage) however the run ends, so that they always hold what finished; bad input (a
    BenchError) wrote nothing, and nothing is written then either."""
    from benchbench.errors import OutOfSpace

    try:
        yield
    except BaseException as err:
        if not isinstance(err, BenchError) or isinstance(err, OutOfSpace):
            try:
                _write_leaderboards(results, storage)
            except Exception:  # the run's own error is the one to report
                pass
        raise
    _write_leaderboards(results, storage)


def _write_leaderboards(results: Path, storage: Optional[str]) -> None:
    from benchbench.analysis.leaderboard import collect
    from benchbench.render.leaderboard import write_leaderboards

    store = _store(results, storage)
    if results.is_dir() and store.exists:
        write_leaderboards(collect(store), results)


def _after_run(results: Path, storage: Optional[str], tasks: list[str]) -> None:
    """Print the leaderboard of the tasks just run (the files are written by _leaderboards_written)."""
    store = _store(results, storage)
    if not store.exists:  # no cell got as far as writing (their lines follow)
        return
    for name in dict.fromkeys(tasks):
        _print_leaderboard(store, name)


@app.command()
def worker(
    study: Annotated[str, typer.Option(help="The study to join, e.g. ptb/lstm/default (its /eval study too).")],
    storage: StorageOption = None,
    timeout: Annotated[Optional[float], typer.Option(help="Claim no new trial after SECONDS.")] = None,
    results: ResultsOption = Path("results"),
) -> None:
    """Join a running study and work on its planned trials until none is left (any machine that
    reaches the storage can run one; pin it to a GPU with CUDA_VISIBLE_DEVICES)."""
    with _user_errors(), _interrupts(results, storage):
        from benchbench.store.storage import prepare_results_dir
        from benchbench.sweep.run import run_worker

        prepare_results_dir(results)  # logs go here
        ran = run_worker(_store(results, storage), study, timeout=timeout)
        typer.echo(f"{study}: this worker ran {ran} trials")


@app.command()
def show(
    task: Annotated[str, typer.Option(help="Task spec name.", autocompletion=_complete_tasks)],
    model: Annotated[str, typer.Option(help="Model family.", autocompletion=_complete_models)],
    budget: Annotated[str, typer.Option(help="Budget of the study (fixed-BUDGET: bench train runs at that budget's data).")] = "default",
    trial: Annotated[Optional[int], typer.Option(help="Trial number (default: the best trial).")] = None,
    evaluation: Annotated[bool, typer.Option("--eval", help="A trial of the final evaluation instead of the search.")] = False,
    storage: StorageOption = None,
    results: ResultsOption = Path("results"),
) -> None:
    """Print one trial's record (seed, hyperparameters, versions, commit, device, wall time, results)
    and the command that reruns it."""
    with _user_errors():
        from benchbench.analysis.show import trial_record
        from benchbench.render.console import console
        from benchbench.render.show import render_trial

        record = trial_record(_store(results, storage), task, model, budget, trial, evaluation=evaluation)
        console().print(render_trial(record))


@app.command()
def train(
    task: Annotated[
        str, typer.Option(help="Task spec name, a spec's path or csv:FILE (bench list tasks).", autocompletion=_complete_tasks)
    ],
    model: Annotated[
        str, typer.Option(help="Model family, or a reference: cells.py:MinGRU, package.module:MinGRU (bench list models).", autocompletion=_complete_models)
    ],
    preset: Annotated[Optional[str], typer.Option(help="A named configuration from the task spec.")] = None,
    set_: Annotated[
        Optional[list[str]], typer.Option("--set", help="Override one value: key=value (repeatable).")
    ] = None,
    budget: Annotated[str, typer.Option(help="Data sizes from the task spec.", autocompletion=_complete_budgets)] = "default",
    max_epochs: Annotated[Optional[int], typer.Option(help="Epochs (default: the preset's, else the budget's).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of weights, dropout and batch order.")] = 0,
    precision: PrecisionOption = "32-true",
    option: OptionsOption = None,
    tracker: TrackerOption = None,
    results: ResultsOption = Path("results"),
    plugin: PluginOption = None,
    tasks_dir: TasksDirOption = None,
) -> None:
    """Train one fixed configuration of MODEL on TASK (no search) and report validation and test."""
    with _user_errors(), _interrupts(results, None):
        from benchbench.sweep.config import FixedConfig, parse_overrides
        from benchbench.sweep.run import train_fixed
        from benchbench.sweep.tracking import parse_trackers

        _outside(plugin, tasks_dir)
        options = parse_overrides(option or [], flag="--option")
        config = FixedConfig(
            task=task, model=model, budget=budget, max_epochs=max_epochs, seed=seed, results=results,
            options=options, preset=preset, overrides=parse_overrides(set_ or []), precision=precision,
            trackers=parse_trackers(tracker),
        )  # fmt: skip
        _, result = train_fixed(config, show_progress=True)
        extra = "".join(f" · test {name} {value:.4g}" for name, value in result.test_extra.items())
        typer.echo(
            f"{task}/{model}: val {result.val:.4g} · test {result.test:.4g}{extra} · "
            f"{result.epochs} epochs · {result.wall_time:.0f}s on {result.device}"
            + ("" if result.precision == "32-true" else f" in {result.precision}")
        )


@app.command()
def leaderboard(
    results: ResultsOption = Path("results"),
    task: Annotated[Optional[str], typer.Option(help="Only this task (and its variants).", autocompletion=_complete_tasks)] = None,
    model: Annotated[
        Optional[str], typer.Option(help="Only these families, comma-separated, e.g. lstm,gru.", autocompletion=_complete_models)
    ] = None,
    format: Annotated[Format, typer.Option("--format", help="table prints; the others write to stdout.")] = Format.table,
    storage: StorageOption = None,
) -> None:
    """Rank the families of every task in the results folder (or --storage).

    Shows the test mean ± sd over seeds with its 95% interval, and whether each family differs
    significantly from the best (Welch's t-test)."""
    with _user_errors():
        from benchbench.analysis.leaderboard import collect
        from benchbench.registry import parse_names
        from benchbench.render.console import console as make_console
        from benchbench.render.leaderboard import render

        store = _store(results, storage)
        frame = collect(store, task=task, model=parse_names(model, flag="--model"), strict=True)
        if frame.empty:  # on stderr for the data formats, whose output stays valid (`[]`, a header)
            typer.echo(no_results(store.label), err=format != Format.table)
        if format != Format.table:
            sys.stdout.write(render(frame, format.value))
            return
        console = make_console()
        for table in render(frame, "table", width=console.width):
            console.print(table)


@app.command()
def compare(
    results: ResultsOption = Path("results"),
    task: Annotated[
        Optional[str], typer.Option(help="Only these tasks, comma-separated (and their variants).", autocompletion=_complete_tasks)
    ] = None,
    model: Annotated[
        Optional[str], typer.Option(help="Only these families, comma-separated, e.g. lstm,gru.", autocompletion=_complete_models)
    ] = None,
    budget: Annotated[Optional[str], typer.Option(help="Only this budget (default: each budget on its own).")] = None,
    against: Annotated[
        Optional[str],
        typer.Option(help="Compare every family with this one, task by task (Greff et al.: peephole).", autocompletion=_complete_models),
    ] = None,
    format: Annotated[str, typer.Option("--format", help="table, csv, markdown or json; table prints, the others write to stdout.")] = "table",
    storage: StorageOption = None,
) -> None:
    """Which family wins across tasks: average ranks, the Friedman test and pairwise post-hoc tests
    (Wilcoxon-Holm, Nemenyi); with --against, each family against one reference, task by task."""
    with _user_errors():
        from benchbench.analysis.compare import compare as compare_families
        from benchbench.registry import parse_names
        from benchbench.render.compare import FORMATS, render
        from benchbench.render.console import console as make_console

        if format not in FORMATS:
            raise BenchError(f"unknown format {format!r}; choose one of: {', '.join(FORMATS)}")
        store = _store(results, storage)
        found = compare_families(store, task=task, model=parse_names(model, flag="--model"), budget=budget, against=against)
        view = "across" if against is None else "against"
        if found.tests.empty:
            typer.echo(no_results(store.label), err=format != "table")
        if format != "table":
            sys.stdout.write(render(found, format, view=view))
            return
        console = make_console()
        for part in render(found, "table", view=view):
            console.print(part)


@app.command("list")
def list_(
    what: Annotated[Optional[str], typer.Argument(help="models, tasks or baselines (default: all).")] = None,
    plugin: PluginOption = None,
    tasks_dir: TasksDirOption = None,
) -> None:
    """List the registered model families, tasks and naive baselines, one line each (installed
    plugins' and --plugin modules' families and --tasks-dir specs too)."""
    with _user_errors():
        if what not in (None, "models", "tasks", "baselines"):
            raise BenchError(f"cannot list {what!r}; choose one of: models, tasks, baselines")
        _outside(plugin, tasks_dir)
        from benchbench.render.catalog import (
            describe_baselines,
            describe_models,
            describe_tasks,
        )

        kinds = (("models", describe_models), ("tasks", describe_tasks), ("baselines", describe_baselines))
        for kind, describe in kinds:
            if what in (None, kind):
                if what is None:
                    typer.echo(f"{kind}:")
                lines = describe()
                width = max(map(len, lines), default=0)
                for name, text in lines.items():
                    typer.echo(f"{'  ' if what is None else ''}{name:<{width}} {text}")


@app.command()
def importance(
    # Typer renders help as rich markup, where "\\[" is a literal bracket.
    task: Annotated[
        str, typer.Option(help="Task name, or a variant as stored, e.g. electricity\\[horizon=24].", autocompletion=_complete_tasks)
    ],
    model: Annotated[
        str,
        typer.Option(
            help="Model family; several, comma-separated (peephole,lstm-nfg,...), pool their trials with the family as one more hyperparameter.",
            autocompletion=_complete_models,
        ),
    ],
    budget: Annotated[str, typer.Option(help="Budget of the search study.")] = "default",
    results: ResultsOption = Path("results"),
    storage: StorageOption = None,
) -> None:
    """Rank the hyperparameters of a search study by fANOVA importance (over its complete trials);
    with several families, over their pooled trials, the family counted as a hyperparameter."""
    with _user_errors():
        from benchbench.analysis.importance import pooled_importances, study_importances
        from benchbench.registry import parse_names
        from benchbench.render.console import console
        from benchbench.render.importance import render

        models = list(dict.fromkeys(parse_names(model, flag="--model")))
        if len(models) > 1:
            name, importances, n = pooled_importances(_store(results, storage), task=task, models=models, budget=budget)
            name = f"{name} · {n} complete trials pooled"
        else:
            name, importances = study_importances(_store(results, storage), task=task, model=models[0], budget=budget)
        console().print(render(name, importances))


@app.command()
def report(
    out: Annotated[Optional[Path], typer.Option(help="HTML file to write (default: RESULTS/report.html).")] = None,
    results: ResultsOption = Path("results"),
    storage: StorageOption = None,
    against: Annotated[
        Optional[str],
        typer.Option(help="Reference family of the across-families section (default: peephole, else lstm).", autocompletion=_complete_models),
    ] = None,
) -> None:
    """Write one self-contained HTML report (works offline) of every study in the results folder (or --storage)."""
    with _user_errors():
        from benchbench.analysis.frame import read
        from benchbench.render.report import write_report

        found = read(_store(results, storage))
        if against is not None:
            from benchbench.models import MODELS

            if against not in MODELS and against not in {s.attrs.get("model") for s in found.primary}:
                MODELS.get(against)  # an unknown name lists the valid ones (a family given by reference has results)
        page = write_report(found, out or results / "report.html", against=against)
        typer.echo(f"wrote {page}")


@app.command()
def dashboard(
    results: ResultsOption = Path("results"),
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8080,
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 for every interface).")] = "127.0.0.1",
    storage: StorageOption = None,
) -> None:
    """Browse the studies in optuna-dashboard, an optional extra (pip install optuna-dashboard); Ctrl-C stops it."""
    with _user_errors():
        from benchbench.dashboard import serve

        serve(_store(results, storage), host=host, port=port)


def _seeds(text: str | None) -> int | None:
    """--seeds: a count, or `auto` (the budget's to start with)."""
    if text is None or text == "auto":
        return None
    try:
        return int(text)
    except ValueError:
        raise BenchError(f"--seeds takes a whole number or auto, got {text!r}") from None


baseline_app = typer.Typer(
    help="Save the current results as the regression baseline file `bench check` compares with.", no_args_is_help=True
)
app.add_typer(baseline_app, name="baseline")


@baseline_app.command("save")
def baseline_save(
    out: Annotated[Optional[Path], typer.Option(help="Baseline file (default: RESULTS/baselines/baseline.json).")] = None,
    results: ResultsOption = Path("results"),
    task: Annotated[Optional[str], typer.Option(help="Only this task (and its variants).", autocompletion=_complete_tasks)] = None,
    model: Annotated[Optional[str], typer.Option(help="Only these families, comma-separated.", autocompletion=_complete_models)] = None,
    tolerance: Annotated[
        Optional[str],
        typer.Option(help="relative=R or absolute=A for every cell (default: the tolerance of each task spec)."),
    ] = None,
    update: Annotated[
        bool,
        typer.Option(
            "--update",
            help="Keep the other cells of an existing --out file: replace only the task x budget x family cells "
            "these results have (e.g. one task of a matrix, rerun).",
        ),
    ] = False,
    storage: StorageOption = None,
) -> None:
    """Write each task x budget x family's test value (mean over seeds) with its tolerance as a baseline."""
    with _user_errors():
        from benchbench.analysis.check import parse_tolerance, save_baseline
        from benchbench.registry import parse_names

        path = out or results / "baselines" / "baseline.json"
        cells = save_baseline(
            _store(results, storage), path, task=task, model=parse_names(model, flag="--model"),
            tolerance=parse_tolerance(tolerance) if tolerance is not None else None, update=update,
        )  # fmt: skip
        typer.echo(f"{'updated' if update else 'wrote'} {path}: {len(cells)} cells ({', '.join(c.name for c in cells)})")


@baseline_app.command("table")
def baseline_table(
    baseline: Annotated[Path, typer.Option(help="Baseline file written by `bench baseline save`.")],
) -> None:
    """Print a saved baseline as one Markdown table: families, best naive baseline, published figures."""
    with _user_errors():
        from benchbench.analysis.check import load_baseline
        from benchbench.render.results_table import results_table

        typer.echo(results_table(load_baseline(baseline)), nl=False)


@app.command()
def check(
    baseline: Annotated[Path, typer.Option(help="Baseline file written by `bench baseline save`.")],
    results: ResultsOption = Path("results"),
    task: Annotated[
        Optional[str],
        typer.Option(help="Only the baseline's cells of these tasks, comma-separated (and their variants): a rerun of part of it.", autocompletion=_complete_tasks),
    ] = None,
    model: Annotated[
        Optional[str], typer.Option(help="Only the baseline's cells of these families, comma-separated.", autocompletion=_complete_models)
    ] = None,
    storage: StorageOption = None,
) -> None:
    """Compare the results with a baseline saved by `bench baseline save`.

    Exit 0 when every cell is within its tolerance, 1 when any regressed (worse in its metric's
    direction beyond it), 2 on a bad baseline file or a result that is missing. --task and --model
    check the part of the baseline a rerun covers; the rest of the file is not asked for."""
    with _user_errors():
        from benchbench.analysis.check import check_results
        from benchbench.registry import parse_names
        from benchbench.render.check import render_check
        from benchbench.render.console import console

        outcome = check_results(
            baseline, _store(results, storage), task=parse_names(task, flag="--task"), model=parse_names(model, flag="--model")
        )
        console().print(render_check(outcome))
        if outcome.missing:
            raise outcome.missing_error()
        if outcome.regressed:
            typer.echo(outcome.regressed_line())
            raise typer.Exit(1)
        typer.echo(f"ok: {len(outcome.comparisons)} cells within tolerance")


@app.command("check-model")
def check_model(
    model: Annotated[str, typer.Argument(help="A family name, or a reference: cells.py:MinGRU or package.module:MinGRU.")],
    task: Annotated[
        Optional[str], typer.Option(help="Train on these tasks' smoke data only, comma-separated (default: every task).", autocompletion=_complete_tasks)
    ] = None,
    plugin: PluginOption = None,
    tasks_dir: TasksDirOption = None,
) -> None:
    """Check a family against the contract every built-in family passes (shapes, final state,
    causality, finite gradients, stacking with dropout, determinism, a few training steps on each
    task's smoke data): a pass/fail table, one line per failure; exit 1 when any check fails."""
    with _user_errors():
        from benchbench.contract import check_family
        from benchbench.render.console import console
        from benchbench.render.contract import render_contract

        _outside(plugin, tasks_dir)
        report = check_family(model, tasks=task)
        console().print(render_contract(report))
        for line in report.failure_lines():
            typer.echo(line, err=True)
        if report.failed:
            raise typer.Exit(1)


def _reflow_help(typer_app: typer.Typer) -> None:
    """Docstrings are wrapped for the source; the help wraps them at the terminal's width, so the
    line breaks inside each paragraph are joined (Typer keeps them, which left ragged lines and cut
    the commands' one-line summaries in `bench --help`)."""
    import inspect

    for command in typer_app.registered_commands:
        if command.help is None and command.callback is not None:
            paragraphs = (inspect.getdoc(command.callback) or "").split("\n\n")
            command.help = "\n\n".join(" ".join(p.split()) for p in paragraphs)
    for group in typer_app.registered_groups:
        _reflow_help(group.typer_instance)


_reflow_help(app)

if __name__ == "__main__":
    app()
