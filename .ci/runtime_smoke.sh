#!/usr/bin/env bash
# The production install works: requirements.txt ALONE, in a new virtualenv, can migrate a
# database, load the demo letter, export it as PDF and serve a page (issue 9, item 13).
#
# Production-like: SIGNON_ENV is unset (production), SIGNON_BASE_URL and a secret key are
# given, everything lives in a temporary folder that is removed afterwards. The PDF is
# exported with fontconfig seeing NO system font (an empty FONTCONFIG_FILE): it must be
# set in the fonts the project ships (static/fonts/), as on a machine without the apt
# font packages. Usage: .ci/runtime_smoke.sh (or `make smoke`); PYTHON=python3.11 by default.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
started=$(date +%s)

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null 2>&1 || python=python3
work=$(mktemp -d "${TMPDIR:-/tmp}/signon-smoke.XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

step() { echo "smoke [$(($(date +%s) - started)) s] $*"; }

step "new virtualenv in $work/venv, requirements.txt alone"
"$python" -m venv "$work/venv"
venv_python="$work/venv/bin/python"
"$venv_python" -m pip install --quiet --upgrade pip
"$venv_python" -m pip install --quiet -r requirements.txt
if "$venv_python" -m pip show pytest >/dev/null 2>&1; then
  echo "smoke: pytest is installed: requirements.txt pulls in a development tool" >&2
  exit 1
fi

# Nothing from another environment may leak in.
unset PYTHONPATH VIRTUAL_ENV SIGNON_ENV SIGNON_SERVER_NAME
port=$("$venv_python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export SIGNON_BASE_URL="http://127.0.0.1:$port"
export SIGNON_SECRET_KEY="$("$venv_python" -c "import secrets; print(secrets.token_hex(32))")"
export SIGNON_DATABASE_URL="sqlite:///$work/signon.db"
export SIGNON_STORAGE_DIR="$work/storage"
export SIGNON_MAIL_OUTBOX="$work/outbox"
flask=("$work/venv/bin/flask" --app signon)

step "flask db upgrade"
"${flask[@]}" db upgrade

step "flask seed-demo"
seeded=$("${flask[@]}" seed-demo)
echo "$seeded"
slug=$(sed -n 's#^Demo letter loaded: /letters/\([^/]*\)/.*#\1#p' <<<"$seeded")
[ -n "$slug" ] || { echo "smoke: no demo letter slug in the seed-demo output" >&2; exit 1; }

step "flask export-pdf $slug, with no system font visible to fontconfig"
cat >"$work/fonts.conf" <<EOF
<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig><cachedir>$work/fontconfig-cache</cachedir></fontconfig>
EOF
# (WeasyPrint warns that fontconfig has no font, and Pango complains while the shipped
# fonts load: their messages are shown only if the export fails.)
FONTCONFIG_FILE="$work/fonts.conf" "${flask[@]}" export-pdf "$slug" -o "$work/demo.pdf" \
  2>"$work/export.log" || { cat "$work/export.log" >&2; exit 1; }
"$venv_python" - "$work/demo.pdf" <<'EOF'
import sys

from pypdf import PdfReader

reader = PdfReader(sys.argv[1])
fonts = set()
for page in reader.pages:
    for font in (page.get("/Resources") or {}).get("/Font", {}).values():
        fonts.add(str(font.get_object().get("/BaseFont")))
text = reader.pages[0].extract_text()
assert len(reader.pages) >= 1 and text.strip(), "the PDF has no text"
assert any("DejaVu" in name for name in fonts), f"not set in the shipped fonts: {fonts}"
print(f"smoke: {len(reader.pages)} pages, fonts {sorted(fonts)}")
EOF

step "flask run on $SIGNON_BASE_URL"
"${flask[@]}" run --host 127.0.0.1 --port "$port" >"$work/server.log" 2>&1 &
server_pid=$!
"$venv_python" - "$SIGNON_BASE_URL" <<'EOF' || { cat "$work/server.log" >&2; exit 1; }
import sys
import time
import urllib.error
import urllib.request

base = sys.argv[1]
deadline = time.monotonic() + 60
while True:
    try:
        with urllib.request.urlopen(f"{base}/login", timeout=5) as response:
            body = response.read().decode()
            assert response.status == 200 and "Log in" in body, response.status
            break
    except (urllib.error.URLError, ConnectionError):
        if time.monotonic() > deadline:
            raise
        time.sleep(0.5)
forged = urllib.request.Request(f"{base}/login", headers={"Host": "attacker.example"})
try:
    urllib.request.urlopen(forged, timeout=5)
    raise AssertionError("a forged Host header was served")
except urllib.error.HTTPError as error:
    assert error.code == 400, error.code
print("smoke: GET /login 200, forged Host 400")
EOF

step "passed (root $root)"
