#!/bin/sh
# run.sh SERVE_FAKE [SCREENSHOT_DIR] - run the browser test when its tools exist,
# else skip (exit 77, which CTest reports as skipped) saying what is missing.
# Needs: node, Debian's /usr/bin/chromium, and `npm ci` done in tests/browser.
here=$(cd "$(dirname "$0")" && pwd)
chromium=${IID_CHROMIUM:-/usr/bin/chromium}
if ! command -v node >/dev/null 2>&1; then echo "SKIP: node is not installed"; exit 77; fi
if [ ! -x "$chromium" ]; then echo "SKIP: $chromium is absent (apt-get install chromium)"; exit 77; fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "SKIP: playwright-core is not installed (run 'npm ci' in tests/browser)"; exit 77
fi
exec node "$here/ui.test.mjs" "$@"
