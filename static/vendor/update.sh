#!/usr/bin/env bash
# Re-vendor the third-party browser assets under static/vendor/ from the npm registry.
#
#   static/vendor/update.sh                 # fetch the pinned versions below (verifies integrity)
#   TURNDOWN_VERSION=7.2.6 static/vendor/update.sh --print-integrity
#                                           # print the registry's integrity for a new version,
#                                           # to paste below after reading its changelog and diff
#
# To update: change the version AND the integrity below, run this script, review
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
