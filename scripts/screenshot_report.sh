#!/usr/bin/env bash
# Render a build's report.html in headless Chromium and save a screenshot of it.
#   bash scripts/screenshot_report.sh build/digits/report.html [out.png]
# Needs Debian's chromium (apt-get install chromium); the page is self-contained (inline CSS and
# SVG, no scripts, no network), so what Chromium draws is the whole report.
set -euo pipefail
report=$(realpath "$1")
out=${2:-${report%.html}.png}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
    echo "screenshot_report: no Chromium found; install it with: apt-get install chromium" >&2
    exit 2
fi
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,1600 \
    --screenshot="$out" "file://$report" >/dev/null 2>&1
test -s "$out"
echo "$out"
