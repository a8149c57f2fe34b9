#!/usr/bin/env bash
# bench/pair.sh - the paired measurement of issue #11: our bench_step and PyTorch's
# torch_baseline.py (../shared/bench/README.md) on the same machine, in the same run,
# at the same thread count, alternating (ours, PyTorch, ours, PyTorch, ...), and the
# table of medians and ratios ours/PyTorch that bench/RESULTS.md reports.
#
#   bench/pair.sh MODELS OUT.md [--threads "1 N"] [--rounds R] [--ref DIR] [--quick]
#                 [--work "step vae"] [--dtypes "f32 auto"]
#
# MODELS: bench_make_weights' folder. --threads: the thread counts to measure (default
# "1 $(nproc)"); --rounds: alternations per configuration (default 2); --ref: the
# PyTorch reference laid out by setup_torch_ref.sh (default /tmp/torch-ref); --quick:
# 256x256 step and 512x512 decode only (a smoke run of this script, not a measurement);
# --work and --dtypes: a subset of the configurations below (default: all of them), for a
# measurement window too short for the whole table.
# Configurations: the guided 512x512 step (ours f32 vs PyTorch f32; ours --dtype auto
# vs PyTorch's best bf16 configuration) and the 1024x1024 VAE decode (ours f32 and auto
# vs PyTorch f32). Every measurement is its own process. Run it on a quiet machine:
# before each run the script waits (5 min at most) until other processes keep less than
# 0.25 CPUs busy and writes that figure into the table ("max busy"); a row where it
# still exceeded 0.5 is marked, and its ratio is not a valid figure for the targets.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 2 ] || usage
MODELS=$1 OUT=$2
shift 2
THREADS="1 $(nproc)" ROUNDS=2 REF=/tmp/torch-ref QUICK=0 WORK="step vae" DTYPES="f32 auto"
while [ $# -gt 0 ]; do
  case $1 in
    --threads) THREADS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --ref) REF=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --work) WORK=$2; shift 2 ;;
    --dtypes) DTYPES=$2; shift 2 ;;
    *) usage ;;
  esac
done
OURS=build/bench/bench_step
TORCH=../shared/bench/torch_baseline.py
PY=/usr/bin/python3
[ -x "$OURS" ] || { echo "pair.sh: $OURS missing: build with -DIID_BENCH=ON" >&2; exit 1; }
[ -d "$MODELS/sdxl/unet" ] || { echo "pair.sh: $MODELS: no bench_make_weights output" >&2; exit 1; }
[ -f "$TORCH" ] || { echo "pair.sh: $TORCH missing" >&2; exit 1; }
[ -d "$REF" ] || { echo "pair.sh: $REF: no PyTorch reference (see ../shared/bench/README.md)" >&2; exit 1; }

STEP=512 VAE=1024
[ "$QUICK" = 1 ] && STEP=256 VAE=512
RAW=$(mktemp)
trap 'rm -f "$RAW"' EXIT

# CPUs' worth of busy time over the next 2 seconds, from /proc/stat
cpus_busy() {
  local a b
  a=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat)
  sleep 2
  b=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat)
  awk -v a="$a" -v b="$b" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz / 2 }'
}

# one measurement: SIDE LABEL CONFIG THREADS COMMAND...; appends
# "label<TAB>side<TAB>config<TAB>threads<TAB>load<TAB>json" to $RAW
measure() {
  local side=$1 label=$2 config=$3 threads=$4
  shift 4
  local load json waited=0
  # CPUs busy before the run (nothing of ours runs now, so it is other processes): wait
  # until it is below 0.25 for a sample, 5 minutes at most (the load average would also
  # count the run before this one for a minute or two)
  while load=$(cpus_busy) && awk -v l="$load" 'BEGIN { exit !(l > 0.25) }' && [ $waited -lt 300 ]; do
    waited=$((waited + 2))
  done
  json=$(OMP_NUM_THREADS=$threads "$@" 2>/dev/null | sed -n 's/^RESULT //p' | tail -n 1)
  [ -n "$json" ] || json='{"error":"no RESULT line"}'
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$side" "$config" "$threads" "$load" "$json" >>"$RAW"
  echo "  $side $label ($config) threads=$threads load=$load: $json" >&2
}

wants() { case " $2 " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

for t in $THREADS; do
  for r in $(seq "$ROUNDS"); do
    echo "== threads $t, round $r" >&2
    if wants step "$WORK"; then
      if wants f32 "$DTYPES"; then
        measure ours "step$STEP f32" f32 "$t" "$OURS" "$MODELS" step "$STEP" 3 --dtype f32 --threads "$t"
        measure torch "step$STEP f32" f32 "$t" "$PY" "$TORCH" --ref "$REF" --threads "$t" --runs 2 step \
          --precision f32 --size "$STEP"
      fi
      if wants auto "$DTYPES"; then
        measure ours "step$STEP auto" auto "$t" "$OURS" "$MODELS" step "$STEP" 3 --dtype auto --threads "$t"
        for p in bf16-autocast-f32norms bf16-weights; do
          measure torch "step$STEP auto" "$p" "$t" "$PY" "$TORCH" --ref "$REF" --threads "$t" --runs 2 step \
            --precision "$p" --size "$STEP"
        done
      fi
    fi
    if wants vae "$WORK"; then
      # PyTorch's VAE runs in f32 only: each of our rows is paired with it
      for d in $DTYPES; do
        measure ours "vae$VAE $d" "$d" "$t" "$OURS" "$MODELS" vae "$VAE" --runs 2 --dtype "$d" --threads "$t"
        measure torch "vae$VAE $d" f32 "$t" "$PY" "$TORCH" --ref "$REF" --threads "$t" --runs 2 vae \
          --latent $((VAE / 8))
      done
    fi
  done
done

"$PY" - "$RAW" "$OUT" <<'EOF'
import json, statistics, subprocess, sys
raw, out = sys.argv[1], sys.argv[2]
rows = {}
for line in open(raw):
    label, side, config, threads, load, js = line.rstrip("\n").split("\t", 5)
    r = json.loads(js)
    if "seconds" in r:
        sec = r["seconds"]
    elif "times" in r:
        t = r["times"]
        sec = (t.get("total") or next(iter(t.values())))["median"]
    else:
        sec = None
    e = rows.setdefault((label, int(threads)), {"ours": {}, "torch": {}, "load": [], "rss": {"ours": [], "torch": []}})
    e["load"].append(float(load))
    if sec is not None:
        e[side].setdefault(config, []).append(sec)
        e["rss"][side].append(r.get("peak_rss_gib") or 0.0)
lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
model = next((l.split(":", 1)[1].strip() for l in lscpu.splitlines() if l.startswith("Model name")), "?")
flags = next((l.split(":", 1)[1].split() for l in lscpu.splitlines() if l.startswith("Flags")), [])
have = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
with open(out, "w") as f:
    f.write("Machine: %s; flags: %s\n\n" % (model, " ".join(have) or "none of avx2/avx512f/avx512_bf16/amx_bf16"))
    f.write("| work | threads | ours s (median) | PyTorch s (best median) | ours/PyTorch | ours peak GiB | "
            "PyTorch peak GiB | max busy CPUs before a run |\n|---|---|---|---|---|---|---|---|\n")
    for (label, threads), e in sorted(rows.items()):
        # medians per configuration; PyTorch's figure is its best configuration's median
        best = lambda side: min((statistics.median(v), c) for c, v in e[side].items()) if e[side] else (None, "-")
        o, _ = best("ours")
        p, pc = best("torch")
        label = "%s (PyTorch: %s)" % (label, pc)
        ratio = "%.2f" % (o / p) if o and p else "-"
        load = max(e["load"])
        mark = "" if load <= 0.5 else " (busy: not valid)"
        fmt = lambda v: "%.2f" % v if v is not None else "-"
        f.write("| %s | %d | %s | %s | %s%s | %s | %s | %.2f |\n" % (
            label, threads, fmt(o), fmt(p), ratio, mark, fmt(max(e["rss"]["ours"] or [0])),
            fmt(max(e["rss"]["torch"] or [0])), load))
print("wrote", out)
EOF
