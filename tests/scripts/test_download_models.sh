#!/usr/bin/env bash
# Offline tests of scripts/download-models.sh. Nothing here reaches the network: the
# only download attempts go to file:// URLs in a temporary folder or to
# http://127.0.0.1:9 (the discard port, refused), selected through IID_HF_BASE.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SCRIPT="$HERE/../../scripts/download-models.sh"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

fails=0
pass() { echo "ok   - $1"; }
fail() { echo "FAIL - $1"; fails=$((fails + 1)); }

# run NAME: runs the rest of the arguments, keeping output in $OUT and status in $RC.
run() { OUT=$("$@" 2>&1); RC=$?; }
show() { while IFS= read -r l; do echo "     | $l"; done <<<"$OUT"; }
expect_rc() { if [ "$RC" -eq "$1" ]; then pass "$2 (exit $RC)"; else fail "$2: exit $RC, expected $1"; show; fi; }
expect_out() { if grep -qE -- "$1" <<<"$OUT"; then pass "$2"; else fail "$2: no /$1/ in output"; show; fi; }
expect_no_out() { if grep -qE -- "$1" <<<"$OUT"; then fail "$2: /$1/ in output"; show; else pass "$2"; fi; }
sha() { sha256sum -- "$1" | cut -d' ' -f1; }

# Make sure no test ever falls through to the real hub.
export IID_HF_BASE=http://127.0.0.1:9
unset IID_MANIFEST

# --- help and argument errors
run bash "$SCRIPT" --help
expect_rc 0 "--help"
expect_out "--verify" "--help documents --verify"
expect_out "--only" "--help documents --only"
expect_out "[Nn]on-commercial" "--help states the insightface licence"
expect_out "OpenRAIL\+\+" "--help states the SDXL licence"
expect_out "Apache-2.0" "--help states the InstantID licence"

run bash "$SCRIPT" --bogus
expect_rc 2 "unknown option"
run bash "$SCRIPT" --only nosuchpart --verify --models "$TMP/none"
expect_rc 2 "unknown part"

# --- the built-in manifest: every row pinned to a commit, every checksum well formed
run bash "$SCRIPT" --list
expect_rc 0 "--list"
rows=$(grep -c . <<<"$OUT")
if [ "$rows" -eq 23 ]; then pass "manifest has 23 files"; else fail "manifest has $rows files, expected 23"; fi
bad_sha=$(cut -f4 <<<"$OUT" | grep -vxE 'UNPINNED|[0-9a-f]{64}')
if [ -z "$bad_sha" ]; then pass "checksums are 64 hex digits or marked UNPINNED"; else fail "malformed checksums: $bad_sha"; fi
unpinned_rev=$(cut -f5 <<<"$OUT" | tr ' ' '\n' | grep -vE '/resolve/[0-9a-f]{40}/')
if [ -z "$unpinned_rev" ]; then pass "every URL names a 40-hex revision"; else fail "URLs without a pinned revision: $unpinned_rev"; fi
for path in sdxl/model_index.json sdxl/scheduler/scheduler_config.json \
            sdxl/text_encoder/model.safetensors sdxl/text_encoder_2/model.safetensors \
            sdxl/tokenizer/vocab.json sdxl/tokenizer_2/merges.txt \
            sdxl/unet/diffusion_pytorch_model.safetensors sdxl/vae/diffusion_pytorch_model.safetensors \
            ControlNetModel/config.json ControlNetModel/diffusion_pytorch_model.safetensors \
            ip-adapter.bin antelopev2/scrfd_10g_bnkps.onnx antelopev2/glintr100.onnx; do
  if awk -F'\t' -v p="$path" '$2 == p { f = 1 } END { exit !f }' <<<"$OUT"; then :; else fail "manifest lacks $path"; fi
done
pass "manifest follows the DESIGN.md section 4 layout"
run bash "$SCRIPT" --list --only antelopev2
expect_out "5838f7fe053675b1c7a08b633df49e7af5495cee0493c7dcf6697200b85b5b91" "scrfd checksum as in PROVENANCE.md"
expect_out "4ab1d6435d639628a6f3e5008dd4f929edf4c4124b1a7169e1048f9fef534cdf" "glintr100 checksum as in PROVENANCE.md"
expect_no_out "sdxl/" "--only antelopev2 selects antelopev2 only"
run bash "$SCRIPT" --list
expect_no_out "lcm-lora-sdxl" "the LCM-LoRA is not in the default set"
run bash "$SCRIPT" --list --lcm
expect_out "^lcm	lcm-lora-sdxl/pytorch_lora_weights.safetensors	393855224	a764e6859b6e04047cd761c08ff0cee96413a8e004c9f07707530cd776b19141	.*/a18548dd4956b174ec5b0d78d340c8dae0a129cd/" "--lcm adds the pinned, checksummed LCM-LoRA"
expect_out "^sdxl	" "--lcm keeps the default set"
run bash "$SCRIPT" --list --only sdxl-config
expect_out "^sdxl-config	sdxl-config/tokenizer_2/vocab.json	1059962	e089ad92ba36837a0d31433e555c8f45fe601ab5c221d4f607ded32d9f7a4349	" "sdxl-config: the SDXL tokenizers, pinned"
expect_out "^sdxl-config	sdxl-config/unet/config.json	" "sdxl-config: the SDXL configs"
expect_no_out "safetensors" "sdxl-config holds no weights"

# --- --verify on an empty folder: everything missing, non-zero
mkdir -p "$TMP/empty"
run bash "$SCRIPT" --models "$TMP/empty" --verify
expect_rc 1 "--verify on an empty folder"
expect_out "^MISSING +sdxl/unet/diffusion_pytorch_model.safetensors" "reports the UNet missing"
expect_out "^MISSING +antelopev2/glintr100.onnx" "reports glintr100 missing"
expect_out "23 missing" "counts 23 missing"
if [ -z "$(ls -A "$TMP/empty")" ]; then pass "--verify wrote nothing"; else fail "--verify wrote into the models folder"; fi

# --- --verify with a fake file of the wrong checksum
mkdir -p "$TMP/fake/antelopev2"
echo "not a model" >"$TMP/fake/antelopev2/glintr100.onnx"
run bash "$SCRIPT" --models "$TMP/fake" --verify --only antelopev2
expect_rc 1 "--verify with a wrong file"
expect_out "^MISMATCH +antelopev2/glintr100.onnx" "reports the mismatch"
# Same size as the real file, wrong bytes: caught by the SHA-256, not the size.
truncate -s 16923827 "$TMP/fake/antelopev2/scrfd_10g_bnkps.onnx"
run bash "$SCRIPT" --models "$TMP/fake" --verify --only antelopev2
expect_out "^MISMATCH +antelopev2/scrfd_10g_bnkps.onnx \(sha256 " "same-size wrong file caught by its SHA-256"

# --- a download attempt against an unreachable base fails cleanly, and the wrong
#     file already there is not replaced by anything unverified
run bash "$SCRIPT" --models "$TMP/fake" --only antelopev2
expect_rc 1 "download from an unreachable host"
expect_out "cannot reach http://127\\.0\\.0\\.1:9" "says the host cannot be reached"
expect_out "NON-COMMERCIAL" "download prints the licence notice"
if [ "$(cat "$TMP/fake/antelopev2/glintr100.onnx")" = "not a model" ]; then pass "wrong file left as it was"; else fail "wrong file changed"; fi
if ls "$TMP/fake/antelopev2/"*.part >/dev/null 2>&1; then fail "empty .part left behind"; else pass "no empty .part left behind"; fi

# --- the download path end to end, against a local file:// "hub" and a test manifest
hub="$TMP/hub"
mkdir -p "$hub/org/repo/resolve/0123456789abcdef0123456789abcdef01234567/sub" "$hub/mirror"
printf 'good weights\n' >"$hub/org/repo/resolve/0123456789abcdef0123456789abcdef01234567/sub/good.bin"
printf 'abcdefghijklmnopqrstuvwxyz\n' >"$hub/org/repo/resolve/0123456789abcdef0123456789abcdef01234567/resume.bin"
printf 'tampered\n' >"$hub/org/repo/resolve/0123456789abcdef0123456789abcdef01234567/evil.bin"
printf 'no checksum known\n' >"$hub/org/repo/resolve/0123456789abcdef0123456789abcdef01234567/loose.json"
printf 'from the mirror\n' >"$hub/mirror/fallback.bin"
r=org/repo/resolve/0123456789abcdef0123456789abcdef01234567
good_sha=$(sha "$hub/$r/sub/good.bin")
resume_sha=$(sha "$hub/$r/resume.bin")
fallback_sha=$(printf 'from the mirror\n' | sha256sum | cut -d' ' -f1)
cat >"$TMP/manifest" <<EOF
# test manifest: part|path|size|sha256|sources
sdxl|sdxl/good.bin|13|$good_sha|$r/sub/good.bin
sdxl|sdxl/resume.bin|27|$resume_sha|$r/resume.bin
controlnet|ControlNetModel/evil.bin||$good_sha|$r/evil.bin
controlnet|ControlNetModel/loose.json|||$r/loose.json
antelopev2|antelopev2/fallback.bin|16|$fallback_sha|$r/missing.bin mirror/fallback.bin
EOF
m="$TMP/m"
mkdir -p "$m/sdxl"
printf 'abcdefgh' >"$m/sdxl/resume.bin.part"   # an interrupted download to resume
export IID_MANIFEST="$TMP/manifest"
IID_HF_BASE="file://$hub" run bash "$SCRIPT" --models "$m"
expect_rc 1 "download with one tampered file"
expect_out "^OK +sdxl/good.bin" "good file fetched and verified"
if [ "$(sha "$m/sdxl/good.bin" 2>/dev/null)" = "$good_sha" ]; then pass "good file in place"; else fail "good file not in place"; fi
if [ "$(sha "$m/sdxl/resume.bin" 2>/dev/null)" = "$resume_sha" ] && [ ! -e "$m/sdxl/resume.bin.part" ]; then
  pass "partial download resumed and renamed"; else fail "partial download not resumed"; fi
expect_out "checksum mismatch for ControlNetModel/evil.bin" "tampered file reported"
if [ ! -e "$m/ControlNetModel/evil.bin" ] && [ ! -e "$m/ControlNetModel/evil.bin.part" ]; then
  pass "tampered file never gets its final name"; else fail "tampered file kept"; fi
expect_out "^UNVERIFIED +ControlNetModel/loose.json" "unpinned file said to be unverified"
expect_out "^OK +antelopev2/fallback.bin" "second source used when the first fails"

IID_HF_BASE="file://$hub" run bash "$SCRIPT" --models "$m" --verify
expect_rc 1 "--verify after a partial success"
expect_out "^OK +sdxl/good.bin" "--verify: OK"
expect_out "^UNVERIFIED +ControlNetModel/loose.json" "--verify: unpinned file is UNVERIFIED, not OK"
expect_out "^MISSING +ControlNetModel/evil.bin" "--verify: rejected file is MISSING"

# Rerun with the tampered source fixed: only the missing file is fetched.
cp "$hub/$r/sub/good.bin" "$hub/$r/evil.bin"
IID_HF_BASE="file://$hub" run bash "$SCRIPT" --models "$m"
expect_rc 0 "rerun completes"
expect_out "^present +sdxl/good.bin" "rerun skips verified files"
expect_out "^OK +ControlNetModel/evil.bin" "rerun fetches the missing file"
IID_HF_BASE="file://$hub" run bash "$SCRIPT" --models "$m" --verify --only sdxl,instantid
expect_rc 0 "--verify passes when everything pinned is right"

# A file corrupted after the fact is caught by --verify and replaced by a download.
printf 'bit rot' >"$m/sdxl/good.bin"
IID_HF_BASE="file://$hub" run bash "$SCRIPT" --models "$m" --verify --only sdxl
expect_rc 1 "--verify catches a corrupted file"
IID_HF_BASE="file://$hub" run bash "$SCRIPT" --models "$m" --only sdxl
expect_rc 0 "download replaces a corrupted file"
if [ "$(sha "$m/sdxl/good.bin")" = "$good_sha" ]; then pass "corrupted file replaced"; else fail "corrupted file not replaced"; fi
unset IID_MANIFEST

# --- without network: the up-front check fails in seconds, naming the host, and
# nothing is written. A refused port, an unresolvable name (.invalid never resolves)
# and an unroutable address (TEST-NET-1, dropped: only the connect timeout ends it).
for base in http://127.0.0.1:9 https://no-such-host.invalid http://192.0.2.1; do
  mkdir -p "$TMP/offline"
  start=$SECONDS
  IID_HF_BASE=$base IID_CONNECT_TIMEOUT=5 run bash "$SCRIPT" --models "$TMP/offline" --only antelopev2
  took=$((SECONDS - start))
  expect_rc 1 "offline ($base)"
  expect_out "cannot reach ${base//./\\.}" "offline ($base): says which host is unreachable"
  expect_out "nothing was downloaded" "offline ($base): says nothing was downloaded"
  if [ "$took" -lt 30 ]; then pass "offline ($base): gave up in ${took}s"; else fail "offline ($base): took ${took}s"; fi
  if [ -z "$(find "$TMP/offline" -type f)" ]; then pass "offline ($base): wrote no file"; else fail "offline ($base): wrote files"; fi
done

if command -v shellcheck >/dev/null; then
  if shellcheck "$SCRIPT" "$0"; then pass "shellcheck clean"; else fail "shellcheck"; fi
else
  echo "skip - shellcheck not installed"
fi

if [ "$fails" -gt 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "all passed"
