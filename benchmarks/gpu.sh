#!/usr/bin/env bash
# Run THERE, on the GPU machine, from the repository root, with .gpu/ carried (benchmarks/gpu-prepare.sh
# made it here): installs the carried wheels into /tmp/site, unpacks the datasets into /tmp/bench-data
# ($GPU_WORK instead of /tmp if set), checks torch, CUDA and the GPU's name, then runs benchmarks/gpu.py, all within 8 minutes. Its figures
# go to $OUT/gpu.json (and its log to $OUT/gpu.log); extra arguments go to gpu.py, e.g.
#     bash benchmarks/gpu.sh --only ptb --deadline-s 400      # a second run of one section
# GPU_DEVICE=cpu runs the same steps on a CPU (a dry run: `GPU_DEVICE=cpu bash benchmarks/gpu.sh --quick`).
set -uo pipefail
cd "$(dirname "$0")/.."
LIMIT=${GPU_LIMIT_S:-470}  # the whole script, set-up included, ends before 8 minutes
WORK=${GPU_WORK:-/tmp}  # where the wheels are installed and the datasets unpacked
export OUT=${OUT:-/tmp/gpu-out} PYTHONUNBUFFERED=1
mkdir -p "$OUT"
ls .gpu/wheels/*.whl >/dev/null 2>&1 && [ -f .gpu/data.tar.gz ] \
  || { echo "error: .gpu/ is missing or incomplete; run benchmarks/gpu-prepare.sh here and carry .gpu" >&2; exit 2; }
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$WORK/site" .gpu/wheels/*.whl \
  || { echo "error: the carried wheels did not install (see above)" >&2; exit 2; }
export PYTHONPATH=$WORK/site:$PWD${PYTHONPATH:+:$PYTHONPATH}
mkdir -p "$WORK/bench-data" && tar -xzf .gpu/data.tar.gz -C "$WORK/bench-data"
export BENCH_DATA_DIR=$WORK/bench-data
DEVICE=${GPU_DEVICE:-cuda}
DEVICE=$DEVICE python3 - <<'PY' || exit 2
import os
import torch
ok = torch.cuda.is_available() or os.environ["DEVICE"] == "cpu"
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, GPU: {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none visible'}", flush=True)
raise SystemExit(0 if ok else 1)
PY
nvidia-smi -L 2>/dev/null
left=$(( LIMIT - SECONDS ))
timeout --signal=TERM --kill-after=10 "$left" python3 benchmarks/gpu.py --device "$DEVICE" --out "$OUT/gpu.json" \
  --deadline-s $(( left - 50 )) "$@" 2>&1 | tee "$OUT/gpu.log"
status=${PIPESTATUS[0]}
echo "benchmarks/gpu.sh: exit $status after ${SECONDS} s; figures in $OUT/gpu.json"
exit "$status"
