"""optuna-dashboard on a storage's studies: an optional extra, `pip install 'benchbench[dashboard]'`."""

from __future__ import annotations

from benchbench.errors import BenchError
from benchbench.store.storage import StorageSpec

__all__ = ["serve"]


def serve(store: StorageSpec, *, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve optuna-dashboard on a storage (a results folder's journal, or an RDB URL) at
    http://host:port until interrupted.

    A BenchError when the extra is not installed or there are no results yet (opening a missing
    journal would create an empty one).
    """
    try:
        from optuna_dashboard import run_server
    except ImportError:
        raise BenchError("optuna-dashboard is not installed; pip install 'benchbench[dashboard]'") from None
    store.require()
    print(f"optuna-dashboard on {store.label}: http://{host}:{port}/ (Ctrl-C stops it)", flush=True)
    run_server(store.open(), host=host, port=port)
