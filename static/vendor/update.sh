#!/usr/bin/env bash
# Re-vendor the third-party browser assets under static/vendor/ from the npm registry.
#
#   static/vendor/update.sh                 # fetch the pinned versions below (verifies integrity)
#                                           # and rebuild yjs/yjs-bundle.js from yjs/package-lock.json
#   TURNDOWN_VERSION=7.2.6 static/vendor/update.sh --print-integrity
#                                           # print the registry's integrity for a new version,
#                                           # to paste below after reading its changelog and diff
#
# turndown: to update, change the version AND the integrity below, run this script, review
# `git diff static/vendor`, update static/vendor/README.md, run the e2e tests
# (.venv/bin/pytest tests/e2e). Nothing here runs at build or run time: the files it
# writes are committed, and the site never loads anything from a CDN.
set -euo pipefail

TURNDOWN_VERSION="${TURNDOWN_VERSION:-7.2.5}"
TURNDOWN_INTEGRITY="sha512-EKZvCCFHh8sWttpAMs10U6niZFJ2cpz8LkCPlylxoG4JcHF50J7EHnnBW3AY1qXtUMu7kDjCp7dnggB1sIbqEQ=="

here="$(cd "$(dirname "$0")" && pwd)"
command -v npm >/dev/null || { echo "npm is needed (Node.js 18 or later)" >&2; exit 1; }

if [[ "${1:-}" == "--print-integrity" ]]; then
  npm view "turndown@${TURNDOWN_VERSION}" dist.integrity
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# fetch NAME VERSION INTEGRITY: download the tarball with npm and check it against the pin.
fetch() {
  local name="$1" version="$2" integrity="$3" tarball actual
  tarball="$(cd "$work" && npm pack --silent "${name}@${version}")"
  actual="sha512-$(openssl dgst -sha512 -binary "$work/$tarball" | openssl base64 -A)"
  if [[ "$actual" != "$integrity" ]]; then
    echo "${name}@${version}: integrity mismatch" >&2
    echo "  expected $integrity" >&2
    echo "  got      $actual" >&2
    exit 1
  fi
  mkdir -p "$work/$name"
  tar -xzf "$work/$tarball" -C "$work/$name"
  echo "$work/$name/package"
}

# turndown: HTML to Markdown, used by static/js/editor.js when pasting rich text.
pkg="$(fetch turndown "$TURNDOWN_VERSION" "$TURNDOWN_INTEGRITY")"
dest="$here/turndown"
mkdir -p "$dest"
install -m 0644 "$pkg/lib/turndown.browser.umd.js" "$dest/turndown.browser.umd.js"
install -m 0644 "$pkg/LICENSE" "$dest/LICENSE"
echo "turndown ${TURNDOWN_VERSION}:"
(cd "$dest" && sha256sum turndown.browser.umd.js LICENSE)

# Yjs (live co-editing, static/js/live.js): a small npm project in yjs/ whose
# package-lock.json pins yjs, the y-websocket client provider, y-protocols, lib0 and the
# esbuild bundler with their registry integrity; `npm ci` refuses a tarball that differs.
# To update: change the versions in yjs/package.json, `npm install` there (rewrites the
# lock), review the changelogs, then run this script and the e2e tests of live editing.
yjs="$here/yjs"
(cd "$yjs" && npm ci --no-audit --no-fund --silent && npm run --silent build)
for package in yjs y-websocket y-protocols lib0; do
  install -m 0644 "$yjs/node_modules/$package/LICENSE" "$yjs/licenses/$package.LICENSE"
done
rm -rf "$yjs/node_modules"
echo "yjs bundle:"
(cd "$here" && sha256sum yjs/yjs-bundle.js yjs/package-lock.json yjs/licenses/*.LICENSE)
