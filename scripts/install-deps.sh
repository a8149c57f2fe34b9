#!/usr/bin/env bash
# Install the Debian/Ubuntu packages instantid builds and tests with (needs root or sudo).
# chromium is for the browser test of the web UI (tests/browser); it drives Debian's
# /usr/bin/chromium through playwright-core, installed by `npm ci` in tests/browser.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake pkg-config clang libomp-dev libclang-rt-14-dev \
  libopenblas-dev libcjson-dev libzip-dev libutf8proc-dev \
  libpng-dev libjpeg-dev libwebp-dev libmicrohttpd-dev nettle-dev \
  libfreetype-dev libfontconfig-dev fonts-dejavu-core \
  libcmocka-dev \
  curl ca-certificates chromium shellcheck
