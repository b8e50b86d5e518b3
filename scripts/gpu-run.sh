#!/usr/bin/env bash
# How the GPU numbers were made: on a machine with the packages of requirements.txt (or, on the
# workplace's device machine, its own torch plus the wheels carried in .whl/), with the data in
# $HW2_DATA, run the benchmark and/or the whole notebook on one profile, and gather what comes back.
#   scripts/gpu-run.sh [tests] [bench] [notebook PROFILE [TIMEOUT_S]] ; results land in ${OUT:-/tmp/gpu-out}
# On the workplace's device machine the working tree travels (64 MiB at most): carry .whl/ (papermill, optuna,
# ipykernel and their needs, built for its Python 3.12) and .devdata/FashionMNIST/raw/*.gz, and move the
# committed results/quick/ (about 38 MB) out of the tree for the call.
set -uo pipefail
OUT=${OUT:-/tmp/gpu-out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HW2_DOWNLOAD=0
if [ -d .whl ] && ! python3 -c "import papermill, optuna" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH} PATH=/tmp/site/bin:$PATH
  python3 -m ipykernel install --prefix /tmp/site --name python3 >/dev/null && export JUPYTER_PATH=/tmp/site/share/jupyter
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | tee "$OUT/device.txt"
python3 -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda)" | tee -a "$OUT/device.txt"
while [ $# -gt 0 ]; do
  case "$1" in
    tests) shift  # the CUDA-only tests (skipped on a machine without a GPU)
      python3 -m pytest -q -o addopts=-ra -p no:cacheprovider tests/test_training.py -k "graph or pass" 2>&1 | tail -15 | tee "$OUT/tests.log" ;;
    bench) shift; start=$(date +%s)
      timeout ${BENCH_TIMEOUT:-600} python3 -m helpers.bench ${BENCH_ARGS:-} 2>&1 | tee "$OUT/bench.log"
      echo "bench: $(( $(date +%s) - start )) s" | tee -a "$OUT/device.txt"
      cp results/bench/*.json "$OUT/" 2>/dev/null ;;
    notebook) profile=$2; limit=${3:-570}; shift 2; [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]] && shift
      dir=$(python3 -m helpers.config "$profile" --dir); mkdir -p "$dir"; start=$(date +%s)
      timeout "$limit" python3 -m papermill homework2.ipynb "$dir/homework2.ipynb" -p PROFILE "$profile" \
        --log-output --progress-bar --cwd "$PWD" > "$OUT/notebook.log" 2>&1
      echo "notebook $profile: rc $? in $(( $(date +%s) - start )) s" | tee -a "$OUT/device.txt"
      grep -E "^\[cache\]|Error|error|seconds" "$OUT/notebook.log" | tail -40
      tar -czf "$OUT/$profile.tgz" -C "$dir" --exclude=runs . ;;
    *) echo "unknown step $1" >&2; exit 2 ;;
  esac
done
ls -la "$OUT"
