"""The task specs this package provides (entry point `benchbench.tasks`): every *.toml here."""

from pathlib import Path

TASKS = Path(__file__).resolve().parent
