#!/usr/bin/env bash
# Fetch the published weights instantid runs on into the models folder (DESIGN.md section 4):
#
#   models/sdxl/              SDXL base 1.0, diffusers layout (fp16 weights, see below)
#   models/ControlNetModel/   InstantID IdentityNet
#   models/ip-adapter.bin     InstantID face adapter
#   models/antelopev2/        insightface detector + recogniser
#   models/lcm-lora-sdxl/     LCM-LoRA SDXL, for `--lcm` (optional: only with --lcm or --only lcm)
#   models/sdxl-config/       SDXL base 1.0's configs, tokenizers and scheduler without its
#                             weights, for single-file checkpoints (optional: --only sdxl-config)
#
# Every file comes from a pinned revision (a commit hash, never a branch) and every file
# is checked against a pinned SHA-256 before it gets its final name. Downloads are
# resumable: curl writes NAME.part, a rerun continues it (curl -C -), and NAME.part is
# renamed to NAME only after its checksum matched. --verify checks what is present and
# downloads nothing. Run with --help for the options.
#
# SDXL precision: stabilityai/stable-diffusion-xl-base-1.0 publishes each weight file in
# fp32 and as an ".fp16" variant. This script fetches the fp16 variants (about 6.9 GB
# instead of about 13.9 GB) and stores them under the plain names
# (model.safetensors, diffusion_pytorch_model.safetensors), which is where instantid
# (and diffusers) look. instantid reads the dtype from each safetensors header and
# converts at load time, so --dtype still picks the arithmetic; the SDXL VAE is known to
# overflow in fp16 *arithmetic*, not in fp16 storage, so keep it at f32/bf16 compute.
#
# Where the checksums come from: the SHA-256 of a Git LFS file is its LFS oid, shown on
# the file's Hugging Face page; the same values are recorded by several independent
# public projects. Small (non-LFS) files of the SDXL repository were cross-checked
# against two independent public manifests of the same revision. The antelopev2 values
# are the ones recorded in shared/assets/PROVENANCE.md. A manifest row may carry an
# EMPTY checksum field, meaning "no checksum could be pinned"; such a file is downloaded
# from its pinned revision and reported as "unverified", never as verified.
set -euo pipefail

PROG=$(basename "$0")
HF_BASE=${IID_HF_BASE:-https://huggingface.co}
MODELS_DIR=models
VERIFY_ONLY=0
LIST_ONLY=0
ONLY=""
WITH_LCM=0

# Pinned revisions (Hugging Face commit hashes).
SDXL_REPO=stabilityai/stable-diffusion-xl-base-1.0
SDXL_REV=462165984030d82259a11f4367a4eed129e94a7b
INSTANTID_REPO=InstantX/InstantID
INSTANTID_REV=57b32dfee076092ad2930c71fd6d439c2c3b1820
# antelopev2: InstantID's README sends users to a download link in an insightface GitHub
# issue comment (a manual download, not scriptable); these are the Hugging Face copies InstantID users fetch. The
# first is a model repository holding the pack's files; the second is the InstantX
# team's own InstantID Space (models/antelopev2/). Both are tried, in order; the pinned
# SHA-256 decides, so a changed mirror cannot slip a different file in.
ANTELOPE_REPO=DIAMONIK7777/antelopev2
ANTELOPE_REV=ba0c3e10f4548361eb9a63265d87ce1140ab5a05
SPACE_REPO=spaces/InstantX/InstantID
SPACE_REV=a1001d02a0ffc78525c98936b32e021e28c6764b
# LCM-LoRA SDXL (the LoRA InstantID's demo loads for its LCM toggle). Its SHA-256 (the LFS
# oid) and size are recorded for this revision by several independent public projects.
LCM_REPO=latent-consistency/lcm-lora-sdxl
LCM_REV=a18548dd4956b174ec5b0d78d340c8dae0a129cd

usage() {
  cat <<EOF
Usage: $PROG [--models DIR] [--verify | --list] [--only PART[,PART...]] [--lcm] [--help]

Download the weights instantid needs into DIR (default: models/), laid out as
DESIGN.md section 4 describes, from pinned revisions, each file checked against a
pinned SHA-256. Interrupted downloads resume (NAME.part); a file gets its final name
only after its checksum matched. Files already present and correct are skipped.

Options:
  --models DIR   the models folder (default: models)
  --verify       check the files present in DIR against the pinned checksums;
                 download nothing. Prints OK / MISSING / MISMATCH / UNVERIFIED per
                 file and exits non-zero if anything is missing or wrong.
  --list         print the manifest (part, path, size, sha256, source URLs) and exit
  --only PART    restrict to some parts (repeatable, or comma-separated):
                   sdxl         SDXL base 1.0, diffusers layout, fp16 weights (~6.9 GB)
                   controlnet   InstantID IdentityNet, ControlNetModel/ (~2.5 GB)
                   ip-adapter   InstantID face adapter, ip-adapter.bin (~1.7 GB)
                   instantid    controlnet + ip-adapter
                   antelopev2   insightface detector + recogniser (~0.28 GB)
                   lcm          LCM-LoRA SDXL for instantid --lcm (~0.39 GB; not
                                part of the default set)
                   sdxl-config  SDXL base 1.0's configs, tokenizers and scheduler only
                                (~3 MB; not part of the default set): what a
                                single-file SDXL checkpoint runs with (--sdxl-config)
  --lcm          also fetch the LCM-LoRA (the default set plus the lcm part)
  -h, --help     this text

Everything together is about 11.4 GB; allow some more free space for the .part files.

Environment:
  IID_HF_BASE    base URL instead of https://huggingface.co (a mirror, or a local
                 file:// copy laid out as <repo>/resolve/<revision>/<path>)
  IID_MANIFEST   a manifest file to use instead of the built-in one (for tests)
  IID_CONNECT_TIMEOUT  seconds for the up-front check that the hub can be reached
                 (default 10); without network the script stops after it

Licences (the weights are not ours; by downloading them you accept their terms):
  InstantID (IdentityNet, ip-adapter.bin)   Apache-2.0
  SDXL base 1.0                             CreativeML OpenRAIL++-M (use restrictions apply)
  insightface antelopev2                    non-commercial research purposes only
  LCM-LoRA SDXL (--lcm)                     CreativeML OpenRAIL++-M
EOF
}

licence_notice() {
  cat <<'EOF'
Licences of the weights being fetched (not ours; by downloading them you accept their terms):
  - InstantID IdentityNet + ip-adapter.bin (InstantX/InstantID): Apache-2.0.
  - SDXL base 1.0 (stabilityai/stable-diffusion-xl-base-1.0): CreativeML OpenRAIL++-M,
    whose use-based restrictions pass on to you and to what you generate.
  - antelopev2 (insightface scrfd_10g_bnkps.onnx, glintr100.onnx): insightface releases
    its pretrained models for NON-COMMERCIAL RESEARCH PURPOSES ONLY.
  - LCM-LoRA SDXL (latent-consistency/lcm-lora-sdxl, only with --lcm): CreativeML
    OpenRAIL++-M, as SDXL.
EOF
}

# The manifest: one file per line, fields separated by '|':
#   part | path under the models folder | size in bytes (or empty) | sha256 (or EMPTY =
#   not pinned) | source paths under IID_HF_BASE, space-separated, tried in order
builtin_manifest() {
  base_manifest
  # sdxl-config: SDXL base 1.0's small files alone (configs, tokenizers, scheduler), the
  # --sdxl-config a single-file SDXL checkpoint (a community finetune) runs with.
  base_manifest | awk -F'|' -v OFS='|' \
    '$1 == "sdxl" && $2 !~ /safetensors$/ { $1 = "sdxl-config"; sub(/^sdxl\//, "sdxl-config/", $2); print }'
}

base_manifest() {
  local s="$SDXL_REPO/resolve/$SDXL_REV"
  local i="$INSTANTID_REPO/resolve/$INSTANTID_REV"
  local a="$ANTELOPE_REPO/resolve/$ANTELOPE_REV"
  local sp="$SPACE_REPO/resolve/$SPACE_REV/models/antelopev2"
  local l="$LCM_REPO/resolve/$LCM_REV"
  cat <<EOF
sdxl|sdxl/model_index.json|609|6d7b93508390ab91ac5bfbe4aeb4dc2d83f7bb1b05fb069d714b5b0c75f70d44|$s/model_index.json
sdxl|sdxl/scheduler/scheduler_config.json|479|af3e45a949aff8b8341ab8b811429ec03fee857a700a1d9477363e4fff9666e2|$s/scheduler/scheduler_config.json
sdxl|sdxl/text_encoder/config.json|565|39b8b2e4b1949e36969caa425b6c81c68bace99198dd9078ce05d16ad401fe7f|$s/text_encoder/config.json
sdxl|sdxl/text_encoder/model.safetensors|246144152|660c6f5b1abae9dc498ac2d21e1347d2abdb0cf6c0c0c8576cd796491d9a6cdd|$s/text_encoder/model.fp16.safetensors
sdxl|sdxl/text_encoder_2/config.json|575|a892d1c3a69a7e9247a24de2bc1d5891e3109a54696e53be20093af671072c34|$s/text_encoder_2/config.json
sdxl|sdxl/text_encoder_2/model.safetensors|1389382176|ec310df2af79c318e24d20511b601a591ca8cd4f1fce1d8dff822a356bcdb1f4|$s/text_encoder_2/model.fp16.safetensors
sdxl|sdxl/tokenizer/vocab.json|1059962|e089ad92ba36837a0d31433e555c8f45fe601ab5c221d4f607ded32d9f7a4349|$s/tokenizer/vocab.json
sdxl|sdxl/tokenizer/merges.txt|524619|9fd691f7c8039210e0fced15865466c65820d09b63988b0174bfe25de299051a|$s/tokenizer/merges.txt
sdxl|sdxl/tokenizer/special_tokens_map.json|472|c4864a9376a8401918425bed71fc14fc0e81f9b59ec45c1cf96cccb2df508eac|$s/tokenizer/special_tokens_map.json
sdxl|sdxl/tokenizer/tokenizer_config.json|737|19d7b034cb0cc3ce9766c2231373ab8aa8991fc72e2c8f76558bfaae3de0d563|$s/tokenizer/tokenizer_config.json
sdxl|sdxl/tokenizer_2/vocab.json|1059962|e089ad92ba36837a0d31433e555c8f45fe601ab5c221d4f607ded32d9f7a4349|$s/tokenizer_2/vocab.json
sdxl|sdxl/tokenizer_2/merges.txt|524619|9fd691f7c8039210e0fced15865466c65820d09b63988b0174bfe25de299051a|$s/tokenizer_2/merges.txt
sdxl|sdxl/tokenizer_2/special_tokens_map.json|460|f118ab3a983206e4f32583448de6bd6aae4ee21869135cef1f5848a753cdaab6|$s/tokenizer_2/special_tokens_map.json
sdxl|sdxl/tokenizer_2/tokenizer_config.json|725|c9d23941f76a41cbd50eda9290f57be7828f0a7a677939e9ef181f7e12bd1bdf|$s/tokenizer_2/tokenizer_config.json
sdxl|sdxl/unet/config.json|1680|30ebc70750223e59006f7f2b4e1e6c102570aa19a9c4ae3e1fbe7591332dbae6|$s/unet/config.json
sdxl|sdxl/unet/diffusion_pytorch_model.safetensors|5135149760|83e012a805b84c7ca28e5646747c90a243c65c8ba4f070e2d7ddc9d74661e139|$s/unet/diffusion_pytorch_model.fp16.safetensors
sdxl|sdxl/vae/config.json|642|0b331c8ac22ded5f9997a144a575c1d113d6169aff262c353f39015bd24a6264|$s/vae/config.json
sdxl|sdxl/vae/diffusion_pytorch_model.safetensors|167335342|bcb60880a46b63dea58e9bc591abe15f8350bde47b405f9c38f4be70c6161e68|$s/vae/diffusion_pytorch_model.fp16.safetensors
# ControlNetModel/config.json is a small non-LFS file, so Hugging Face shows no SHA-256
# for it; this value was found recorded for this very revision by one public project
# only (not cross-checked), its size nowhere.
controlnet|ControlNetModel/config.json||2480c42f363d712faae8d0e17cb850a5d1e4cafc232fbd022b1d43eee45234eb|$i/ControlNetModel/config.json
controlnet|ControlNetModel/diffusion_pytorch_model.safetensors|2502139136|c8127be9f174101ebdafee9964d856b49b634435cf6daa396d3f593cf0bbbb05|$i/ControlNetModel/diffusion_pytorch_model.safetensors
ip-adapter|ip-adapter.bin|1691134141|02b3618e36d803784166660520098089a81388e61a93ef8002aa79a5b1c546e1|$i/ip-adapter.bin
antelopev2|antelopev2/scrfd_10g_bnkps.onnx|16923827|5838f7fe053675b1c7a08b633df49e7af5495cee0493c7dcf6697200b85b5b91|$a/scrfd_10g_bnkps.onnx $sp/scrfd_10g_bnkps.onnx
antelopev2|antelopev2/glintr100.onnx|260665334|4ab1d6435d639628a6f3e5008dd4f929edf4c4124b1a7169e1048f9fef534cdf|$a/glintr100.onnx $sp/glintr100.onnx
lcm|lcm-lora-sdxl/pytorch_lora_weights.safetensors|393855224|a764e6859b6e04047cd761c08ff0cee96413a8e004c9f07707530cd776b19141|$l/pytorch_lora_weights.safetensors
EOF
}

die() { echo "$PROG: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --models) [ $# -ge 2 ] || die "--models needs a directory"; MODELS_DIR=$2; shift 2 ;;
    --models=*) MODELS_DIR=${1#--models=}; shift ;;
    --verify) VERIFY_ONLY=1; shift ;;
    --list) LIST_ONLY=1; shift ;;
    --lcm) WITH_LCM=1; shift ;;
    --only) [ $# -ge 2 ] || die "--only needs a part"; ONLY="$ONLY,$2"; shift 2 ;;
    --only=*) ONLY="$ONLY,${1#--only=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option '$1' (try --help)" ;;
  esac
done
[ -n "$MODELS_DIR" ] || die "--models needs a directory"

# Which parts: all by default; "instantid" means controlnet + ip-adapter.
PARTS=" "
if [ -z "$ONLY" ]; then
  PARTS=" sdxl controlnet ip-adapter antelopev2 "
else
  IFS=',' read -r -a only_list <<<"${ONLY#,}"
  for p in "${only_list[@]}"; do
    case "$p" in
      sdxl|controlnet|ip-adapter|antelopev2|lcm|sdxl-config) PARTS="$PARTS$p " ;;
      instantid) PARTS="${PARTS}controlnet ip-adapter " ;;
      "") ;;
      *) die "unknown part '$p' (sdxl, controlnet, ip-adapter, instantid, antelopev2, lcm, sdxl-config)" ;;
    esac
  done
fi
if [ "$WITH_LCM" -eq 1 ]; then PARTS="${PARTS}lcm "; fi

if [ -n "${IID_MANIFEST:-}" ] && [ ! -r "$IID_MANIFEST" ]; then
  die "IID_MANIFEST: cannot read '$IID_MANIFEST'"
fi
manifest() {
  if [ -n "${IID_MANIFEST:-}" ]; then
    cat -- "$IID_MANIFEST"
  else
    builtin_manifest
  fi
}

ENTRIES=()
while IFS= read -r line; do
  case "$line" in ''|'#'*) continue ;; esac
  part=${line%%|*}
  case "$PARTS" in *" $part "*) ENTRIES+=("$line") ;; esac
done < <(manifest)
[ ${#ENTRIES[@]} -gt 0 ] || die "nothing selected"

sha256_of() { sha256sum -- "$1" | cut -d' ' -f1; }
size_of() { stat -c %s -- "$1"; }

human() {  # bytes -> "1.23 GB"
  awk -v b="$1" 'BEGIN { if (b >= 1e9) printf "%.2f GB", b / 1e9;
                         else if (b >= 1e6) printf "%.1f MB", b / 1e6;
                         else printf "%d bytes", b }'
}

# ---------------------------------------------------------------- --list
if [ "$LIST_ONLY" -eq 1 ]; then
  for e in "${ENTRIES[@]}"; do
    IFS='|' read -r part rel size sha srcs <<<"$e"
    urls=""
    for src in $srcs; do urls="$urls $HF_BASE/$src"; done
    printf '%s\t%s\t%s\t%s\t%s\n' "$part" "$rel" "${size:--}" "${sha:-UNPINNED}" "${urls# }"
  done
  exit 0
fi

# ---------------------------------------------------------------- --verify
if [ "$VERIFY_ONLY" -eq 1 ]; then
  ok=0; bad=0; missing=0; unverified=0
  for e in "${ENTRIES[@]}"; do
    IFS='|' read -r _part rel size sha _srcs <<<"$e"
    f="$MODELS_DIR/$rel"
    if [ ! -f "$f" ]; then
      if [ -f "$f.part" ]; then
        echo "MISSING     $rel (a partial download $rel.part is there; rerun without --verify to resume)"
      else
        echo "MISSING     $rel"
      fi
      missing=$((missing + 1))
      continue
    fi
    if [ -z "$sha" ]; then
      echo "UNVERIFIED  $rel (no pinned checksum for this file; present, $(size_of "$f") bytes)"
      unverified=$((unverified + 1))
      continue
    fi
    if [ -n "$size" ] && [ "$(size_of "$f")" != "$size" ]; then
      echo "MISMATCH    $rel (size $(size_of "$f"), expected $size)"
      bad=$((bad + 1))
      continue
    fi
    got=$(sha256_of "$f")
    if [ "$got" = "$sha" ]; then
      echo "OK          $rel"
      ok=$((ok + 1))
    else
      echo "MISMATCH    $rel (sha256 $got, expected $sha)"
      bad=$((bad + 1))
    fi
  done
  echo "$ok ok, $missing missing, $bad mismatched, $unverified unverified (in $MODELS_DIR)"
  if [ $((missing + bad)) -gt 0 ]; then exit 1; fi
  exit 0
fi

# ---------------------------------------------------------------- download
command -v curl >/dev/null || die "curl is needed (apt-get install curl)"

licence_notice
echo

# What is left to fetch, and is there room for it?
need=0 todo=0
for e in "${ENTRIES[@]}"; do
  IFS='|' read -r _part rel size _sha _srcs <<<"$e"
  f="$MODELS_DIR/$rel"
  # (a present file of the right size counts as done here; checksums come later)
  if [ -f "$f" ] && { [ -z "$size" ] || [ "$(size_of "$f")" = "$size" ]; }; then continue; fi
  todo=$((todo + 1))
  have=0
  if [ -f "$f.part" ]; then have=$(size_of "$f.part"); fi
  if [ -n "$size" ] && [ "$size" -gt "$have" ]; then need=$((need + size - have)); fi
done
mkdir -p -- "$MODELS_DIR"
echo "models folder: $MODELS_DIR; left to download: about $(human "$need")"
avail_kb=$(df -Pk -- "$MODELS_DIR" | awk 'NR == 2 { print $4 }')
if [ -n "$avail_kb" ] && [ $((avail_kb * 1024)) -lt "$need" ]; then
  echo "$PROG: warning: only $(human $((avail_kb * 1024))) free under $MODELS_DIR" >&2
fi

# Can the hub be reached at all? One quick request up front (any HTTP answer will do),
# so that without network the script fails in seconds instead of retrying every file.
# IID_CONNECT_TIMEOUT (seconds, default 10) bounds name lookup plus connection.
check_reachable() {
  local timeout=${IID_CONNECT_TIMEOUT:-10} msg rc=0
  case "$HF_BASE" in http://* | https://*) ;; *) return 0 ;; esac
  msg=$(curl -sS -I -o /dev/null --connect-timeout "$timeout" --max-time $((timeout + 5)) -- "$HF_BASE/" 2>&1) || rc=$?
  [ "$rc" -eq 0 ] && return 0
  echo "$PROG: cannot reach $HF_BASE (${msg#curl: }); nothing was downloaded." >&2
  echo "$PROG: check the network or proxy (https_proxy), or set IID_HF_BASE to a reachable mirror." >&2
  exit 1
}
if [ "$todo" -gt 0 ]; then check_reachable; fi

# curl_get FILE URL [CURL-ARGS...]: follow redirects, fail on HTTP errors, retry.
curl_get() {
  local out=$1 url=$2
  shift 2
  curl -L --fail --retry 3 --retry-delay 5 --connect-timeout 30 --progress-bar \
    "$@" -o "$out" -- "$url"
}

# fetch REL SIZE SHA SOURCES: download into REL.part from the first source that
# yields the right bytes, then rename. Returns non-zero if no source did.
fetch() {
  local rel=$1 size=$2 sha=$3 srcs=$4
  local f="$MODELS_DIR/$rel" part="$MODELS_DIR/$rel.part" src url got rc
  mkdir -p -- "$(dirname -- "$f")"
  for src in $srcs; do
    url="$HF_BASE/$src"
    # A .part longer than the file can only be garbage; one of exactly the right length
    # needs no request (some servers answer 416 to a range starting at the end).
    if [ -n "$size" ] && [ -f "$part" ] && [ "$(size_of "$part")" -gt "$size" ]; then
      rm -f -- "$part"
    fi
    if [ -z "$size" ] || [ ! -f "$part" ] || [ "$(size_of "$part")" != "$size" ]; then
      echo "fetch  $rel  <-  $url"
      rc=0
      curl_get "$part" "$url" -C - || rc=$?
      if [ "$rc" -eq 33 ]; then
        # The server refused the byte range: start this file over.
        echo "$PROG: $url cannot resume; downloading $rel from the start" >&2
        rm -f -- "$part"
        rc=0
        curl_get "$part" "$url" || rc=$?
      fi
      if [ "$rc" -ne 0 ]; then
        if [ -s "$part" ]; then
          echo "$PROG: download failed: $url (partial data kept in $part; rerun to resume)" >&2
        else
          rm -f -- "$part"
          echo "$PROG: download failed: $url" >&2
        fi
        continue
      fi
    fi
    if [ -z "$sha" ]; then
      mv -f -- "$part" "$f"
      echo "UNVERIFIED  $rel (no pinned checksum exists for this file; fetched from a pinned revision)"
      return 0
    fi
    got=$(sha256_of "$part")
    if [ "$got" = "$sha" ]; then
      mv -f -- "$part" "$f"
      echo "OK          $rel"
      return 0
    fi
    echo "$PROG: checksum mismatch for $rel from $url: sha256 $got, expected $sha; discarding it" >&2
    rm -f -- "$part"
  done
  return 1
}

failed=0
for e in "${ENTRIES[@]}"; do
  IFS='|' read -r _part rel size sha srcs <<<"$e"
  f="$MODELS_DIR/$rel"
  if [ -f "$f" ]; then
    if [ -z "$sha" ]; then
      echo "present     $rel (unverified: no pinned checksum)"
      continue
    fi
    if [ "$(sha256_of "$f")" = "$sha" ]; then
      echo "present     $rel"
      continue
    fi
    echo "$PROG: $rel is present but its checksum is wrong; fetching it again" >&2
  fi
  if ! fetch "$rel" "$size" "$sha" "$srcs"; then
    echo "$PROG: could not fetch $rel" >&2
    failed=$((failed + 1))
  fi
done

if [ "$failed" -gt 0 ]; then
  echo "$PROG: $failed file(s) not fetched; rerun to resume" >&2
  exit 1
fi
echo "all selected models are in $MODELS_DIR (check any time with: $PROG --models $MODELS_DIR --verify)"
