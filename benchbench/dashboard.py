"""optuna-dashboard on a results folder's studies: an optional extra, `pip install 'benchbench[dashboard]'`."""

from __future__ import annotations

from pathlib import Path

from benchbench.errors import BenchError
from benchbench.results import JOURNAL

__all__ = ["serve"]


def serve(results: Path, *, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve optuna-dashboard on `<results>/studies.journal` at http://host:port until interrupted.

    A BenchError when the extra is not installed or there are no results yet (opening a missing
    journal would create an empty one).
    """
    try:
        from optuna_dashboard import run_server
    except ImportError:
        raise BenchError("optuna-dashboard is not installed; pip install 'benchbench[dashboard]'") from None
    if not (results / JOURNAL).is_file():
        raise BenchError(f"no results under {results}; run `bench run --task TASK --model MODEL` first")
    from benchbench.results import open_storage

    print(f"optuna-dashboard on {results / JOURNAL}: http://{host}:{port}/ (Ctrl-C stops it)", flush=True)
    run_server(open_storage(results), host=host, port=port)
