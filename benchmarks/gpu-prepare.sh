#!/usr/bin/env bash
# Run HERE, before a GPU machine's run: packs into .gpu/ (git-ignored) what that machine lacks and
# benchmarks/gpu.sh installs there. Its Python (3.12, torch with CUDA, lightning, pandas, scipy,
# scikit-learn, rich, pytest and pytest-xdist already installed) cannot reach a package registry and
# has no copy of the datasets, so this fetches:
#   - wheels of the packages it lacks, at the versions this checkout's .venv runs (optuna and what it
#     needs, optuna-integration, typer for the CLI the tests import), built for CPython 3.12 x86-64;
#   - the datasets of $BENCH_DATA_DIR (default ../shared/data) as one compressed archive.
# (GPU_PYTHON_VERSION=3.11 packs wheels for this machine's Python instead, for a dry run of gpu.sh here.)
# Then call the device tool's run with carry [".gpu"] and the command `bash benchmarks/gpu.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
DATA=${BENCH_DATA_DIR:-../shared/data}
[ -x "$PY" ] || { echo "error: no $PY; run \`make install\` first (or set PYTHON)" >&2; exit 2; }
[ -f "$DATA/ptb/ptb.train.txt" ] || { echo "error: no datasets in $DATA (ptb/ptb.train.txt missing); set BENCH_DATA_DIR" >&2; exit 2; }

packages="optuna optuna-integration SQLAlchemy greenlet alembic Mako colorlog typer"
pins=$("$PY" - $packages <<'PY'
import sys
from importlib.metadata import version
print(" ".join(f"{name}=={version(name)}" for name in sys.argv[1:]))
PY
)
rm -rf .gpu && mkdir -p .gpu/wheels
# pip matches each manylinux tag exactly: name the ones these packages publish.
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "${GPU_PYTHON_VERSION:-3.12}" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
  -d .gpu/wheels $pins
tar -czf .gpu/data.tar.gz -C "$DATA" --exclude=README.md .
echo "$pins" > .gpu/pins.txt
echo "packed .gpu: $(ls .gpu/wheels | wc -l) wheels ($pins), data $(du -h .gpu/data.tar.gz | cut -f1); total $(du -sh .gpu | cut -f1) (the device tool carries 64 MiB at most)"
