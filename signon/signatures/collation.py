"""How signatory names are compared, sorted, printed and joined, per language.

- :func:`name_key`: ICU collation for the letter's language, ignoring a leading
  article ("the Moroccan Coalition" sorts under M) unless a sort name is given;
  ties fall back to accents and case, then the name, then an id (a total order).
- :func:`printed_name`: the name as printed, or ``"(name not printable)"``.
- :func:`list_items` / :func:`join_names`: "A;" … "Y; and" "Z", in the letter's language.

Pure functions: no database. Who is listed, and in which order, is
:mod:`signon.signatures.listing`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import icu

# --- Sort keys --------------------------------------------------------------------------

#: Leading articles ignored in the sort, per language (followed by a space).
ARTICLES: dict[str, tuple[str, ...]] = {
    "en": ("the", "a", "an"),
    "fr": ("le", "la", "les", "un", "une"),
    "es": ("el", "la", "los", "las", "un", "una"),
    "pt": ("o", "a", "os", "as"),
    "it": ("il", "lo", "la", "i", "gli", "le"),
    "de": ("der", "die", "das"),
    "nl": ("de", "het"),
}
#: Elided articles glued to the next word by an apostrophe ("L'Observatoire").
ELIDED_ARTICLES: dict[str, tuple[str, ...]] = {"fr": ("l",), "it": ("l",)}
APOSTROPHES = ("'", "\u2019", "\u02bc")
#: The Arabic definite article, written as a prefix of the first word (Arabic script only:
#: a Latin transliteration such as "Al-Haq" keeps its "Al-" and sorts under A).
ARABIC_ARTICLE = "\u0627\u0644"


def base_language(language: str | None) -> str:
    """``"pt"`` for ``"pt-BR"`` or ``"pt_BR"``; ``"en"`` when nothing is given."""
    return (language or "en").replace("_", "-").split("-")[0].lower() or "en"


def _strip_leading_punctuation(text: str) -> str:
    stripped = text.lstrip()
    index = 0
    while index < len(stripped) and unicodedata.category(stripped[index])[0] in "PZ":
        index += 1
    rest = stripped[index:]
    return rest if rest.strip() else stripped


def strip_article(name: str, language: str) -> str:
    """``name`` without a leading article of ``language`` (or an Arabic ``ال``)."""
    text = _strip_leading_punctuation(name)
    lang = base_language(language)
    first, _, rest = text.partition(" ")
    rest = rest.lstrip()
    if rest and first.casefold() in ARTICLES.get(lang, ()):
        return rest
    for article in ELIDED_ARTICLES.get(lang, ()):
        for apostrophe in APOSTROPHES:
            prefix = article + apostrophe
            if text[: len(prefix)].casefold() == prefix and text[len(prefix) :][:1].isalpha():
                return text[len(prefix) :]
    if first.startswith(ARABIC_ARTICLE) and len(first) >= len(ARABIC_ARTICLE) + 2:
        return text[len(ARABIC_ARTICLE) :]
    return text


def sort_key(name: str, sort_name: str | None, language: str) -> str:
    """The text a name is collated by: its sort name if given, else the name without a
    leading article (and leading punctuation), case-folded.

    Compare these with :func:`collation_key`, not with ``<`` on strings.
    """
    if sort_name and sort_name.strip():
        return sort_name.strip().casefold()
    return strip_article(name, language).casefold()


@functools.lru_cache(maxsize=64)
def _collator(language: str, strength: int) -> Any:
    collator = icu.Collator.createInstance(icu.Locale.forLanguageTag(language or "en"))
    collator.setStrength(strength)
    collator.setAttribute(icu.UCollAttribute.NUMERIC_COLLATION, icu.UCollAttributeValue.ON)
    return collator


def primary_collator(language: str) -> Any:
    """ICU collator for ``language``: accents sort with their base letter (unless the
    language says otherwise, e.g. Swedish å ä ö, Spanish ñ), case is ignored, numbers
    sort by value ("9" before "10")."""
    return _collator(language.replace("_", "-"), icu.Collator.PRIMARY)


def _tie_collator(language: str) -> Any:
    return _collator(language.replace("_", "-"), icu.Collator.TERTIARY)


def collation_key(name: str, sort_name: str | None, language: str) -> bytes:
    """The ICU sort key for a name in ``language`` (bytes; compare with ``<``)."""
    return bytes(primary_collator(language).getSortKey(sort_key(name, sort_name, language)))


def text_key(text: str, language: str) -> bytes:
    """The primary ICU sort key of any text (a country, say) in ``language``."""
    return bytes(primary_collator(language).getSortKey(text))


NameKey = tuple[bytes, bytes, bytes, str, int]


def name_key(name: str, sort_name: str | None, language: str, ident: int = 0) -> NameKey:
    """A total, deterministic order: the collated sort key, then accents and case, then
    the name itself, then ``ident`` (a signature id)."""
    text = sort_key(name, sort_name, language)
    tie = _tie_collator(language)
    return (
        bytes(primary_collator(language).getSortKey(text)),
        bytes(tie.getSortKey(text)),
        bytes(tie.getSortKey(name)),
        name,
        ident,
    )


def family_name(name: str, given: str | None = None) -> str:
    """The name a person is sorted under among the individual signatories: the family
    name they gave, else the last word of their name ("Amina J. Mohammed" -> "Mohammed").

    Kept simple on purpose: a person whose family name comes first (many East Asian
    names) or has several words ("van der Berg") gives it in the form.
    """
    if given and given.strip():
        return " ".join(given.split())
    words = name.split()
    return words[-1] if words else ""


def stored_name_order(name: str, sort_name: str | None, language: str) -> bytes:
    """:func:`name_key` (without the id) as one byte string that sorts the same way
    (``ORDER BY`` it, then the id). ICU sort keys end with their only zero byte, so
    the concatenation compares part by part; the name, last, compares as UTF-8, which
    is code point order."""
    primary, accents, case, printed, _ = name_key(name, sort_name, language)
    return primary + accents + case + printed.encode("utf-8")


def stored_country_order(country: str | None, language: str) -> bytes:
    """The country collated, as bytes; signatories without a country sort last."""
    place = (country or "").strip()
    return b"\x01" if not place else b"\x00" + text_key(place, language)


def stored_country_place(country: str | None) -> bytes:
    """Tells apart countries that collate alike ("Egypte", "Égypte"): code point order."""
    return (country or "").strip().encode("utf-8")


def sort_names(names: Sequence[str], language: str) -> list[str]:
    """Plain names in alphabetical order for ``language`` (no sort names)."""
    return sorted(names, key=lambda n: name_key(n, None, language))


# --- The printed name -------------------------------------------------------------------

#: What is printed for a name with nothing printable in it (written here only).
NOT_PRINTABLE = "(name not printable)"

_SPACE_CONTROLS = re.compile(r"[\t\n\r\x0b\x0c\x85]")
_OTHER_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")


@functools.lru_cache(maxsize=65536)
def printable_name(name: str) -> str:
    """The name without control characters (line breaks and tabs become spaces; kept:
    letters, marks, joiners, bidi marks), spaces collapsed; ``""`` if nothing is left."""
    return " ".join(_OTHER_CONTROLS.sub("", _SPACE_CONTROLS.sub(" ", name)).split())


def printed_name(name: str) -> str:
    """The name as every output prints it: :func:`printable_name`, or :data:`NOT_PRINTABLE`."""
    return printable_name(name) or NOT_PRINTABLE


# --- Joining ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Joiner:
    separator: str  # ends every item but the last two ("A;")
    conjunction: str  # ends the last-but-one item ("Y; and")


#: How list items end, per language. Others fall back to English.
JOINERS: dict[str, Joiner] = {
    "en": Joiner(";", "; and"),
    "fr": Joiner(";", "; et"),
    "es": Joiner(";", "; y"),
    "pt": Joiner(";", "; e"),
    "it": Joiner(";", "; e"),
    "de": Joiner(";", "; und"),
    "nl": Joiner(";", "; en"),
    "ar": Joiner("\u061b", "\u061b \u0648"),  # Arabic semicolon "؛", and "و"
    "fa": Joiner("\u061b", "\u061b \u0648"),
    "ru": Joiner(";", "; и"),
    "uk": Joiner(";", "; і"),
    "el": Joiner(";", "; και"),
    "tr": Joiner(";", "; ve"),
    "sw": Joiner(";", "; na"),
    "id": Joiner(";", "; dan"),
}


def joiner_for(language: str) -> Joiner:
    return JOINERS.get(base_language(language), JOINERS["en"])


def list_items(names: Sequence[str], language: str) -> list[str]:
    """Each name as a printed list item: ``A;`` … ``Y; and`` ``Z`` (per ``language``)."""
    if not names:
        return []
    if len(names) == 1:
        return [names[0]]
    joiner = joiner_for(language)
    return [f"{name}{joiner.separator}" for name in names[:-2]] + [
        f"{names[-2]}{joiner.conjunction}",
        names[-1],
    ]


def join_names(names: Sequence[str], language: str) -> str:
    """The names as one string: ``A; B; and C`` (per ``language``)."""
    return " ".join(list_items(names, language))
