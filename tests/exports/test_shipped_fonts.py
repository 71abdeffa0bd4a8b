"""Without the system's font packages, the PDF is set in the fonts the project ships.

``make run`` needs no root, so the Noto and DejaVu packages that ``make system-deps``
installs may be missing (issue 9, item 13). fontconfig is pointed at an empty
configuration (no font at all) in a child process, since it reads its configuration once
per process: the PDF must still draw Latin, Greek and Cyrillic, bold and monospace, in
the DejaVu files of ``static/fonts/dejavu`` loaded by ``static/css/pdf/fonts.css``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from signon.exports.pdf import fonts

ROOT = Path(__file__).resolve().parent.parent.parent
TEXT = "Grüße, Ωμέγα, Привет — № 5 ✓"

CHILD = f"""
import json, sys
from signon.exports.pdf import fonts
from signon.core.storage import StorageConfig
from signon.exports.pdf import render as pdf
html = '''<!doctype html><html><head>
<link rel="stylesheet" href="signon:static/css/pdf/fonts.css">
<style>body {{ font-family: {fonts.FONT_STACK}; }} code {{ font-family: "DejaVu Sans Mono"; }}
h1 {{ font-family: {fonts.SANS_FONT_STACK}; }}</style></head>
<body><h1>Title</h1><p>{TEXT} <b>bold</b> <i>italic</i> <code>0xdeadbeef</code></p></body></html>'''
folders = pdf.Folders(static_dir=sys.argv[1], storage=StorageConfig(directory=sys.argv[1]))
pdf._warm(folders)  # a worker warming up without system fonts must not crash
data, pages, refused = pdf._render_html(html, folders, tagged=False)
embedded = {{name: sorted(points) for name, points in fonts.embedded_font_codepoints(data).items()}}
resolved = fonts.resolve_family("DejaVu Serif")
noto = fonts.resolve_family("Noto Serif")
print(json.dumps({{
    "refused": list(refused),
    "embedded": embedded,
    "resolved": str(resolved.path) if resolved else None,
    "noto": str(noto.path) if noto else None,
}}))
"""


def render_without_system_fonts(tmp_path: Path) -> dict[str, object]:
    config = tmp_path / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">'
        f"<fontconfig><cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>"
    )
    env = {**os.environ, "FONTCONFIG_FILE": str(config)}
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROOT / "static")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def test_without_system_fonts_the_pdf_is_set_in_the_shipped_fonts(tmp_path: Path) -> None:
    found = render_without_system_fonts(tmp_path)
    assert found["refused"] == []
    embedded = found["embedded"]
    assert isinstance(embedded, dict)
    names = " ".join(embedded)
    for face in ("DejaVu-Serif", "DejaVu-Serif-Bold", "DejaVu-Sans-Bold", "DejaVu-Sans-Mono"):
        assert f"+{face} " in f"{names} ", (face, names)
    drawn = set().union(*(set(points) for points in embedded.values()))
    missing = {c for c in TEXT if fonts.needs_glyph(c) and ord(c) not in drawn}
    assert not missing, f"drawn by no embedded font: {missing}"


def test_without_system_fonts_coverage_checks_use_the_shipped_files(tmp_path: Path) -> None:
    found = render_without_system_fonts(tmp_path)
    assert found["resolved"] == str(fonts.SHIPPED_FONT_DIR / "DejaVuSerif.ttf")
    assert found["noto"] is None  # not shipped: the export warns about the scripts it lacks


def test_the_shipped_fonts_are_there_with_their_licence() -> None:
    for name in fonts.SHIPPED_FONTS.values():
        path = fonts.SHIPPED_FONT_DIR / name
        assert path.stat().st_size > 100_000, name
        assert ord("Ж") in fonts.codepoints(path)
    assert "Bitstream" in (fonts.SHIPPED_FONT_DIR / "LICENSE").read_text()
    total = sum(p.stat().st_size for p in fonts.SHIPPED_FONT_DIR.iterdir())
    assert total < 4_000_000
    css = (ROOT / "static" / "css" / "pdf" / "fonts.css").read_text()
    for name in fonts.SHIPPED_FONTS.values():
        assert f"signon:static/fonts/dejavu/{name}" in css
