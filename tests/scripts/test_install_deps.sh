#!/usr/bin/env bash
# scripts/install-deps.sh with stand-ins for dpkg-query, apt-get and sudo on PATH: when
# every package is installed it calls neither apt-get update nor install (so `make run`
# can be resumed without root); when some are missing it installs only those.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SCRIPT="$HERE/../../scripts/install-deps.sh"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
pass() { echo "ok   - $1"; }
fail() { echo "FAIL - $1"; fails=$((fails + 1)); }

mkdir -p "$TMP/bin"
# dpkg-query: "installed" unless the package is listed in $TMP/missing.
cat >"$TMP/bin/dpkg-query" <<'EOS'
#!/bin/sh
for p; do :; done
if grep -qx -- "$p" "$FAKE/missing" 2>/dev/null; then echo not-installed; else echo installed; fi
EOS
# shellcheck disable=SC2016 # expanded by the stand-in, not here
printf '#!/bin/sh\necho "apt-get $*" >>"$FAKE/calls"\n' >"$TMP/bin/apt-get"
# shellcheck disable=SC2016
printf '#!/bin/sh\n"$@"\n' >"$TMP/bin/sudo"
chmod +x "$TMP/bin/"*
export FAKE=$TMP PATH="$TMP/bin:$PATH"

: >"$TMP/missing"
out=$(bash "$SCRIPT" 2>&1); rc=$?
if [ "$rc" -eq 0 ]; then pass "all present: exit 0"; else fail "all present: exit $rc"; fi
if [ ! -e "$TMP/calls" ]; then pass "all present: no apt-get call"; else fail "all present: $(cat "$TMP/calls")"; fi
if grep -q "all .* packages are installed" <<<"$out"; then pass "all present: says so"; else fail "all present: $out"; fi

printf 'cmake\nlibcmocka-dev\n' >"$TMP/missing"
bash "$SCRIPT" >/dev/null 2>&1; rc=$?
if [ "$rc" -eq 0 ]; then pass "two missing: exit 0"; else fail "two missing: exit $rc"; fi
if grep -qx "apt-get update -qq" "$TMP/calls"; then pass "two missing: apt-get update once"; else fail "no update: $(cat "$TMP/calls")"; fi
if grep -qx "apt-get install -y -qq --no-install-recommends cmake libcmocka-dev" "$TMP/calls"; then
  pass "two missing: installs only those"
else
  fail "install call: $(cat "$TMP/calls")"
fi
if [ "$fails" -gt 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "all passed"
