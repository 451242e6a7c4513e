#!/usr/bin/env bash
# Greff et al. 2017's view on JSB Chorales: the peephole ("vanilla") LSTM and its eight ablations at the
# default budget, each with five evaluation seeds, two worker processes of one thread (2 CPU cores); then
# every variant against peephole, the result set as a baseline file, and the README section made from it.
# Usage: bash benchmarks/greff-jsb.sh [RESULTS [BASELINE]]
# (defaults: results-greff and results/baselines/greff-jsb.json; a rerun to check against the committed
# file: bash benchmarks/greff-jsb.sh /tmp/greff /tmp/greff.json, then
# bench check --baseline results/baselines/greff-jsb.json --results /tmp/greff)
set -euo pipefail
cd "$(dirname "$0")/.."
results="${1:-results-greff}"
baseline="${2:-results/baselines/greff-jsb.json}"
variants="peephole,lstm-nig,lstm-nfg,lstm-nog,lstm-niaf,lstm-noaf,lstm-np,lstm-cifg,lstm-fgr"
start=$(date +%s)
OMP_NUM_THREADS=1 .venv/bin/bench run --task jsb-chorales --model "$variants" --budget default --seeds 5 --seed 0 \
  --jobs 2 --results "$results"
echo "greff-jsb wall time: $(( ($(date +%s) - start) / 60 )) min"
.venv/bin/bench compare --against peephole --task jsb-chorales --model "$variants" --results "$results"
.venv/bin/bench baseline save --results "$results" --out "$baseline"
