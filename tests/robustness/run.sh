#!/usr/bin/env bash
# run.sh - the robustness suite: hostile inputs thrown at the built binary, each
# case checked for the behaviour the README promises.
#
#   images   the bad-image corpus of ../shared/assets plus variants made here
#            (truncated, bit-flipped, huge dimensions in the header): `faces`
#            reads each one or refuses it with "error: FILE: reason"
#   models   the conformance kit's models copied as a tree of links into a
#            temporary folder, one file corrupted per case (truncated
#            safetensors, bad header lengths, bad JSON configs, wrong shapes,
#            NaN weights, FIFOs): `generate` refuses with a one-line error naming
#            the file, or fails the job naming the step for NaN weights
#   pickles  torch checkpoints whose pickle tries to run a command that would
#            create a marker file: refused, and the marker never appears
#   batch    kill -9 and resume loops, Ctrl-C and SIGTERM (130 / 143 and a
#            resume command that completes the plan), two batches on one log,
#            a full disk (a small tmpfs as root, else RLIMIT_FSIZE)
#   paths    FIFOs as inputs, special files and inputs as outputs
#
# Every case runs under a timeout (a hang fails it) and fails on a crash or a
# sanitizer report. Prints one line per failure and a summary "robustness: N
# hostile cases, M ended as expected"; exits 1 when M < N, 77 (skipped) without
# the kit. Env: IID_BINARY (the instantid binary), IID_SHARED (../shared).
set -u
export LC_ALL=C

BIN=${IID_BINARY:?set IID_BINARY to the instantid binary}
SHARED=${IID_SHARED:-$(dirname "$0")/../../../shared}
KIT=$SHARED/conformance/models
BAD=$SHARED/assets/bad-inputs
FACES=$SHARED/assets/faces
if [ ! -d "$KIT" ] || [ ! -d "$BAD" ]; then
  echo "robustness: SKIPPED: no conformance kit or bad-input corpus under $SHARED"
  exit 77
fi
# The Resampler's head count cannot be read from shapes; the kit records it.
# The first "heads" is the kit's (resampler_hyperparameters); the second the real file's.
HEADS=$(grep -o '"heads": *[0-9]*' "$SHARED/conformance/golden/ip_adapter_layout.json" | head -1 | grep -o '[0-9]*$')

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1

ran=0
good=0
RC=0

# run SECONDS CMD...: RC, and stdout+stderr in $WORK/out.
run() {
  local limit=$1
  shift
  timeout -k 5 "$limit" "$@" >"$WORK/out" 2>&1 </dev/null
  RC=$?
}

crashed() {
  [ "$RC" -ge 124 ] || grep -q -e 'AddressSanitizer' -e 'runtime error:' -e 'LeakSanitizer' "$WORK/out"
}

verdict() { # verdict NAME OK(0/1) WHY
  ran=$((ran + 1))
  if [ "$2" = 0 ]; then
    good=$((good + 1))
  else
    echo "FAIL $1: $3 (exit $RC): $(head -c 400 "$WORK/out" | tr '\n' ' ')"
  fi
}

# refused NAME NEEDLE CMD...: exits 1 or 2, says NEEDLE, no crash, no hang.
refused() {
  local name=$1 needle=$2
  shift 2
  run 60 "$@"
  local ok=0 why=""
  if crashed; then ok=1 why="crashed or hung"
  elif [ "$RC" != 1 ] && [ "$RC" != 2 ]; then ok=1 why="expected exit 1 or 2"
  elif ! grep -qF -- "$needle" "$WORK/out"; then ok=1 why="no message naming '$needle'"
  fi
  verdict "$name" "$ok" "$why"
}

MODELS=(--models "$KIT" --resampler-heads "$HEADS")
cp "$FACES/frontal_astronaut.png" face.png
GEN=(generate --face face.png --size 64x64 --steps 1 --quiet)

# ---- images ----------------------------------------------------------------

# image NAME FILE: `faces` reads it (exit 0) or refuses it as "error: FILE: ...".
image() {
  run 60 "$BIN" faces --models "$KIT" "$2"
  local ok=0 why=""
  if crashed; then ok=1 why="crashed or hung"
  elif [ "$RC" = 1 ] && ! grep -qF "error: $2: " "$WORK/out"; then ok=1 why="refused without naming the file"
  elif [ "$RC" != 0 ] && [ "$RC" != 1 ]; then ok=1 why="expected exit 0 or 1"
  fi
  verdict "$1" "$ok" "$why"
}

for f in "$BAD"/*; do
  image "corpus $(basename "$f")" "$f"
done
mkdir -p variants
# byte N: the byte of value N on stdout.
byte() {
  # shellcheck disable=SC2059 # the format is the octal escape itself
  printf "\\$(printf '%03o' "$1")"
}
# flip SRC DST OFFSET: a copy with the byte at OFFSET inverted.
flip() {
  cp "$1" "$2"
  local b
  b=$(od -An -tu1 -j "$3" -N1 "$1" | tr -d ' ')
  byte $((255 - b)) | dd of="$2" bs=1 seek="$3" conv=notrunc status=none
}
for src in "$FACES/frontal_astronaut.png" "$FACES/frontal_grace_hopper.jpg"; do
  base=$(basename "$src")
  size=$(stat -c %s "$src")
  for pct in 1 10 50 90 99; do
    head -c $((size * pct / 100)) "$src" >"variants/cut${pct}_$base"
    image "truncated to $pct% $base" "variants/cut${pct}_$base"
  done
  for off in 0 3 12 20 100 400 $((size / 2)) $((size - 5)); do
    flip "$src" "variants/flip${off}_$base" "$off"
    image "bit-flipped at $off $base" "variants/flip${off}_$base"
  done
done
# Huge dimensions in the header: PNG IHDR width/height (the CRC no longer
# matches, which is a hostile case too) and a JPEG SOF0 of 65535 x 65535.
cp "$FACES/frontal_astronaut.png" variants/huge_ihdr.png
printf '\x7f\xff\xff\xff\x7f\xff\xff\xff' | dd of=variants/huge_ihdr.png bs=1 seek=16 conv=notrunc status=none
image "PNG header 2^31-1 square" variants/huge_ihdr.png
sof=$(grep -obUaP '\xff\xc0' "$FACES/frontal_grace_hopper.jpg" | head -1 | cut -d: -f1)
cp "$FACES/frontal_grace_hopper.jpg" variants/huge_sof.jpg
printf '\xff\xff\xff\xff' | dd of=variants/huge_sof.jpg bs=1 seek=$((sof + 5)) conv=notrunc status=none
image "JPEG SOF0 65535x65535" variants/huge_sof.jpg

# ---- models ----------------------------------------------------------------

# kit_copy DIR: the kit as a tree of links; break one file by replacing its link.
kit_copy() {
  rm -rf "$1"
  cp -rs "$KIT" "$1"
}
# broken_model NAME REL NEEDLE EDIT...: copy the kit, replace REL by the output
# of EDIT run on the original (stdin) and expect generate to refuse naming NEEDLE.
broken_model() {
  local name=$1 rel=$2 needle=$3
  shift 3
  kit_copy m
  rm -f "m/$rel"
  "$@" <"$KIT/$rel" >"m/$rel"
  refused "model: $name" "$needle" "$BIN" "${GEN[@]}" --models m --resampler-heads "$HEADS" -o m_out.png
  if [ -e m_out.png ]; then
    verdict "model: $name leaves no output" 1 "m_out.png was written"
    rm -f m_out.png
  fi
}
UNET=sdxl/unet/diffusion_pytorch_model.safetensors
unet_size=$(stat -c %s "$KIT/$UNET")
cut_to() { head -c "$1"; }
# put_u64 VALUE: 8 little-endian bytes, then the rest of stdin after its first 8.
put_u64() {
  local v=$1 i
  for i in 0 1 2 3 4 5 6 7; do byte $(((v >> (8 * i)) & 255)); done
  tail -c +9
}
broken_model "unet truncated to half" "$UNET" "diffusion_pytorch_model.safetensors" cut_to $((unet_size / 2))
broken_model "unet truncated to 8 bytes" "$UNET" "diffusion_pytorch_model.safetensors" cut_to 8
broken_model "unet truncated to 3 bytes" "$UNET" "diffusion_pytorch_model.safetensors" cut_to 3
broken_model "unet empty" "$UNET" "diffusion_pytorch_model.safetensors" cut_to 0
broken_model "unet header length 2^63-1" "$UNET" "diffusion_pytorch_model.safetensors" put_u64 9223372036854775807
broken_model "unet header length 0" "$UNET" "diffusion_pytorch_model.safetensors" put_u64 0
broken_model "unet header length = file size" "$UNET" "diffusion_pytorch_model.safetensors" put_u64 "$unet_size"
broken_model "unet header length 5 (inside the JSON)" "$UNET" "diffusion_pytorch_model.safetensors" put_u64 5
broken_model "unet header not JSON" "$UNET" "diffusion_pytorch_model.safetensors" \
  sed '1s/{"__metadata__"/{"__metadata__"x/; 1s/"format":"pt"}/"format":"pt" /'
broken_model "unet tensor of wrong shape" "$UNET" "add_embedding.linear_1.weight" \
  sed 's/"add_embedding.linear_1.weight":{"dtype":"F32","shape":\[128,88\]/"add_embedding.linear_1.weight":{"dtype":"F32","shape":[88,128]/'
broken_model "unet tensor data outside the file" "$UNET" "diffusion_pytorch_model.safetensors" \
  sed 's/"data_offsets":\[0,512\]/"data_offsets":[0,999]/'
broken_model "unet dtype unknown" "$UNET" "diffusion_pytorch_model.safetensors" \
  sed '0,/"dtype":"F32"/s//"dtype":"Q32"/'
broken_model "unet config truncated" sdxl/unet/config.json "config.json" cut_to 100
broken_model "unet config not JSON" sdxl/unet/config.json "config.json" sed 's/:/=/'
broken_model "unet config attention_head_dim [2]" sdxl/unet/config.json "attention_head_dim" \
  sed -z 's/"attention_head_dim": \[[^]]*\]/"attention_head_dim": [2]/'
broken_model "unet config in_channels -4" sdxl/unet/config.json "in_channels" sed 's/"in_channels": 4/"in_channels": -4/'
broken_model "controlnet config truncated" ControlNetModel/config.json "config.json" cut_to 50
broken_model "controlnet weights truncated" ControlNetModel/diffusion_pytorch_model.safetensors \
  "diffusion_pytorch_model.safetensors" cut_to 4000
broken_model "vae config not JSON" sdxl/vae/config.json "config.json" sed 's/}/]/'
broken_model "text encoder truncated" sdxl/text_encoder/model.safetensors "model.safetensors" cut_to 1000
broken_model "tokenizer vocab not JSON" sdxl/tokenizer/vocab.json "vocab.json" cut_to 40
broken_model "ip-adapter.bin truncated" ip-adapter.bin "ip-adapter.bin" cut_to 5000
broken_model "ip-adapter.bin garbage" ip-adapter.bin "ip-adapter.bin" sed 's/[a-z]/\x00/g'
broken_model "detector onnx truncated" antelopev2/det_2.5g.onnx "det_2.5g.onnx" cut_to 3000
broken_model "recogniser onnx garbage" antelopev2/tiny_iresnet.onnx "tiny_iresnet.onnx" sed 's/[A-Za-z]/\xff/g'

# NaN weights: the VAE's last 64 KiB of tensor data become NaN; the job fails
# naming the stage instead of writing a black PNG.
kit_copy m
rm -f m/sdxl/vae/diffusion_pytorch_model.safetensors
cp "$KIT/sdxl/vae/diffusion_pytorch_model.safetensors" m/sdxl/vae/
vsize=$(stat -c %s m/sdxl/vae/diffusion_pytorch_model.safetensors)
head -c 65536 /dev/zero | tr '\0' '\377' |
  dd of=m/sdxl/vae/diffusion_pytorch_model.safetensors bs=1 seek=$((vsize - 65536)) conv=notrunc status=none
refused "model: NaN VAE weights" "NaN or infinite" "$BIN" "${GEN[@]}" --models m --resampler-heads "$HEADS" -o nan.png
[ -e nan.png ] && verdict "model: NaN VAE leaves no output" 1 "nan.png was written"
# Huge initial latents overflow in the first step.
{
  printf '['
  for ((i = 0; i < 255; i++)); do printf '1e38,'; done
  printf '1e38]'
} >huge_latents.json
refused "latents 1e38" "after step 1" "$BIN" "${GEN[@]}" "${MODELS[@]}" --latents huge_latents.json -o huge.png
[ -e huge.png ] && verdict "latents 1e38 leaves no output" 1 "huge.png was written"
# A FIFO instead of a config or weight file: refused at once, never a blocked open().
kit_copy m
rm -f m/sdxl/unet/config.json m/ControlNetModel/diffusion_pytorch_model.safetensors
mkfifo m/sdxl/unet/config.json m/ControlNetModel/diffusion_pytorch_model.safetensors
refused "model: FIFO unet config" "config.json: not a regular file (a FIFO)" \
  "$BIN" "${GEN[@]}" --models m --resampler-heads "$HEADS" -o fifo_out.png
rm -f m/sdxl/unet/config.json
ln -s "$KIT/sdxl/unet/config.json" m/sdxl/unet/config.json
refused "model: FIFO controlnet weights" "a FIFO" "$BIN" "${GEN[@]}" --models m --resampler-heads "$HEADS" -o fifo_out.png

# ---- pickles ---------------------------------------------------------------

MARKER=$WORK/pwned
# str S: a pickle BINUNICODE string.
str() {
  local n=${#1} i
  printf 'X'
  for i in 0 1 2 3; do byte $(((n >> (8 * i)) & 255)); done
  printf '%s' "$1"
}
short() { # SHORT_BINUNICODE (protocol 4)
  printf '\x8c'
  byte ${#1}
  printf '%s' "$1"
}
CMD="touch $MARKER"
pickle_case() { # pickle_case NAME: the pickle on stdin, zipped as a torch checkpoint
  local name=$1 d
  d=$(mktemp -d "$WORK/pk.XXXX")
  mkdir -p "$d/archive"
  cat >"$d/archive/data.pkl"
  printf '3\n' >"$d/archive/version"
  (cd "$d" && zip -q -X evil.bin archive/data.pkl archive/version)
  if [ ! -s "$d/evil.bin" ]; then
    RC=0
    verdict "pickle: $name" 1 "zip could not build the checkpoint (is zip installed?)"
    return
  fi
  cp "$d/evil.bin" "evil_$ran.bin"
  refused "pickle: $name" "evil_$ran.bin" "$BIN" info --models "$KIT" --ip-adapter "evil_$ran.bin"
  if [ -e "$MARKER" ]; then
    verdict "pickle: $name ran code" 1 "the marker file was created"
    rm -f "$MARKER"
  fi
}
{ printf '\x80\x02cposix\nsystem\n'; str "$CMD"; printf '\x85R.'; } | pickle_case "posix.system"
{ printf '\x80\x02cos\nsystem\n'; str "$CMD"; printf '\x85R.'; } | pickle_case "os.system"
{ printf '\x80\x02cbuiltins\neval\n'; str "__import__('os').system('$CMD')"; printf '\x85R.'; } | pickle_case "builtins.eval"
{ printf '\x80\x02c__builtin__\nexec\n'; str "import os; os.system('$CMD')"; printf '\x85R.'; } | pickle_case "__builtin__.exec"
{ printf '\x80\x02csubprocess\ncheck_call\n(('; str touch; str "$MARKER"; printf 'ltR.'; } | pickle_case "subprocess.check_call"
{ printf '\x80\x04'; short posix; short system; printf '\x93'; str "$CMD"; printf '\x85R.'; } | pickle_case "STACK_GLOBAL posix.system"
{ printf '('; str "$CMD"; printf 'ios\nsystem\n.'; } | pickle_case "INST os.system"
{ printf '(cos\nsystem\n'; str "$CMD"; printf 'o.'; } | pickle_case "OBJ os.system"
{ printf '\x80\x02}'; str weight; printf 'cos\nsystem\n'; str "$CMD"; printf '\x85Rs.'; } | pickle_case "inside a state dict"
{ printf '\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(cos\nsystem\n'; str "$CMD"; printf '\x85RtR.'; } |
  pickle_case "nested in _rebuild_tensor_v2"
# And through the model loader of generate.
{ printf '\x80\x02cposix\nsystem\n'; str "$CMD"; printf '\x85R.'; } >data.pkl
mkdir -p gen_pk/archive && mv data.pkl gen_pk/archive/ && (cd gen_pk && zip -q -X ../evil_gen.bin archive/data.pkl)
refused "pickle: posix.system via generate" "evil_gen.bin" "$BIN" "${GEN[@]}" "${MODELS[@]}" --ip-adapter evil_gen.bin -o pk.png
[ -e "$MARKER" ] && verdict "pickle via generate ran code" 1 "the marker file was created"

# ---- paths -----------------------------------------------------------------

mkfifo fifo_in.png fifo.ini
# A FIFO as the only --face (with several photos of one person, a bad one is left
# out with its reason instead).
refused "path: FIFO --face" "fifo_in.png: not a regular file (a FIFO)" \
  "$BIN" generate --size 64x64 --steps 1 --quiet "${MODELS[@]}" --face fifo_in.png -o p.png
refused "path: FIFO --pose" "fifo_in.png: not a regular file (a FIFO)" "$BIN" "${GEN[@]}" "${MODELS[@]}" --pose fifo_in.png -o p.png
refused "path: FIFO --config" "fifo.ini: not a regular file (a FIFO)" "$BIN" "${GEN[@]}" --config fifo.ini -o p.png
refused "path: FIFO batch --config" "fifo.ini" "$BIN" batch --config fifo.ini --input . --seed 1
cp face.png face_before.png
refused "path: -o is --face" "is the input" "$BIN" "${GEN[@]}" "${MODELS[@]}" -o ./face.png
refused "path: -o is --pose" "is the input" "$BIN" "${GEN[@]}" "${MODELS[@]}" --pose face_before.png -o variants/../face_before.png
refused "path: -o is a second --face" "is the input" \
  "$BIN" "${GEN[@]}" "${MODELS[@]}" --face face_before.png -o ./face_before.png
cmp -s face.png "$FACES/frontal_astronaut.png"
RC=$?
verdict "path: the face photo is unchanged" "$RC" "face.png was modified"
mkfifo out_fifo.png
refused "path: -o is a FIFO" "out_fifo.png: exists and is a FIFO" "$BIN" "${GEN[@]}" "${MODELS[@]}" -o out_fifo.png
[ -p out_fifo.png ]
RC=$?
verdict "path: the FIFO output is still a FIFO" "$RC" "out_fifo.png was replaced"
if [ "$(id -u)" = 0 ] && mknod full_dev c 1 7 2>/dev/null; then
  # Our own /dev/full node: the reported case was root turning /dev/full into a PNG.
  refused "path: -o is a device (as root)" "exists and is a device" "$BIN" "${GEN[@]}" "${MODELS[@]}" -o full_dev
  [ -c full_dev ]
  RC=$?
  verdict "path: the device is still a device" "$RC" "full_dev was replaced"
fi
mkdir -p same
cp face.png same/
refused "path: batch --output is --input" "is the input folder" "$BIN" batch "${MODELS[@]}" --input same --output ./same/ --seed 1

# ---- batch -----------------------------------------------------------------

mkdir -p in
cp "$FACES/frontal_astronaut.png" in/astronaut.png
# Prompts without commas, so the log's columns can be cut without a CSV parser.
PLAN=(--input in --size 64x64 --steps 12:12 --seed 7 --styles "Watercolor,Neon" --loops 4 --prompt portrait
  --negative-prompt blurry --quiet)
NJOBS=8

rows() { # rows LOG: complete data rows
  [ -f "$1" ] || { echo 0; return; }
  echo $(($(grep -c $'\r$' "$1") - 1))
}
wait_rows() { # wait_rows LOG N PID: until the log holds N rows (at most 60 s, or PID ended)
  local i
  for ((i = 0; i < 600; i++)); do
    [ "$(rows "$1")" -ge "$2" ] && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
# plan_done NAME LOG: every job of the plan succeeded exactly once.
plan_done() {
  local ok=0 why="" ids
  if grep -q '"' "$2"; then ok=1 why="unexpected quoted fields"
  else
    ids=$(tail -n +2 "$2" | cut -d, -f8,15 | grep '^True,' | cut -d, -f2 | tr -d '\r' | sort -n | uniq -c)
    if [ "$(echo "$ids" | grep -c .)" != "$NJOBS" ]; then ok=1 why="not every job succeeded: $ids"
    elif echo "$ids" | grep -qv '^ *1 '; then ok=1 why="a job succeeded twice: $ids"
    fi
  fi
  verdict "$1" "$ok" "$why"
}

# kill -9 three times at different points, then resume to the end.
for k in 1 2 3; do
  "$BIN" batch "${MODELS[@]}" "${PLAN[@]}" --log kill.csv --output out_kill --resume >/dev/null 2>&1 &
  pid=$!
  wait_rows kill.csv "$k" "$pid"
  kill -9 "$pid"
  wait "$pid" 2>/dev/null
  # Leave half a row behind, as a crash mid-write would.
  [ "$k" = 2 ] && printf 'astronaut.png,x,1.0,0.8,12,7,1,True,,Neon,"half a ro' >>kill.csv
done
run 300 "$BIN" batch "${MODELS[@]}" "${PLAN[@]}" --log kill.csv --output out_kill --resume
verdict "batch: resume after three kill -9" "$RC" "resume failed"
plan_done "batch: kill -9 loop completes the plan once" kill.csv
# no_tmp DIR: no temporary file of an atomic write is left in DIR.
no_tmp() { ! compgen -G "$1/*.tmp.*" >/dev/null; }
no_tmp out_kill
RC=$?
verdict "batch: no temporary files after kill -9" "$RC" "a .tmp file was left in out_kill"

# Ctrl-C and SIGTERM: 130 / 143 and a resume command that completes the plan.
for sig in INT TERM; do
  want=$([ "$sig" = INT ] && echo 130 || echo 143)
  "$BIN" batch "${MODELS[@]}" "${PLAN[@]}" --log "sig$sig.csv" --output "out_$sig" >/dev/null 2>"sig$sig.err" &
  pid=$!
  wait_rows "sig$sig.csv" 1 "$pid"
  kill -"$sig" "$pid"
  wait "$pid"
  RC=$?
  cp "sig$sig.err" "$WORK/out"
  ok=0
  [ "$RC" = "$want" ] && [ "$(rows "sig$sig.csv")" -lt "$NJOBS" ] || ok=1
  verdict "batch: SIG$sig exits $want before the end" "$ok" "wrong exit code or the plan ran to its end"
  resume=$(grep -A1 'to resume:' "sig$sig.err" | tail -1)
  case "$resume" in
  *"instantid batch --resume --seed 7 "*) ok=0 ;;
  *) ok=1 ;;
  esac
  verdict "batch: SIG$sig prints the resume command" "$ok" "no resume command"
  # Run the printed command as printed (with this binary for 'instantid').
  run 300 bash -c "instantid() { \"\$IID_BINARY\" \"\$@\"; }; $resume"
  verdict "batch: the printed resume command runs" "$RC" "it failed"
  plan_done "batch: SIG$sig + resume completes the plan once" "sig$sig.csv"
done

# Two batches on one log: the second refuses at once, naming the holder.
"$BIN" batch "${MODELS[@]}" "${PLAN[@]}" --log two.csv --output out_two >/dev/null 2>&1 &
pid=$!
wait_rows two.csv 1 "$pid"
start=$SECONDS
refused "batch: a second batch on a held log" "another batch is writing this log (pid $pid " \
  "$BIN" batch "${MODELS[@]}" "${PLAN[@]}" --log two.csv --output out_two2
[ $((SECONDS - start)) -le 10 ]
verdict "batch: the second batch refuses at once" "$?" "took $((SECONDS - start)) s"
wait "$pid"
RC=$?
verdict "batch: the first batch finishes" "$RC" "it failed"
plan_done "batch: two batches on one log run each job once" two.csv
[ ! -e two.csv.lock ]
verdict "batch: the lock note is removed at the end" "$?" "two.csv.lock is left"

# A full disk: a 32 KiB tmpfs as root, else a 4 KiB file-size limit (smaller
# than one PNG). The run
# may stop (exit 2: the log cannot be written) or log failed jobs (exit 0), but
# never leaves a partial PNG or a temporary file, and its log stays readable.
full=""
if [ "$(id -u)" = 0 ] && mkdir -p disk && mount -t tmpfs -o size=32k tmpfs disk 2>/dev/null; then
  full=tmpfs
  run 300 "$BIN" batch "${MODELS[@]}" "${PLAN[@]}" --log disk/full.csv --output disk/out
  cp "$WORK/out" full.out
else
  full=RLIMIT_FSIZE
  mkdir -p disk
  run 300 bash -c 'trap "" XFSZ; ulimit -f 4; exec "$@"' _ "$BIN" batch "${MODELS[@]}" "${PLAN[@]}" \
    --log disk/full.csv --output disk/out
  cp "$WORK/out" full.out
fi
ok=0 why=""
if crashed; then ok=1 why="crashed"
elif [ "$RC" != 0 ] && [ "$RC" != 2 ]; then ok=1 why="expected exit 0 or 2"
fi
verdict "batch: full disk ($full) ends cleanly" "$ok" "$why"
bad_png=0
for p in disk/out/*.png; do
  [ -e "$p" ] || continue
  [ "$(tail -c 8 "$p" | od -An -tx1 | tr -d ' \n')" = "49454e44ae426082" ] || bad_png=1
done
verdict "batch: full disk ($full) leaves no partial PNG" "$bad_png" "a PNG without IEND"
no_tmp disk/out
verdict "batch: full disk ($full) leaves no temporary file" "$?" "a .tmp file is left"
run 60 "$BIN" merge disk/full.csv -o merged_full.csv
verdict "batch: full disk ($full) log is still readable" "$RC" "merge cannot read it"
[ "$full" = tmpfs ] && umount disk

echo "robustness: $ran hostile cases, $good ended as expected"
[ "$good" = "$ran" ]
