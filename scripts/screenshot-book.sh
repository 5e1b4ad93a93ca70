#!/usr/bin/env bash
# Renders the book (Book/, from the committed pages) and takes a 1280-pixel-wide screenshot of every page
# with headless Chromium (Debian's `chromium`, installed when missing), so a person can look at each one
# (scrollbars are left on: a horizontal one means a line that does not fit):
#   scripts/screenshot-book.sh [OUT]      screenshots go to OUT (default /tmp/book-screenshots)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/book-screenshots}
mkdir -p "$out"
if ! command -v chromium >/dev/null 2>&1; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
swift build -c release --product weave >/dev/null
.build/release/weave --html --from-pages
for page in Book/*.html; do
    name=$(basename "$page" .html)
    chromium --headless --no-sandbox --disable-gpu --window-size=1280,2400 \
        --screenshot="$out/$name.png" "file://$PWD/$page" 2>/dev/null
    echo "$out/$name.png"
done
