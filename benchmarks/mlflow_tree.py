"""List the MLflow run tree that `bench run --tracker mlflow` wrote: a run per study, its trials'
runs nested under it, each with its tags and final figures.

    .venv/bin/python benchmarks/mlflow_tree.py RESULTS   # reads RESULTS/mlflow.db (or MLFLOW_TRACKING_URI)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main() -> None:
    from mlflow.tracking import MlflowClient

    results = Path(sys.argv[1] if len(sys.argv) > 1 else "results").resolve()
    uri = os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{results / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(os.environ.get("MLFLOW_EXPERIMENT_NAME") or "benchbench")
    runs = client.search_runs([experiment.experiment_id], max_results=10_000, order_by=["attributes.start_time ASC"])
    children: dict[str, list] = {}
    for run in runs:
        children.setdefault(run.data.tags.get("mlflow.parentRunId"), []).append(run)
    print(f"{uri} · experiment {experiment.name}: {len(runs)} runs")
    for study in sorted(children.get(None, []), key=lambda r: r.info.run_name):
        tags = study.data.tags
        print(f"{study.info.run_name}  [{tags.get('kind')} · task {tags.get('task')} · family {tags.get('family')} · budget {tags.get('budget')}]")
        for trial in sorted(children.get(study.info.run_id, []), key=lambda r: int(r.data.tags.get("trial", 0))):
            t, m = trial.data.tags, trial.data.metrics
            epochs = len(client.get_metric_history(trial.info.run_id, f"val_{_metric(m)}")) if _metric(m) else 0
            figures = " · ".join(f"{k} {m[k]:.4g}" for k in ("final_val", "final_test") if k in m)
            print(f"  └─ trial {t.get('trial')} seed {t.get('seed')} {trial.info.status.lower()}: {figures} ({epochs} epochs logged; "
                  f"{len(trial.data.params)} params hp.*)")  # fmt: skip


def _metric(metrics: dict[str, float]) -> str | None:
    return next((k[4:] for k in metrics if k.startswith("val_")), None)


if __name__ == "__main__":
    main()
