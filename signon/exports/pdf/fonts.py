"""Fonts for the PDF: which font covers which script, and a glyph-coverage checker.

The PDF is set in Noto (SIL Open Font Licence) from Debian packages, with DejaVu
(a free licence) as a last resort for symbols:

- ``fonts-noto-core``: Noto Serif / Sans (Latin with every diacritic, Greek,
  Cyrillic), Noto Naskh Arabic (shaped by HarfBuzz, right to left), Noto Serif
  Hebrew, and the other scripts listed in :data:`SCRIPT_FAMILIES`;
- ``fonts-noto-cjk``: Noto Serif / Sans CJK (Chinese, Japanese, Korean);
- ``fonts-dejavu-core``: DejaVu Serif / Sans.

None of them is needed to export a PDF: the project ships DejaVu Serif, Sans and Sans Mono
(``static/fonts/dejavu``, loaded by ``static/css/pdf/fonts.css``), the last families of
every stack, so a machine without the font packages (``make run`` needs no root) sets
Latin, Greek, Cyrillic and symbols in them; other scripts need the Noto packages, and
:func:`resolve_family` falls back to the shipped files so that the export's warnings
("no installed font can draw ...") stay true.

The CSS stack lists the CJK family last: a family is only loaded (and subset into
the PDF) when a character needs it, so Latin-only letters pay nothing for it;
putting it last also keeps its Latin glyphs from replacing Noto Serif's.
:func:`font_stack` picks the CJK variant (SC, TC, JP, KR) from the letter's
language, since one Han character is drawn differently in each.

:func:`missing_glyphs` checks, with fontTools, that every character of a text is
in the character map of at least one of the given fonts; :func:`fonts_for_text`
says which installed font files (found through fontconfig) would draw a text.
"""

from __future__ import annotations

import functools
import io
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fontTools.ttLib import TTFont
from pypdf import PdfReader

#: Debian packages that provide every font in the stacks below.
required_font_packages: tuple[str, ...] = ("fonts-noto-core", "fonts-noto-cjk", "fonts-dejavu-core")

#: The fonts the project ships (``static/fonts/dejavu``, see ``static/css/pdf/fonts.css``).
SHIPPED_FONT_DIR = (
    Path(__file__).resolve().parent.parent.parent.parent / "static" / "fonts" / "dejavu"
)
SHIPPED_FONTS: dict[tuple[str, str], str] = {
    ("DejaVu Serif", "Regular"): "DejaVuSerif.ttf",
    ("DejaVu Serif", "Bold"): "DejaVuSerif-Bold.ttf",
    ("DejaVu Serif", "Italic"): "DejaVuSerif-Italic.ttf",
    ("DejaVu Serif", "Bold Italic"): "DejaVuSerif-BoldItalic.ttf",
    ("DejaVu Sans", "Regular"): "DejaVuSans.ttf",
    ("DejaVu Sans", "Bold"): "DejaVuSans-Bold.ttf",
    ("DejaVu Sans Mono", "Regular"): "DejaVuSansMono.ttf",
}


def shipped_font(family: str, style: str = "Regular") -> FontFile | None:
    """The project's own file of ``family`` in ``style`` (its regular face for another
    style: the PDF renderer slants or emboldens it), or ``None``."""
    name = SHIPPED_FONTS.get((family, style)) or SHIPPED_FONTS.get((family, "Regular"))
    return FontFile(SHIPPED_FONT_DIR / name) if name else None


@dataclass(frozen=True)
class ScriptFamily:
    script: str
    serif: str
    sans: str
    package: str


#: Per script, in the order the stack lists them (Latin, Greek and Cyrillic first).
SCRIPT_FAMILIES: tuple[ScriptFamily, ...] = (
    ScriptFamily("Latin, Greek, Cyrillic", "Noto Serif", "Noto Sans", "fonts-noto-core"),
    ScriptFamily("Arabic", "Noto Naskh Arabic", "Noto Sans Arabic", "fonts-noto-core"),
    ScriptFamily("Hebrew", "Noto Serif Hebrew", "Noto Sans Hebrew", "fonts-noto-core"),
    ScriptFamily("Devanagari", "Noto Serif Devanagari", "Noto Sans Devanagari", "fonts-noto-core"),
    ScriptFamily("Bengali", "Noto Serif Bengali", "Noto Sans Bengali", "fonts-noto-core"),
    ScriptFamily("Tamil", "Noto Serif Tamil", "Noto Sans Tamil", "fonts-noto-core"),
    ScriptFamily("Ethiopic", "Noto Serif Ethiopic", "Noto Sans Ethiopic", "fonts-noto-core"),
    ScriptFamily("Armenian", "Noto Serif Armenian", "Noto Sans Armenian", "fonts-noto-core"),
    ScriptFamily("Georgian", "Noto Serif Georgian", "Noto Sans Georgian", "fonts-noto-core"),
    ScriptFamily("Thai", "Noto Serif Thai", "Noto Sans Thai", "fonts-noto-core"),
    ScriptFamily("Khmer", "Noto Serif Khmer", "Noto Sans Khmer", "fonts-noto-core"),
    ScriptFamily("Myanmar", "Noto Serif Myanmar", "Noto Sans Myanmar", "fonts-noto-core"),
    ScriptFamily("Symbols", "DejaVu Serif", "DejaVu Sans", "fonts-dejavu-core"),
    ScriptFamily("Symbols", "Noto Sans Symbols", "Noto Sans Symbols", "fonts-noto-core"),
    ScriptFamily("Symbols", "Noto Sans Symbols2", "Noto Sans Symbols2", "fonts-noto-core"),
)

#: The CJK variant per language (Han characters differ between them); SC otherwise.
CJK_VARIANTS: dict[str, str] = {
    "zh": "SC",
    "zh-cn": "SC",
    "zh-sg": "SC",
    "zh-hans": "SC",
    "zh-tw": "TC",
    "zh-hk": "HK",
    "zh-mo": "TC",
    "zh-hant": "TC",
    "ja": "JP",
    "ko": "KR",
}


def cjk_variant(language: str | None) -> str:
    tag = (language or "").replace("_", "-").lower()
    return CJK_VARIANTS.get(tag) or CJK_VARIANTS.get(tag.split("-")[0], "SC")


def families(language: str | None = None, *, serif: bool = True) -> list[str]:
    """Font family names, in stack order, for a letter in ``language``."""
    names = [f.serif if serif else f.sans for f in SCRIPT_FAMILIES]
    kind = "Serif" if serif else "Sans"
    variant = cjk_variant(language)
    names.append(f"Noto {kind} CJK {variant}")
    return names


def _css(names: Iterable[str], generic: str) -> str:
    return ", ".join([*(f'"{name}"' for name in names), generic])


def font_stack(language: str | None = None, *, serif: bool = True) -> str:
    """A CSS ``font-family`` value for a letter in ``language``."""
    return _css(families(language, serif=serif), "serif" if serif else "sans-serif")


#: The CSS ``font-family`` list the PDF templates use for text (serif) and headings (sans).
FONT_STACK: str = font_stack("en")
SANS_FONT_STACK: str = font_stack("en", serif=False)


# --- Coverage --------------------------------------------------------------------------


def needs_glyph(char: str) -> bool:
    """Whether a character must be drawn by a font.

    Not: white space, control and format characters (bidi marks, zero-width
    joiners, soft hyphen: shaping consumes them), and variation selectors.
    """
    if char.isspace():
        return False
    if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs"):
        return False
    code = ord(char)
    return not (0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF)


@dataclass(frozen=True)
class FontFile:
    """A font file, and which font in it (TrueType/OpenType collections hold several)."""

    path: Path
    index: int = 0


@functools.lru_cache(maxsize=128)
def _codepoints(path: str, index: int) -> frozenset[int]:
    font = TTFont(path, fontNumber=index, lazy=True)
    try:
        cmap = font.getBestCmap() or {}
        return frozenset(cmap)
    finally:
        font.close()


def codepoints(font: Path | str | FontFile) -> frozenset[int]:
    """The code points in a font's character map (cached per file)."""
    if isinstance(font, FontFile):
        return _codepoints(str(font.path), font.index)
    return _codepoints(str(font), 0)


def missing_from(text: str, covered: Iterable[frozenset[int] | set[int]]) -> set[str]:
    """Characters of ``text`` that need a glyph and are in none of the ``covered`` sets."""
    sets = list(covered)
    return {c for c in set(text) if needs_glyph(c) and not any(ord(c) in s for s in sets)}


def missing_glyphs(text: str, font_paths: Sequence[Path | str | FontFile]) -> set[str]:
    """Characters of ``text`` that no font in ``font_paths`` has a glyph for.

    A ``.ttc`` path means its first font; pass a :class:`FontFile` for another.
    """
    return missing_from(text, (codepoints(path) for path in font_paths))


# --- Installed fonts (fontconfig) -------------------------------------------------------


class FontconfigMissingError(RuntimeError):
    """``fc-match`` is not installed (Debian package ``fontconfig``)."""


@functools.lru_cache(maxsize=256)
def resolve_family(family: str, style: str = "Regular") -> FontFile | None:
    """The installed file of ``family`` in ``style``, else the shipped one, else ``None``.

    Asks fontconfig (``fc-match``), which would otherwise substitute another family:
    the answer counts only if the family matches.
    """
    executable = shutil.which("fc-match")
    if executable is None:
        shipped = shipped_font(family, style)
        if shipped is not None:
            return shipped
        raise FontconfigMissingError("fc-match not found: install the fontconfig package")
    result = subprocess.run(  # noqa: S603 - fixed executable, no shell
        [executable, "--format", "%{family}\t%{file}\t%{index}", f"{family}:style={style}"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    parts = result.stdout.split("\t")
    if result.returncode != 0 or len(parts) != 3:
        return shipped_font(family, style)
    found_families, path, index = parts
    if family.casefold() not in {f.strip().casefold() for f in found_families.split(",")}:
        return shipped_font(family, style)
    return FontFile(Path(path), int(index or 0))


def stack_files(
    language: str | None = None, *, serif: bool = True, style: str = "Regular"
) -> list[FontFile]:
    """The installed files of the stack, in order (families not installed are skipped)."""
    files = []
    for family in families(language, serif=serif):
        found = resolve_family(family, style)
        if found is not None:
            files.append(found)
    return files


def missing_families(language: str | None = None, *, serif: bool = True) -> list[str]:
    """Families of the stack that are not installed (empty when all is well)."""
    return [f for f in families(language, serif=serif) if resolve_family(f) is None]


def fonts_for(
    text: str, language: str | None = None, *, serif: bool = True, style: str = "Regular"
) -> list[FontFile]:
    """The files of the stack that would draw ``text``: for each character, the first
    font that has it (as WeasyPrint's font fallback does), in stack order."""
    files = stack_files(language, serif=serif, style=style)
    used: set[FontFile] = set()
    for char in set(text):
        if not needs_glyph(char):
            continue
        for font in files:
            if ord(char) in codepoints(font):
                used.add(font)
                break
    return [font for font in files if font in used]


def fonts_for_text(text: str, language: str | None = None) -> list[Path]:
    """Paths of the installed fonts (serif stack, regular) that would draw ``text``."""
    return [font.path for font in fonts_for(text, language)]


# --- Fonts embedded in a PDF ------------------------------------------------------------


def _font_program(font: Any) -> bytes | None:
    descendant = font
    if "/DescendantFonts" in font:
        descendant = font["/DescendantFonts"][0].get_object()
    descriptor = descendant.get("/FontDescriptor")
    if descriptor is None:
        return None
    descriptor = descriptor.get_object()
    for key in ("/FontFile2", "/FontFile3", "/FontFile"):
        if key in descriptor:
            data: bytes = descriptor[key].get_object().get_data()
            return data
    return None


def _utf16(hex_text: str) -> str:
    return bytes.fromhex(hex_text).decode("utf-16-be", errors="replace")


_BFCHAR = re.compile(r"beginbfchar(.*?)endbfchar", re.S)
_BFRANGE = re.compile(r"beginbfrange(.*?)endbfrange", re.S)
_PAIR = re.compile(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]*)>")
_RANGE = re.compile(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(<[0-9A-Fa-f]*>|\[[^\]]*\])")


def parse_to_unicode(cmap: str) -> dict[int, str]:
    """A PDF ToUnicode CMap: glyph (CID) -> the text it stands for."""
    mapping: dict[int, str] = {}
    for block in _BFCHAR.findall(cmap):
        for source, target in _PAIR.findall(block):
            mapping[int(source, 16)] = _utf16(target)
    for block in _BFRANGE.findall(cmap):
        for low, high, target in _RANGE.findall(block):
            start, end = int(low, 16), int(high, 16)
            if target.startswith("["):
                for offset, item in enumerate(re.findall(r"<([0-9A-Fa-f]*)>", target)):
                    mapping[start + offset] = _utf16(item)
            else:
                base = bytes.fromhex(target[1:-1])
                for offset in range(end - start + 1):
                    last = int.from_bytes(base[-2:], "big") + offset
                    mapping[start + offset] = (base[:-2] + last.to_bytes(2, "big")).decode(
                        "utf-16-be", errors="replace"
                    )
    return mapping


def _embedded_coverage(font: Any) -> frozenset[int]:
    """Code points an embedded font really draws.

    Its (subset) character map, plus the ToUnicode entries of glyphs that exist in
    the embedded program: shaped glyphs (Arabic initial, medial and final forms,
    ligatures) are reached through the text shaper, not the character map. Glyph 0
    (.notdef) and the out-of-range ids WeasyPrint gives to characters no font had
    count for nothing.
    """
    program = _font_program(font)
    if program is None:
        return frozenset()
    try:
        parsed = TTFont(io.BytesIO(program), lazy=True)
        glyph_count = int(parsed["maxp"].numGlyphs)
        covered = set(parsed.getBestCmap() or {})
    except Exception:  # a bare Type 1 program has no character map: nothing is covered
        return frozenset()
    to_unicode = font.get("/ToUnicode")
    if to_unicode is not None:
        text = to_unicode.get_object().get_data().decode("latin-1")
        for glyph, chars in parse_to_unicode(text).items():
            if 0 < glyph < glyph_count:
                covered.update(ord(c) for c in chars)
    return frozenset(covered)


def embedded_font_codepoints(pdf: bytes) -> dict[str, frozenset[int]]:
    """Every font embedded in ``pdf``: its base name and the code points it draws
    (see :func:`_embedded_coverage`), read with pypdf and fontTools.

    Fonts that are referenced but not embedded map to an empty set.
    """
    found: dict[str, frozenset[int]] = {}
    seen: set[int] = set()

    def walk(resources: Any) -> None:
        if resources is None:
            return
        resources = resources.get_object()
        fonts = resources.get("/Font")
        for ref in fonts.get_object().values() if fonts is not None else ():
            font = ref.get_object()
            if id(font) in seen:
                continue
            seen.add(id(font))
            name = str(font.get("/BaseFont", "?"))
            found[name] = found.get(name, frozenset()) | _embedded_coverage(font)
        xobjects = resources.get("/XObject")
        for ref in xobjects.get_object().values() if xobjects is not None else ():
            xobject = ref.get_object()
            if xobject.get("/Subtype") == "/Form":
                walk(xobject.get("/Resources"))

    for page in PdfReader(io.BytesIO(pdf)).pages:
        walk(page.get("/Resources"))
    return found
