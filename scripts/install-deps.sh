#!/usr/bin/env bash
# Install the Debian/Ubuntu packages instantid builds and tests with (needs root or sudo
# only when something is missing). chromium is for the browser test of the web UI
# (tests/browser); it drives Debian's /usr/bin/chromium through playwright-core,
# installed by `npm ci` in tests/browser.
#
# Packages already installed are not touched, and when every one is present the script
# exits at once without apt-get update, so `make run` can be rerun (to resume a
# download, say) without root and without refreshing the package lists each time.
# zip builds the hostile torch checkpoints of the robustness suite (tests/robustness).
# ocl-icd-opencl-dev: Debian's oneDNN CMake config requires OpenCL (its GPU runtime);
# it is only a Recommends of libdnnl-dev, which --no-install-recommends skips.
set -euo pipefail
PKGS=(
  build-essential cmake pkg-config clang libomp-dev libclang-rt-14-dev
  libdnnl-dev ocl-icd-opencl-dev libcjson-dev libzip-dev libutf8proc-dev
  libpng-dev libjpeg-dev libwebp-dev libmicrohttpd-dev nettle-dev
  libfreetype-dev libfontconfig-dev fonts-dejavu-core
  libcmocka-dev
  curl ca-certificates chromium shellcheck zip
)
missing=()
for p in "${PKGS[@]}"; do
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != installed ]; then missing+=("$p"); fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages are installed"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
