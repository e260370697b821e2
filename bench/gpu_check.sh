#!/usr/bin/env bash
# GPU readiness in at most ~8 minutes on a CUDA machine (run from anywhere, with the project's
# environment active):
#   1. the CUDA tests (tests/cuda: cupy QRNN kernel vs the PyTorch scan, encoder and workers
#      on the GPU vs the CPU, mixed-precision training steps, DDP with NCCL on 2 GPUs);
#   2. encoder real-time factor on the GPU at batch 1 and 32 (10 s each), peak GPU memory;
#   3. PASE+ training throughput with all 12 workers and the PASE+ distortions, with and
#      without AMP: audio-seconds per second, step split, peak GPU memory.
# Each part has its own time limit; a failing part is reported and the others still run; the
# exit status is the number of parts that failed.
# Usage: bench/gpu_check.sh [--batch N] [--steps N]
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

batch=32
steps=10
while [ $# -gt 0 ]; do
  case $1 in
    --batch) batch=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "$0: unknown option $1" >&2; exit 1 ;;
  esac
done

failed=0
part() {  # part SECONDS TITLE COMMAND...: run with a time limit, report the outcome
  local limit=$1 title=$2
  shift 2
  echo "== $title (limit ${limit}s)"
  local start=$SECONDS
  if timeout "$limit" "$@"; then
    echo "== $title: ok in $((SECONDS - start)) s"
  else
    echo "== $title: FAILED (status $?) after $((SECONDS - start)) s"
    failed=$((failed + 1))
  fi
}

python - <<'EOF' || exit 1
import torch
if not torch.cuda.is_available():
    raise SystemExit("gpu_check: torch sees no CUDA device (a CPU build of torch?)")
from pase.models import qrnn_cuda
names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {len(names)} GPU(s): {names}")
print(f"QRNN cupy kernel: {'yes' if qrnn_cuda.available() else 'no (the PyTorch scan runs)'}")
EOF

part 180 "CUDA tests" python -m pytest -q -m cuda tests/cuda -p no:cacheprovider
part 90 "encoder RTF on the GPU" python bench/encoder.py --device cuda --batches 1x10,32x10 \
  --skip-long --skip-stream --repeats 5
part 100 "PASE+ training, float32" python bench/train.py --device cuda --batch "$batch" \
  --steps "$steps" --warmup 2 --num_workers 8
part 100 "PASE+ training, AMP" python bench/train.py --device cuda --batch "$batch" \
  --steps "$steps" --warmup 2 --num_workers 8 --amp
echo "== gpu_check: $failed part(s) failed"
exit "$failed"
