"""Who is listed under a revision, in which order, and how the names are joined.

- :func:`eligible_signatures`: the approvals that cover the exported revision
  (:func:`signon.signatures.state.coverage`), and everyone else who approved with
  the reason they are left out. Two queries, whatever the number of signatures.
- :func:`sort_signatories`: locale-aware collation (ICU) for the letter's language,
  ignoring a leading article ("the Moroccan Coalition" sorts under M) unless a sort
  name is given; alphabetical, by country, by type, drafting organisations first,
  or in the coordinator's own order. Deterministic: ties fall back to the name
  (accents and case now count), then the signature id.
- :func:`list_items` / :func:`join_names`: "A;" … "Y; and" "Z", in the letter's language.
- :func:`signatory_list`: all of the above with the letter's export settings, so
  that the PDF and the CSV/JSON lists print the same names in the same order.
"""

from __future__ import annotations

import enum
import functools
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import icu
from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from signon.accounts.models import Organisation
from signon.exports.models import ExportSettings
from signon.extensions import db
from signon.letters.models import ChangeKind, Letter, Revision, TeamMember
from signon.signatures.models import Moderation, SignatoryKind, Signature, SignatureStatus
from signon.signatures.state import coverage


class OrderMode(enum.StrEnum):
    ALPHABETICAL = "alphabetical"
    COUNTRY = "country"
    KIND = "kind"
    DRAFTERS_FIRST = "drafters_first"
    CUSTOM = "custom"

    @property
    def label(self) -> str:
        return {
            OrderMode.ALPHABETICAL: "Alphabetical",
            OrderMode.COUNTRY: "By country",
            OrderMode.KIND: "By type of signatory",
            OrderMode.DRAFTERS_FIRST: "Drafting organisations first",
            OrderMode.CUSTOM: "Custom order (set by a coordinator)",
        }[self]


#: Keys in ``ExportSettings.options`` that hold the printed order (shared with the PDF).
ORDER_OPTION = "order"
CUSTOM_ORDER_OPTION = "custom_order"


# --- Who is listed --------------------------------------------------------------------


class LeftOutCode(enum.StrEnum):
    """Why an approval is not listed under the exported revision (for grouping in pages)."""

    SUBSTANTIVE_CHANGE = "substantive_change"
    UNCLASSIFIED = "unclassified"
    LATER_REVISION = "later_revision"
    NO_REVISION = "no_revision"
    HASH_MISMATCH = "hash_mismatch"
    AWAITING_MODERATION = "awaiting_moderation"
    REJECTED = "rejected"


@dataclass(frozen=True)
class LeftOut:
    signature: Signature
    reason: str
    code: LeftOutCode = LeftOutCode.SUBSTANTIVE_CHANGE


@dataclass(frozen=True)
class Eligibility:
    listed: list[Signature]
    left_out: list[LeftOut]
    #: signature id -> number of the revision it approved (no lazy load needed).
    approved_numbers: dict[int, int] = field(default_factory=dict)


def _plural(numbers: Sequence[int]) -> str:
    if len(numbers) == 1:
        return f"revision {numbers[0]}"
    listed = ", ".join(str(n) for n in numbers[:-1])
    return f"revisions {listed} and {numbers[-1]}"


def _reason_not_covered(
    approved: int, target: int, kinds: Mapping[int, ChangeKind | None]
) -> tuple[str, LeftOutCode]:
    """Why an approval of revision ``approved`` does not cover revision ``target``."""
    if approved > target:
        return (
            f"approved revision {approved}, a later text than revision {target}",
            LeftOutCode.LATER_REVISION,
        )
    since = [n for n in sorted(kinds) if approved < n <= target]
    substantive = [n for n in since if kinds[n] == ChangeKind.SUBSTANTIVE]
    if substantive:
        return (
            f"approved revision {approved}; {_plural(substantive)} changed the text substantively",
            LeftOutCode.SUBSTANTIVE_CHANGE,
        )
    unclassified = [n for n in since if kinds[n] is None]
    verb = "is" if len(unclassified) == 1 else "are"
    return (
        f"approved revision {approved}; {_plural(unclassified)} {verb} not classified yet",
        LeftOutCode.UNCLASSIFIED,
    )


def eligible_signatures(
    letter: Letter, revision: Revision, *, include_earlier: bool = False
) -> Eligibility:
    """Signatures whose approval covers ``revision``; the other approvals with the reason why.

    Declined and withdrawn signatures never appear (neither listed nor left out).
    Approvals waiting for moderation, or rejected by it, are left out, and so is an
    approval whose recorded SHA-256 differs from its revision's (tampered data). An
    approval of an earlier revision counts only if every revision since, up to
    ``revision``, was classified editorial; ``include_earlier=True`` lists approvals of earlier
    revisions anyway (a coordinator's explicit choice). Two queries in all.
    """
    revisions = list(db.session.scalars(select(Revision).where(Revision.letter_id == letter.id)))
    by_id = {r.id: r for r in revisions}
    kinds = {r.number: r.change_kind for r in revisions}
    cover = coverage(revisions, revision.number)
    signatures = db.session.scalars(
        select(Signature)
        .where(Signature.letter_id == letter.id, Signature.status == SignatureStatus.APPROVED)
        .order_by(Signature.id)
    ).all()
    listed: list[Signature] = []
    left_out: list[LeftOut] = []
    approved_numbers: dict[int, int] = {}
    for signature in signatures:
        approved = by_id.get(signature.revision_id) if signature.revision_id else None
        # the approved revision is already loaded: link it, no query per signature
        set_committed_value(signature, "revision", approved)
        number = approved.number if approved is not None else None
        if number is not None:
            approved_numbers[signature.id] = number
        if signature.moderation == Moderation.PENDING:
            left_out.append(
                LeftOut(signature, "awaiting moderation", LeftOutCode.AWAITING_MODERATION)
            )
        elif signature.moderation == Moderation.REJECTED:
            left_out.append(LeftOut(signature, "rejected in moderation", LeftOutCode.REJECTED))
        elif approved is None or number is None:
            left_out.append(
                LeftOut(signature, "no approved revision is recorded", LeftOutCode.NO_REVISION)
            )
        elif signature.approved_sha256 not in (None, approved.content_sha256):
            left_out.append(
                LeftOut(
                    signature,
                    f"the fingerprint they approved does not match revision {number}'s text",
                    LeftOutCode.HASH_MISMATCH,
                )
            )
        elif cover.covers(number) or (include_earlier and number <= revision.number):
            listed.append(signature)
        else:
            reason, code = _reason_not_covered(number, revision.number, kinds)
            left_out.append(LeftOut(signature, reason, code))
    collate = _alphabetical_key(letter.language)
    left_out.sort(key=lambda item: collate(item.signature))
    return Eligibility(listed, left_out, approved_numbers)


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


def sort_names(names: Sequence[str], language: str) -> list[str]:
    """Plain names in alphabetical order for ``language`` (no sort names)."""
    return sorted(names, key=lambda n: name_key(n, None, language))


# --- Ordering ---------------------------------------------------------------------------


class Listable(Protocol):
    """What ordering needs from a signature (a :class:`Signature` or any row like it)."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def sort_name(self) -> str | None: ...

    @property
    def country(self) -> str | None: ...

    @property
    def kind(self) -> SignatoryKind: ...


S = TypeVar("S", bound=Listable)

_KIND_RANK = {kind: rank for rank, kind in enumerate(SignatoryKind)}


def _alphabetical_key(language: str) -> Any:
    def key(item: Listable) -> NameKey:
        return name_key(item.name, item.sort_name, language, item.id)

    return key


def _name_folded(name: str) -> str:
    return " ".join(name.split()).casefold()


def sort_signatories(
    signatures: Sequence[S],
    *,
    language: str,
    mode: OrderMode = OrderMode.ALPHABETICAL,
    drafting_names: Sequence[str] = (),
    custom_order: Sequence[int] = (),
) -> list[S]:
    """The signatures in the printed order.

    - ``ALPHABETICAL``: by :func:`name_key` in the letter's language.
    - ``COUNTRY``: countries collated, signatories without a country last; then names.
    - ``KIND``: in :class:`SignatoryKind` order; then names.
    - ``DRAFTERS_FIRST``: names in ``drafting_names`` (compared case- and
      space-insensitively) first, alphabetically; then the rest, alphabetically.
    - ``CUSTOM``: the signature ids in ``custom_order`` first, in that order; any
      other signature after them, alphabetically.
    """
    alphabetical = _alphabetical_key(language)
    collator = primary_collator(language)
    if mode == OrderMode.COUNTRY:

        def country_key(item: S) -> tuple[Any, ...]:
            # "Egypte" and "Égypte" are one place in the order: the names decide within
            country = (item.country or "").strip()
            if not country:
                return (1, b"", alphabetical(item))
            return (0, bytes(collator.getSortKey(country)), alphabetical(item))

        return sorted(signatures, key=country_key)
    if mode == OrderMode.KIND:
        return sorted(
            signatures, key=lambda item: (_KIND_RANK.get(item.kind, 99), alphabetical(item))
        )
    if mode == OrderMode.DRAFTERS_FIRST:
        drafting = {_name_folded(name) for name in drafting_names}
        return sorted(
            signatures,
            key=lambda item: (_name_folded(item.name) not in drafting, alphabetical(item)),
        )
    if mode == OrderMode.CUSTOM:
        position: dict[int, int] = {}
        for index, ident in enumerate(custom_order):
            position.setdefault(ident, index)
        unplaced = len(position)
        return sorted(
            signatures,
            key=lambda item: (position.get(item.id, unplaced), alphabetical(item)),
        )
    return sorted(signatures, key=alphabetical)


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


# --- The list as printed ----------------------------------------------------------------


def drafting_organisation_names(letter: Letter) -> list[str]:
    """Names of the letter's drafting organisations, in the order they joined (one query)."""
    return list(
        db.session.scalars(
            select(Organisation.name)
            .join(TeamMember, TeamMember.organisation_id == Organisation.id)
            .where(TeamMember.letter_id == letter.id, TeamMember.is_drafting_organisation)
            .order_by(TeamMember.id)
        )
    )


def order_options(options: Mapping[str, Any] | None) -> tuple[OrderMode, list[int]]:
    """The order mode and custom order stored in ``ExportSettings.options`` (tolerant)."""
    options = options or {}
    try:
        mode = OrderMode(options.get(ORDER_OPTION) or OrderMode.ALPHABETICAL)
    except ValueError:
        mode = OrderMode.ALPHABETICAL
    raw = options.get(CUSTOM_ORDER_OPTION) or []
    custom = [int(v) for v in raw if isinstance(v, int) or (isinstance(v, str) and v.isdigit())]
    return mode, custom


@dataclass(frozen=True)
class SignatoryList:
    """The names printed under a revision, in order, and who was left out."""

    revision: Revision
    mode: OrderMode
    signatures: list[Signature]
    left_out: list[LeftOut]
    approved_numbers: dict[int, int]

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.signatures]


def signatory_list(
    letter: Letter,
    revision: Revision,
    *,
    mode: OrderMode | None = None,
    custom_order: Collection[int] | None = None,
    include_earlier: bool = False,
) -> SignatoryList:
    """Eligible signatures in the order the letter's export settings ask for.

    ``mode`` / ``custom_order`` override the settings (``ExportSettings.options``
    keys :data:`ORDER_OPTION` and :data:`CUSTOM_ORDER_OPTION`). A fixed number of
    queries (at most five).
    """
    settings = db.session.scalar(
        select(ExportSettings).where(ExportSettings.letter_id == letter.id)
    )
    stored_mode, stored_custom = order_options(settings.options if settings else None)
    mode = mode or stored_mode
    custom = list(custom_order) if custom_order is not None else stored_custom
    eligibility = eligible_signatures(letter, revision, include_earlier=include_earlier)
    drafting = drafting_organisation_names(letter) if mode == OrderMode.DRAFTERS_FIRST else []
    ordered = sort_signatories(
        eligibility.listed,
        language=letter.language,
        mode=mode,
        drafting_names=drafting,
        custom_order=custom,
    )
    return SignatoryList(
        revision, mode, ordered, eligibility.left_out, eligibility.approved_numbers
    )
