#!/usr/bin/env bash
# The README's Results matrix: the default budget of every task that runs offline, lstm and gru, each
# task's `bench run` in its own process with one intra-op thread, two at a time (2 CPU cores), longest
# first; then the regression baseline and its table. Usage: bash benchmarks/default-matrix.sh [RESULTS [BASELINE]]
# (a rerun to check against the committed file: bash benchmarks/default-matrix.sh /tmp/rerun /tmp/rerun.json, then
# bench check --baseline results/baselines/default.json --results /tmp/rerun)
set -euo pipefail
cd "$(dirname "$0")/.."
results="${1:-results}"
baseline="${2:-results/baselines/default.json}"
mkdir -p "$results"
tasks="ptb ptb-char moving-digits uci-pm25 jsb-chorales nottingham adding sentiment exchange-rate"
start=$(date +%s)
printf '%s\n' $tasks | OMP_NUM_THREADS=1 xargs -P 2 -I{} sh -c \
  '.venv/bin/bench run --task {} --model lstm,gru --budget default --seed 0 --results "$0" > "$0/run-{}.log" 2>&1; echo "{}: exit $?"' "$results"
echo "matrix wall time: $(( ($(date +%s) - start) / 60 )) min"
.venv/bin/bench baseline save --results "$results" --out "$baseline"
.venv/bin/bench baseline table --baseline "$baseline"
