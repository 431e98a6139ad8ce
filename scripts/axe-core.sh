#!/usr/bin/env bash
# Installs axe-core, the accessibility checker the web tests inject into pages, into .cache/axe
# (npm, pinned version), unless it is there already. Usage: scripts/axe-core.sh
set -euo pipefail
version=4.14.1
dir="$(cd "$(dirname "$0")/.." && pwd)/.cache/axe"
installed="$dir/node_modules/axe-core/package.json"
if [ -f "$installed" ] && grep -q "\"version\": \"$version\"" "$installed"; then
  exit 0
fi
mkdir -p "$dir"
npm install --silent --no-audit --no-fund --no-save --prefix "$dir" "axe-core@$version"
