"""The fonts the PDF uses cover the names signatories write, in every script (fontTools)."""

from __future__ import annotations

from pathlib import Path

import pytest
from weasyprint import HTML

from signon.exports.pdf import fonts
from signon.exports.pdf.fonts import (
    FONT_STACK,
    FontFile,
    embedded_font_codepoints,
    families,
    font_stack,
    fonts_for,
    fonts_for_text,
    missing_families,
    missing_from,
    missing_glyphs,
    stack_files,
)

#: Sample names per script, and the family expected to draw the script's letters.
SAMPLES: dict[str, tuple[str, str]] = {
    "latin": (
        "Ärzte ohne Grenzen; Łódź Fundacja; Việt Nam Nhân Quyền; Çağdaş Hukukçular; "
        "Ŝtato; Ğ Ş İ ı; ß; Œuvre; Æ Ø Å; Ñandú; Fórum Cívico; Šta Đorđe; Țară Ș",
        "Noto Serif",
    ),
    "cyrillic": ("Мемориал; Правозахисна група «Січ»; Ђорђе Јовановић; Қазақстан", "Noto Serif"),
    "greek": ("Ελληνικό Παρατηρητήριο; Ένωση Ανθρωπίνων Δικαιωμάτων", "Noto Serif"),
    "arabic": ("الحق؛ مركز القاهرة لدراسات حقوق الإنسان؛ مؤسسة پژوهش گفتگو", "Noto Naskh Arabic"),
    "hebrew": ("בצלם; האגודה לזכויות האזרח בישראל", "Noto Serif Hebrew"),
    "chinese": ("中国人权捍卫者; 香港人權監察", "Noto Serif CJK SC"),
    "japanese": ("日本弁護士連合会; ヒューマンライツ・ナウ", "Noto Serif CJK SC"),
    "korean": ("참여연대; 민주사회를 위한 변호사모임", "Noto Serif CJK SC"),
    "devanagari": ("मानव अधिकार संगठन", "Noto Serif Devanagari"),
}


@pytest.fixture(scope="module")
def installed() -> list[FontFile]:
    missing = missing_families("en")
    assert missing == [], (
        f"fonts not installed: {missing}; install the Debian packages "
        f"{', '.join(fonts.required_font_packages)} (make system-deps)"
    )
    return stack_files("en")


@pytest.mark.parametrize("script", sorted(SAMPLES))
def test_the_stack_covers_every_script(installed: list[FontFile], script: str) -> None:
    text, _family = SAMPLES[script]
    assert missing_glyphs(text, installed) == set()


@pytest.mark.parametrize("script", sorted(SAMPLES))
def test_each_script_is_drawn_by_its_own_family(installed: list[FontFile], script: str) -> None:
    text, family = SAMPLES[script]
    letters = "".join(c for c in text if c.isalpha())
    expected = fonts.resolve_family(family)
    assert fonts_for(letters, "en") == [expected]


def test_fonts_for_text_lists_each_needed_file_once_in_stack_order(installed) -> None:
    text = " ".join(sample for sample, _ in SAMPLES.values())
    paths = fonts_for_text(text, "en")
    names = [p.name for p in paths]
    assert names == [
        "NotoSerif-Regular.ttf",
        "NotoNaskhArabic-Regular.ttf",
        "NotoSerifHebrew-Regular.ttf",
        "NotoSerifDevanagari-Regular.ttf",
        "NotoSerifCJK-Regular.ttc",
    ]
    assert fonts_for_text("Amnesty International", "en") == [paths[0]]


def test_missing_glyphs_finds_what_a_font_lacks(installed) -> None:
    latin = fonts.resolve_family("Noto Serif")
    assert missing_glyphs("Amnesty الحق 中国", [latin.path]) == set("الحق中国") - {" "}
    # symbols are covered; colour emoji are not (no emoji font): reported, not hidden
    assert missing_glyphs("Peace 🕊 ☮ ✓ € ™", installed) == set()
    assert missing_glyphs("Peace 😀", installed) == {"😀"}
    # white space, bidi marks, joiners, variation selectors need no glyph
    assert missing_glyphs("a\u200f\u200d\u00ad\ufe0f\n\t b", [latin.path]) == set()


def test_missing_from_codepoint_sets() -> None:
    assert missing_from("abc", [frozenset({ord("a")}), {ord("b")}]) == {"c"}
    assert missing_from("", []) == set()


@pytest.mark.parametrize(
    ("language", "variant"),
    [
        ("zh", "SC"),
        ("zh-TW", "TC"),
        ("zh_Hant", "TC"),
        ("zh-HK", "HK"),
        ("ja", "JP"),
        ("ko", "KR"),
        ("en", "SC"),
        (None, "SC"),
    ],
)
def test_the_cjk_family_follows_the_language(language: str | None, variant: str) -> None:
    assert families(language)[-1] == f"Noto Serif CJK {variant}"
    assert families(language, serif=False)[-1] == f"Noto Sans CJK {variant}"


def test_the_css_stacks() -> None:
    assert FONT_STACK.startswith('"Noto Serif", "Noto Naskh Arabic", "Noto Serif Hebrew"')
    assert FONT_STACK.endswith('"Noto Sans Symbols2", "Noto Serif CJK SC", serif')
    assert font_stack("ja", serif=False).endswith('"Noto Sans CJK JP", sans-serif')


def test_every_family_of_both_stacks_is_installed(installed) -> None:
    for language in ("en", "ja", "ko", "zh-TW"):
        assert missing_families(language) == []
        assert missing_families(language, serif=False) == []


def test_a_pdf_rendered_with_the_stack_embeds_fonts_covering_every_name(installed) -> None:
    """Render with WeasyPrint and read the embedded font programs back (pypdf + fontTools)."""
    names = [sample for sample, _ in SAMPLES.values()]
    items = "".join(f'<li dir="auto">{name}</li>' for name in names)
    html = (
        f'<html lang="en"><head><style>body {{ font-family: {FONT_STACK}; }}</style></head>'
        f"<body><ul>{items}</ul></body></html>"
    )
    pdf = HTML(string=html).write_pdf()
    embedded = embedded_font_codepoints(pdf)
    assert embedded, "no font embedded"
    assert missing_from(" ".join(names), embedded.values()) == set()
    # only the stack's families were used: no accidental fallback font
    stack_names = {f.replace(" ", "") for f in families("en")}
    for base_name in embedded:
        family = base_name.split("+", 1)[-1].replace("-", "")
        assert family in stack_names, base_name


def test_a_character_no_font_has_is_not_counted_as_embedded(installed) -> None:
    # WeasyPrint draws .notdef under a made-up glyph id and still maps it in ToUnicode
    html = f"<html><body style='font-family: {FONT_STACK}'>Plane 15: \U000f0000</body></html>"
    embedded = embedded_font_codepoints(HTML(string=html).write_pdf())
    assert missing_from("Plane 15: \U000f0000", embedded.values()) == {"\U000f0000"}


def test_parse_to_unicode_ranges_and_arrays() -> None:
    cmap = (
        "2 beginbfchar <0003> <0020> <0010> <d83dde00> endbfchar "
        "2 beginbfrange <0020> <0022> <0041> <0030> <0031> [<0066006c> <00e9>] endbfrange"
    )
    assert fonts.parse_to_unicode(cmap) == {
        3: " ",
        16: "😀",
        32: "A",
        33: "B",
        34: "C",
        48: "fl",
        49: "é",
    }


def test_a_latin_only_pdf_does_not_embed_the_cjk_font(installed) -> None:
    html = f"<html lang=\"en\"><body style='font-family: {FONT_STACK}'>Amnesty; Łódź</body></html>"
    embedded = embedded_font_codepoints(HTML(string=html).write_pdf())
    assert [name.split("+", 1)[-1] for name in embedded] == ["Noto-Serif"]


def test_codepoints_of_a_collection_member(installed) -> None:
    cjk = fonts.resolve_family("Noto Serif CJK JP")
    assert cjk is not None and cjk.path.suffix == ".ttc"
    assert ord("日") in fonts.codepoints(cjk)
    assert ord("日") not in fonts.codepoints(Path(fonts.resolve_family("Noto Serif").path))
