#!/usr/bin/env bash
# Starts the facenmf window under Xvfb on a folder of faces, takes a
# screenshot after a few seconds, and fails if the app died or the picture
# is blank. Builds nothing.
#
# usage: .ci/xvfb-check.sh BINARY DATASET_DIR [SCREENSHOT.png]
# needs: xvfb (xvfb-run), xauth, imagemagick (import, convert), and Mesa
#        (libgl1-mesa-dri libegl1 mesa-vulkan-drivers) for software rendering.
set -euo pipefail

bin=${1:?usage: $0 BINARY DATASET_DIR [SCREENSHOT.png]}
dir=${2:?usage: $0 BINARY DATASET_DIR [SCREENSHOT.png]}
shot=${3:-${TMPDIR:-/tmp}/facenmf-xvfb-shot.png}
wait_secs=${XVFB_CHECK_WAIT_SECS:-8}
min_stddev=${XVFB_CHECK_MIN_STDDEV:-0.05}

[[ -x $bin ]] || { echo "xvfb-check: $bin is not an executable" >&2; exit 2; }
[[ -d $dir ]] || { echo "xvfb-check: $dir is not a folder" >&2; exit 2; }
for tool in xvfb-run import convert; do
    command -v "$tool" >/dev/null || { echo "xvfb-check: $tool not found (apt-get install -y xvfb xauth imagemagick)" >&2; exit 2; }
done

log=$(mktemp)
# Fresh settings: no remembered folder or theme from an earlier run.
export XDG_DATA_HOME=$(mktemp -d) XDG_CONFIG_HOME=$(mktemp -d)
# One xvfb-run: the app runs in the background, the screenshot is taken
# from the same X display after $wait_secs seconds.
set +e
xvfb-run -a -s "-screen 0 1400x900x24" bash -c '
    "$1" gui "$2" >"$3" 2>&1 &
    pid=$!
    sleep "$4"
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "xvfb-check: the app died within $4 s" >&2
        exit 3
    fi
    import -window root "$5" || exit 4
    kill "$pid"
    wait "$pid" 2>/dev/null
    exit 0
' _ "$bin" "$dir" "$log" "$wait_secs" "$shot"
rc=$?
set -e
if [[ $rc -ne 0 ]]; then
    echo "xvfb-check: failed (exit $rc); app log:" >&2
    tail -n 40 "$log" >&2
    exit 1
fi
stddev=$(convert "$shot" -format '%[fx:standard_deviation]' info:)
echo "xvfb-check: screenshot $shot, standard deviation $stddev (minimum $min_stddev)"
if ! awk -v s="$stddev" -v m="$min_stddev" 'BEGIN { exit !(s >= m) }'; then
    echo "xvfb-check: the screenshot is blank" >&2
    tail -n 40 "$log" >&2
    exit 1
fi
echo "xvfb-check: ok"
