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
from typing import Annotated, Optional

import typer

from benchbench.errors import BenchError

app = typer.Typer(
    name="bench",
    help="Benchmark recurrent network families with automated hyperparameter search.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_show_locals=False,
)


class Budget(str, Enum):
    smoke = "smoke"
    default = "default"


class Format(str, Enum):
    table = "table"
    csv = "csv"
    markdown = "markdown"
    json = "json"


def _complete_tasks(incomplete: str) -> list[str]:
    from benchbench.tasks import task_names

    return [n for n in task_names() if n.startswith(incomplete)]


def _complete_models(incomplete: str) -> list[str]:
    from benchbench.models import MODELS

    return [n for n in MODELS.names() if n.startswith(incomplete)]


OptionsOption = Annotated[
    Optional[list[str]],
    typer.Option("--option", help="Change a dataset option of the task: key=value (repeatable), e.g. horizon=24."),
]
ResultsOption = Annotated[
    Path, typer.Option("--results", envvar="BENCH_RESULTS", help="Results folder (env BENCH_RESULTS).")
]


@contextmanager
def _user_errors() -> Iterator[None]:
    """A BenchError becomes one line on stderr and exit code 2; anything else is a bug and keeps its traceback."""
    try:
        yield
    except BenchError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None


def _print_leaderboard(results: Path, task: str | None) -> None:
    from rich.console import Console

    from benchbench.leaderboard import collect, render

    console = Console()
    tables = render(collect(results, task=task), "table", width=console.width)
    if not tables:
        console.print(f"no results under {results}; run `bench run --task TASK --model MODEL` first")
    for table in tables:
        console.print(table)


@app.command()
def run(
    task: Annotated[str, typer.Option(help="Task spec name (bench list tasks).", autocompletion=_complete_tasks)],
    model: Annotated[str, typer.Option(help="Model family (bench list models).", autocompletion=_complete_models)],
    trials: Annotated[Optional[int], typer.Option(help="Trials to add to the study (default: the budget's).")] = None,
    budget: Annotated[Budget, typer.Option(help="Data sizes, epochs and trials from the task spec.")] = Budget.default,
    max_epochs: Annotated[Optional[int], typer.Option(help="Epochs per trial (default: the budget's).")] = None,
    timeout: Annotated[Optional[float], typer.Option(help="Start no new trial after SECONDS.")] = None,
    seed: Annotated[int, typer.Option(help="Base seed of the sampler and of every trial.")] = 0,
    option: OptionsOption = None,
    results: ResultsOption = Path("results"),
) -> None:
    """Run (or continue) a hyperparameter search of MODEL on TASK, then print the leaderboard."""
    with _user_errors():
        from benchbench.sweep import SweepConfig, parse_overrides, run_sweep

        options = parse_overrides(option or [], flag="--option")
        config = SweepConfig(
            task=task, model=model, budget=budget.value, trials=trials, max_epochs=max_epochs,
            timeout=timeout, seed=seed, results=results, options=options,
        )  # fmt: skip
        run_sweep(config, show_progress=True)
        _print_leaderboard(results, task)


@app.command()
def train(
    task: Annotated[str, typer.Option(help="Task spec name (bench list tasks).", autocompletion=_complete_tasks)],
    model: Annotated[str, typer.Option(help="Model family (bench list models).", autocompletion=_complete_models)],
    preset: Annotated[Optional[str], typer.Option(help="A named configuration from the task spec.")] = None,
    set_: Annotated[
        Optional[list[str]], typer.Option("--set", help="Override one value: key=value (repeatable).")
    ] = None,
    budget: Annotated[Budget, typer.Option(help="Data sizes from the task spec.")] = Budget.default,
    max_epochs: Annotated[Optional[int], typer.Option(help="Epochs (default: the preset's, else the budget's).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of weights, dropout and batch order.")] = 0,
    option: OptionsOption = None,
    results: ResultsOption = Path("results"),
) -> None:
    """Train one fixed configuration of MODEL on TASK (no search) and report validation and test."""
    with _user_errors():
        from benchbench.sweep import FixedConfig, parse_overrides, train_fixed

        options = parse_overrides(option or [], flag="--option")
        config = FixedConfig(
            task=task, model=model, budget=budget.value, max_epochs=max_epochs, seed=seed, results=results,
            options=options, preset=preset, overrides=parse_overrides(set_ or []),
        )  # fmt: skip
        _, result = train_fixed(config, show_progress=True)
        extra = "".join(f" · test {name} {value:.4g}" for name, value in result.test_extra.items())
        typer.echo(
            f"{task}/{model}: val {result.val:.4g} · test {result.test:.4g}{extra} · "
            f"{result.epochs} epochs · {result.wall_time:.0f}s on {result.device}"
        )


@app.command()
def leaderboard(
    results: ResultsOption = Path("results"),
    task: Annotated[Optional[str], typer.Option(help="Only this task.", autocompletion=_complete_tasks)] = None,
    format: Annotated[Format, typer.Option("--format", help="table prints; the others write to stdout.")] = Format.table,
) -> None:
    """Rank the families of every task under the results folder."""
    with _user_errors():
        if format == Format.table:
            _print_leaderboard(results, task)
            return
        from benchbench.leaderboard import collect, render

        sys.stdout.write(render(collect(results, task=task), format.value))


@app.command("list")
def list_(
    what: Annotated[Optional[str], typer.Argument(help="models or tasks (default: both).")] = None,
) -> None:
    """List the registered model families and tasks, one line each."""
    with _user_errors():
        if what not in (None, "models", "tasks"):
            raise BenchError(f"cannot list {what!r}; choose one of: models, tasks")
        from benchbench.catalog import describe_models, describe_tasks

        for kind, describe in (("models", describe_models), ("tasks", describe_tasks)):
            if what in (None, kind):
                if what is None:
                    typer.echo(f"{kind}:")
                for name, text in describe().items():
                    typer.echo(f"{'  ' if what is None else ''}{name:<12} {text}")


if __name__ == "__main__":
    app()
