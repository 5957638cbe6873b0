#!/usr/bin/env bash
# Re-vendor the pinned browser libraries (versions in package.json) into the wheel's static files.
# Run after changing package.json; commit the result: the wheel must work offline.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/../src/parsl_visualize/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$work/"
(cd "$work" && npm install --no-audit --no-fund --silent)
cp "$work/node_modules/echarts/dist/echarts.min.js" "$dest/"
cp "$work/node_modules/echarts/LICENSE" "$dest/LICENSE.echarts"
cp "$work/node_modules/echarts/NOTICE" "$dest/NOTICE.echarts"
cp "$work/node_modules/htmx.org/dist/htmx.min.js" "$dest/"
cp "$work/node_modules/htmx.org/LICENSE" "$dest/LICENSE.htmx"
echo "vendored: echarts $(node -p "require('$work/node_modules/echarts/package.json').version"), htmx $(node -p "require('$work/node_modules/htmx.org/package.json').version")"
