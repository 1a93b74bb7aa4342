#!/bin/bash
# The GPU run of bench/gpu/README.md, after pygenn (with CUDA) and mlGeNN were
# installed by the documented `run` command: it builds nothing of GeNN or mlGeNN.
# Checks the CUDA backend, runs tests/test_genn.py at batch sizes 1, 32 and 128
# (trace comparisons measured against the NumPy engine), the benchmarks and the
# distributed run; each part under its own time limit, results under $OUT.
# Rehearsal on GeNN's CPU backend: REHEARSAL=1 OUT=/tmp/out bash bench/gpu/run.sh
set -u
OUT=${OUT:?set OUT}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
log() { echo "== $(date +%T) $*" | tee -a "$OUT/run.log"; }
log "machine"; { nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1; nvcc --version 2>&1 | tail -2; } >> "$OUT/run.log"
$PY -c "import pygenn, ml_genn; from pygenn.genn_model import backend_modules as b; print('pygenn', pygenn.__version__, list(b))" >> "$OUT/run.log" 2>&1 || { log "pygenn or ml_genn missing"; exit 2; }
if [ -z "${REHEARSAL:-}" ]; then
    $PY -c "from snnflow.backends.genn.engine import BACKEND; assert BACKEND == 'cuda', BACKEND" >> "$OUT/run.log" 2>&1 || { log "no CUDA backend"; exit 3; }
    BATCHES="1 32 128"; BENCH_BATCHES="128 512 2048"; SIZES="1000 4000 16000"; WORKERS="-n 8"
else
    BATCHES="1"; BENCH_BATCHES="1"; SIZES="200"; WORKERS=""
fi
export SNNFLOW_TEST_GENN_REPORT="$OUT/tolerance.jsonl" SNNFLOW_GENN_BLOCK_SIZE=manual
[ -n "${SKIP_TESTS:-}" ] && BATCHES=""
for b in $BATCHES; do
    log "tests at batch size $b"
    if [ "$b" = 1 ]; then SELECT=""; else SELECT="-k identical or poisson_input_draws"; fi
    SNNFLOW_TEST_GENN_BATCH_SIZE=$b timeout 200 $PY -m pytest -q -p no:cacheprovider $WORKERS \
        tests/test_genn.py ${SELECT:+"$SELECT"} 2>&1 | grep -v "^20[0-9][0-9]-\|make:" | tail -25 >> "$OUT/tests.log"
done
unset SNNFLOW_GENN_BLOCK_SIZE
log "mnist benchmark"
timeout 200 $PY bench/gpu/gpu_bench.py mnist --out "$OUT/mnist.json" --batches $BENCH_BATCHES >> "$OUT/bench.log" 2>&1
log "layer sizes"
timeout 120 $PY bench/gpu/gpu_bench.py layer_size --out "$OUT/layer_size.json" --sizes $SIZES ${REHEARSAL:+--batches 1} >> "$OUT/bench.log" 2>&1
log "distributed"
timeout 120 $PY bench/gpu/gpu_bench.py distributed --out "$OUT/distributed.json" --batches ${BENCH_BATCHES%% *} >> "$OUT/bench.log" 2>&1
log "done"
