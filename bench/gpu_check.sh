#!/usr/bin/env bash
# gpu_check.sh - the one script that checks the CUDA backend on a lent GPU machine.
#
#   bench/gpu_check.sh prepare   HERE (the development machine): lays out bench/scratch/gpu/
#                                (ignored by git, about 60 MB): the C libraries the build
#                                links (Debian packages unpacked into a sysroot, since the GPU
#                                machine reaches no package registry), the conformance kit's
#                                diffusion models and goldens, the diffusers reference for the
#                                PyTorch baseline, and torch_baseline.py.
#   bench/gpu_check.sh           ON THE GPU MACHINE, from the repository root, with
#                                bench/scratch/gpu carried (the device tool's run:
#                                carry ["bench/scratch/gpu"], timeout_s 600). Leaves three
#                                files in $OUT (default /tmp/gpu-check; the device tool
#                                returns at most 8): summary.txt, gpu_check.log and
#                                results.tar.gz (every part's output, the tiny-kit PNGs;
#                                re-packed after each part, so a timeout keeps what ran).
#   bench/gpu_check.sh quick     the same, parts 1 to 4 only (no benchmarks): about 3 minutes,
#                                for a rerun after a fix.
#
# The run, each part under its own time limit so one hang cannot eat the rest (about 6
# minutes on an H100 if everything works):
#   1. the card, driver and toolkit (machine.txt);
#   2. a Release build with -DIID_CUDA=ON -DIID_BENCH=ON (sm_90) against the carried sysroot;
#   3. the backend-ops harness on cuda (test_backend_ops --backend cuda: every op against the
#      reference, bf16 thresholds per op; backend_ops.txt);
#   4. the conformance runner on cuda, diffusion stages, with f32 weights
#      (IID_CUDA_WEIGHTS=f32: must pass at the kit's f32 tolerances, the whole tiny-kit
#      pipeline included) and with the default bf16 weights (the bf16 error, for the record);
#      then `instantid generate` on the tiny kit from a photo (64x64, 4 steps, one seed) on cpu
#      and on cuda, the images compared (bench/compare_png.py): f32 weights within a mean of
#      0.5 and at most 2 levels per value, bf16 weights within a mean of 3 and at most 24;
#   5. bench_make_weights into a scratch folder, then bench_step --backend cuda: one guided
#      step at 1024x1024, and a whole 30-step generation with its VAE decode, seconds and
#      peak GPU memory;
#   6. PyTorch/diffusers on the same card (bench/torch_cuda.py, fp16): the same step and
#      generation, for the ratio;
#   7. summary.txt: one line per part, PASS / FAIL / the figures.
set -uo pipefail
cd "$(dirname "$0")/.."
G=bench/scratch/gpu

prepare() {
  set -e
  local shared=${IID_SHARED_DIR:-../shared} ref=${TORCH_REF:-/tmp/torch-ref}
  rm -rf "$G" && mkdir -p "$G/debs" "$G/sysroot"
  # the packages of scripts/install-deps.sh that the build links, with their own
  # libraries, plus pkgconf to read their .pc files
  (cd "$G/debs" && apt-get download -q \
    libopenblas-dev libopenblas-pthread-dev libopenblas0-pthread libopenblas0 libgfortran5 \
    libcjson-dev libcjson1 libzip-dev libzip4 libutf8proc-dev libutf8proc2 libpng-dev libpng16-16 \
    libjpeg-dev libjpeg62-turbo-dev libjpeg62-turbo libwebp-dev libwebp7 libwebpdemux2 libwebpmux3 \
    libmicrohttpd-dev libmicrohttpd12 libcmocka-dev libcmocka0 zlib1g-dev libbz2-dev \
    libgnutls30 libnettle8 libhogweed6 libtasn1-6 libp11-kit0 libidn2-0 libunistring2 libgmp10 libffi8 \
    libfreetype-dev libfreetype6 libfontconfig-dev libfontconfig1 libexpat1 libexpat1-dev \
    libbrotli-dev libbrotli1 uuid-dev libuuid1 nettle-dev \
    pkgconf pkgconf-bin libpkgconf3)
  for f in "$G"/debs/*.deb; do dpkg -x "$f" "$G/sysroot"; done
  rm -rf "$G/debs" "$G/sysroot/usr/share/doc" "$G/sysroot/usr/share/man"
  find "$G/sysroot" -name '*.a' -delete  # shared linking only
  # libmicrohttpd.pc names gnutls privately; shared linking needs nothing from it
  printf 'Name: gnutls\nDescription: stub for libmicrohttpd.pc\nVersion: 3.7.9\nLibs:\nCflags:\n' \
    > "$G/sysroot/usr/lib/x86_64-linux-gnu/pkgconfig/gnutls.pc"
  tar -C "$G/sysroot" -cJf "$G/sysroot.tar.xz" . && rm -rf "$G/sysroot"
  # the kit without the face stages' photos and the single-file checkpoints
  mkdir -p "$G/kit/models"
  cp "$shared"/conformance/*.md "$shared"/conformance/*.json "$G/kit/"
  cp -r "$shared/conformance/golden" "$G/kit/"
  cp -r "$shared/conformance/models/sdxl" "$shared/conformance/models/ControlNetModel" \
        "$shared/conformance/models/antelopev2" "$shared/conformance/models/ip-adapter.safetensors" "$G/kit/models/"
  cp "$shared/assets/faces/frontal_astronaut.png" "$G/face.png"
  cp "$shared/bench/torch_baseline.py" "$G/"
  if [ -d "$ref/diffusers" ]; then tar -C "$ref" -cJf "$G/torch-ref.tar.xz" .; else
    echo "no diffusers reference at $ref (see $shared/bench/README.md): the PyTorch part will be skipped"; fi
  du -sh "$G"
  echo "then: device run, carry [\"$G\"], command \"bench/gpu_check.sh\", timeout_s 600"
}

[ "${1:-}" = prepare ] && { prepare; exit $?; }

RES=${OUT:-/tmp/gpu-check}
OUT=/tmp/gpu-check-files # the parts' files; packed into $RES/results.tar.gz
rm -rf "$OUT" && mkdir -p "$OUT" "$RES"
exec > >(tee "$RES/gpu_check.log") 2>&1
T0=$(date +%s)
summary() { echo "$*" | tee -a "$RES/summary.txt"; tar -czf "$RES/results.tar.gz" -C "$OUT" .; }
: > "$RES/summary.txt"
export PYTHONUNBUFFERED=1
[ -f "$G/sysroot.tar.xz" ] || { summary "FAIL: $G/sysroot.tar.xz missing: run 'bench/gpu_check.sh prepare' here and carry $G"; exit 1; }

echo "== 1. machine"
{ date -u; nvidia-smi; nvidia-smi -q | grep -i "addressing mode"; nvcc --version; gcc --version | head -1; cmake --version | head -1; } > "$OUT/machine.txt" 2>&1
summary "card: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null)"

echo "== 2. build"
S=/tmp/iid-sysroot; L=$S/usr/lib/x86_64-linux-gnu
rm -rf "$S" && mkdir -p "$S" && tar -C "$S" -xJf "$G/sysroot.tar.xz"
# our binaries find the sysroot's libraries; Python (PyTorch) keeps the machine's own path (py)
ORIG_LD=${LD_LIBRARY_PATH:-}
export LD_LIBRARY_PATH=$L:$L/openblas-pthread:$S/lib/x86_64-linux-gnu${ORIG_LD:+:$ORIG_LD}
py() { LD_LIBRARY_PATH=$ORIG_LD python3 "$@"; }
export PKG_CONFIG_SYSROOT_DIR=$S PKG_CONFIG_LIBDIR=$L/pkgconfig:$L/openblas-pthread/pkgconfig:$S/usr/share/pkgconfig
B=build-gpu
if timeout 300 cmake -S . -B $B -DCMAKE_BUILD_TYPE=Release -DIID_CUDA=ON -DIID_BENCH=ON \
     -DPKG_CONFIG_EXECUTABLE=$S/usr/bin/pkgconf -DIID_SHARED_DIR="$PWD/$G" > "$OUT/build.txt" 2>&1 &&
   timeout 300 cmake --build $B -j "$(nproc)" --target instantid test_backend_ops conformance bench_step \
     bench_make_weights >> "$OUT/build.txt" 2>&1; then
  summary "build: PASS ($(grep -ci warning "$OUT/build.txt") warning lines)"
else
  summary "build: FAIL (build.txt)"; tail -30 "$OUT/build.txt"; exit 1
fi

echo "== 3. backend-ops harness on cuda"
timeout 120 $B/tests/test_backend_ops --backend cuda > "$OUT/backend_ops.txt" 2>&1
rc=$?; summary "backend_ops --backend cuda: $([ $rc = 0 ] && echo PASS || echo "FAIL rc=$rc") (backend_ops.txt)"
timeout 60 $B/tests/test_backend_ops --perf > "$OUT/backend_ops_perf.txt" 2>&1

echo "== 4. conformance on cuda"
STAGES=tokenizer,text_encoders,resampler,controlnet,unet,unet_plain,schedulers,vae_decode,pipeline,pipeline_full,draw_kps,resize_img,style_templates
for w in f32 bf16; do
  IID_CUDA_WEIGHTS=$w timeout 240 $B/tests/conformance --kit "$G/kit" --backend cuda --stage $STAGES \
    > "$OUT/conformance_$w.txt" 2>&1
  rc=$?; summary "conformance --backend cuda, $w weights: $(tail -1 "$OUT/conformance_$w.txt") rc=$rc"
done

heads=$(py -c "import json,sys; print(json.load(open(sys.argv[1]))['resampler_hyperparameters']['heads'])" \
  "$G/kit/golden/ip_adapter_layout.json")
gen() { # backend weights out
  IID_CUDA_WEIGHTS=$2 timeout 120 $B/instantid generate --backend "$1" --models "$G/kit/models" --resampler-heads "$heads" \
    --face "$G/face.png" --size 64x64 --steps 4 --seed 5 --prompt "a photo" -o "$OUT/$3" >> "$OUT/pipeline_images.txt" 2>&1
}
gen cpu f32 tiny_cpu.png
for w in f32 bf16; do
  if [ $w = f32 ]; then lim="0.5 2"; else lim="3 24"; fi
  if gen cuda $w "tiny_cuda_$w.png"; then
    # shellcheck disable=SC2086 # two limits
    summary "tiny-kit image, cuda $w weights vs cpu f32: $(py bench/compare_png.py "$OUT/tiny_cpu.png" "$OUT/tiny_cuda_$w.png" $lim)"
  else
    summary "tiny-kit image, cuda $w weights: FAIL (pipeline_images.txt)"
  fi
done

if [ "${1:-}" = quick ]; then summary "quick: stopped after part 4, total $(( $(date +%s) - T0 )) s"; exit 0; fi

echo "== 5. benchmark: ours"
W=/tmp/iid-bench-models
timeout 240 $B/bench/bench_make_weights $W > "$OUT/bench_make_weights.txt" 2>&1 || summary "bench_make_weights: FAIL"
timeout 120 $B/bench/bench_step --backend cuda $W step 1024 3 > "$OUT/bench_step_1024.txt" 2>&1
summary "ours, guided step 1024 (3 runs, first has the warm-up): $(grep '^step' "$OUT/bench_step_1024.txt" | awk '{print $5}' | tr '\n' ' ')s"
timeout 240 $B/bench/bench_step --backend cuda $W generate 1024 30 > "$OUT/bench_generate_1024.txt" 2>&1
summary "ours, 30-step 1024 generation: $(grep '^generation' "$OUT/bench_generate_1024.txt" || echo FAIL)"
rm -rf $W

echo "== 6. benchmark: PyTorch/diffusers on the same card"
if [ -f "$G/torch-ref.tar.xz" ]; then
  R=/tmp/iid-torch-ref; rm -rf $R && mkdir -p $R && tar -C $R -xJf "$G/torch-ref.tar.xz"
  LD_LIBRARY_PATH=$ORIG_LD timeout 300 python3 bench/torch_cuda.py --harness "$G/torch_baseline.py" --ref $R --size 1024 --steps 30 \
    > "$OUT/torch_cuda.txt" 2>&1
  summary "torch fp16: $(grep '^RESULT' "$OUT/torch_cuda.txt" || echo "FAIL (torch_cuda.txt)")"
else
  summary "torch: skipped (no $G/torch-ref.tar.xz)"
fi
summary "total $(( $(date +%s) - T0 )) s"
