"""Ordering and joining of signatory names: collation per language, articles, modes, joining.

Pure functions: no database. Who is listed is in test_listing.py.
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from signon.signatures.collation import (
    base_language,
    collation_key,
    join_names,
    list_items,
    sort_key,
    sort_names,
    strip_article,
)
from signon.signatures.listing import sort_signatories
from signon.signatures.models import OrderMode, SignatoryKind

DEMO_PRINTED = (
    "Al-Haq; Amnesty International; FIDH (International Federation of Human Rights); "
    "Human Rights Watch; Institute for Security Studies; International Justice Project; "
    "Kenyans for Peace with Truth and Justice; the Moroccan Coalition for the ICC; "
    "the Nigerian Coalition for the ICC; No Peace Without Justice; and REDRESS"
)


@dataclass(frozen=True)
class Row:
    """Anything with what ordering needs (a Signature in the app)."""

    id: int
    name: str
    sort_name: str | None = None
    country: str | None = None
    kind: SignatoryKind = SignatoryKind.NGO


def demo_names(project_root: Path) -> list[str]:
    bundle = json.loads((project_root / "signon/demo/icc-cooperation-statement.json").read_text())
    assert bundle["language"] == "en"
    return [s["name"] for s in bundle["signatories"]]


def every_order_gives(names: list[str], language: str, expected: list[str]) -> None:
    """Sorting any permutation of ``names`` gives ``expected`` (deterministic, total)."""
    orders = (
        list(itertools.permutations(names))
        if len(names) <= 6
        else [random.Random(seed).sample(names, len(names)) for seed in range(30)]
    )
    for order in orders:
        assert sort_names(list(order), language) == expected, order


# --- The demo ---------------------------------------------------------------------------


def test_the_demo_comes_out_exactly_as_the_original(project_root: Path) -> None:
    names = demo_names(project_root)
    for seed in range(20):
        shuffled = random.Random(seed).sample(names, len(names))
        assert join_names(sort_names(shuffled, "en"), "en") == DEMO_PRINTED


def test_the_demo_original_order_is_our_alphabetical_order(project_root: Path) -> None:
    names = demo_names(project_root)
    assert sort_names(list(reversed(names)), "en") == names
    items = list_items(names, "en")
    assert items[0] == "Al-Haq;"
    assert items[-2:] == ["No Peace Without Justice; and", "REDRESS"]
    assert all(item.endswith(";") for item in items[:-2])


def test_the_demo_through_sort_signatories(project_root: Path) -> None:
    names = demo_names(project_root)
    rows = [Row(i, name) for i, name in enumerate(reversed(names), start=1)]
    ordered = sort_signatories(rows, language="en")
    assert join_names([r.name for r in ordered], "en") == DEMO_PRINTED


# --- Collation per language ---------------------------------------------------------------


def test_french_accents_sort_with_their_base_letter() -> None:
    every_order_gives(
        ["Études africaines", "Ecole C", "École B", "Ecole A", "Ezra"],
        "fr",
        ["Ecole A", "École B", "Ecole C", "Études africaines", "Ezra"],
    )


def test_accent_and_case_variants_of_one_name_have_a_fixed_order() -> None:
    # primary-equal names: accents, then case decide, never the input order
    every_order_gives(
        ["École", "ecole", "Ecole", "école", "Ecoles"],
        "fr",
        ["ecole", "Ecole", "école", "École", "Ecoles"],
    )


def test_german_umlauts_sort_with_their_base_letter() -> None:
    every_order_gives(
        [
            "Zukunft e.V.",
            "Öko-Institut",
            "Oxfam",
            "Ärzte ohne Grenzen",
            "Amnesty",
            "Brot für die Welt",
        ],
        "de",
        [
            "Amnesty",
            "Ärzte ohne Grenzen",
            "Brot für die Welt",
            "Öko-Institut",
            "Oxfam",
            "Zukunft e.V.",
        ],
    )


def test_spanish_n_tilde_is_a_letter_after_n() -> None:
    names = ["Ñandú", "Nuñez", "Nunez", "Nuo", "Oso"]
    every_order_gives(names, "es", ["Nunez", "Nuñez", "Nuo", "Ñandú", "Oso"])
    # in English ñ is an n with an accent
    assert sort_names(names, "en") == ["Ñandú", "Nunez", "Nuñez", "Nuo", "Oso"]


def test_swedish_a_ring_a_umlaut_o_umlaut_come_after_z() -> None:
    names = ["Öresund", "Zorn", "Åland", "Ärla", "Anna"]
    every_order_gives(names, "sv", ["Anna", "Zorn", "Åland", "Ärla", "Öresund"])
    assert sort_names(names, "en") == ["Åland", "Anna", "Ärla", "Öresund", "Zorn"]


def test_arabic_names_ignore_the_definite_article() -> None:
    # الأمل (al-amal) under أ, بيت under ب, حقوق under ح, المركز (al-markaz) under م
    every_order_gives(["المركز", "بيت", "الأمل", "حقوق"], "ar", ["الأمل", "بيت", "حقوق", "المركز"])
    assert strip_article("الحق", "ar") == "حق"
    assert strip_article("الحق", "en") == "حق"  # the script decides, not the letter
    assert strip_article("ال", "ar") == "ال"  # nothing left to sort by: kept


def test_latin_al_prefix_is_part_of_the_name() -> None:
    every_order_gives(
        ["Haq Foundation", "Amnesty International", "Al-Haq", "al-Mezan"],
        "en",
        ["Al-Haq", "al-Mezan", "Amnesty International", "Haq Foundation"],
    )


def test_cyrillic_in_russian_order() -> None:
    every_order_gives(
        ["Мемориал", "Агора", "Ёлка", "Ежи", "Яблоко"],
        "ru",
        ["Агора", "Ежи", "Ёлка", "Мемориал", "Яблоко"],
    )


def test_greek_accents_sort_with_their_base_letter() -> None:
    every_order_gives(["Ωμέγα", "Βήτα", "Άλφα", "Γάμμα"], "el", ["Άλφα", "Βήτα", "Γάμμα", "Ωμέγα"])


@pytest.mark.parametrize("language", ["zh", "ja", "ko", "en", "ar", "xx"])
def test_cjk_and_mixed_scripts_are_deterministic(language: str) -> None:
    names = [
        "中国人权",
        "日本弁護士連合会",
        "참여연대",
        "人权观察",
        "Amnesty",
        "Мемориал",
        "الحق",
        "בצלם",
    ]
    first = sort_names(names, language)
    assert sorted(first) == sorted(names)
    every_order_gives(names, language, first)


def test_chinese_sorts_by_pinyin() -> None:
    # 人 rén, 日 rì, 中 zhōng
    assert sort_names(["中国人权", "日本", "人权观察"], "zh") == ["人权观察", "日本", "中国人权"]


def test_case_does_not_split_groups() -> None:
    every_order_gives(
        ["zeta", "Alpha", "beta", "ALPHA Two", "Beta two"],
        "en",
        ["Alpha", "ALPHA Two", "beta", "Beta two", "zeta"],
    )


def test_numbers_sort_by_value() -> None:
    every_order_gives(
        ["Group 10", "Group 9", "Group 100", "Group 1"],
        "en",
        ["Group 1", "Group 9", "Group 10", "Group 100"],
    )


def test_collation_key_is_bytes_and_agrees_with_sort_names() -> None:
    a, b = collation_key("the Moroccan", None, "en"), collation_key("Nigeria", None, "en")
    assert isinstance(a, bytes) and a < b


# --- Articles ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "name", "key"),
    [
        ("en", "the Moroccan Coalition for the ICC", "Moroccan Coalition for the ICC"),
        ("en", "The Elders", "Elders"),
        ("en", "A Better World", "Better World"),
        ("en", "An Cumann", "Cumann"),
        ("en", "Another World", "Another World"),
        ("en", "Theatre for Peace", "Theatre for Peace"),
        ("en", "A.B.C. Trust", "A.B.C. Trust"),
        ("en", "The", "The"),
        ("en", '"The Elders"', 'Elders"'),
        ("fr", "La Ligue des droits de l'homme", "Ligue des droits de l'homme"),
        ("fr", "Les Amis de la Terre", "Amis de la Terre"),
        ("fr", "Le Mouvement", "Mouvement"),
        ("fr", "L'Observatoire", "Observatoire"),
        ("fr", "L’Observatoire", "Observatoire"),
        ("fr", "Une Seule Planète", "Seule Planète"),
        ("fr", "« Les Amis »", "Amis »"),
        ("fr", "Lutte", "Lutte"),
        ("fr", "The Elders", "The Elders"),
        ("es", "El Colectivo", "Colectivo"),
        ("es", "Los Amigos", "Amigos"),
        ("es", "Las Abuelas", "Abuelas"),
        ("es", "Una Voz", "Voz"),
        ("pt", "O Grupo", "Grupo"),
        ("pt", "As Mães", "Mães"),
        ("pt", "Os Amigos", "Amigos"),
        ("it", "Il Movimento", "Movimento"),
        ("it", "Gli Amici", "Amici"),
        ("it", "L'Associazione", "Associazione"),
        ("it", "Lo Sportello", "Sportello"),
        ("de", "Der Paritätische", "Paritätische"),
        ("de", "Die Tafeln", "Tafeln"),
        ("de", "Das Netzwerk", "Netzwerk"),
        ("nl", "De Landelijke", "Landelijke"),
        ("nl", "Het Comité", "Comité"),
        ("en", "Der Paritätische", "Der Paritätische"),
        ("pt-BR", "O Grupo", "Grupo"),
    ],
)
def test_leading_articles_per_language(language: str, name: str, key: str) -> None:
    assert strip_article(name, language) == key
    assert sort_key(name, None, language) == key.casefold()


def test_articles_move_names_in_the_order() -> None:
    assert sort_names(["Les Amis de la Terre", "Ligue", "Badil"], "fr") == [
        "Les Amis de la Terre",
        "Badil",
        "Ligue",
    ]
    # in English, "Les" is just a word
    assert sort_names(["Les Amis de la Terre", "Ligue", "Badil"], "en") == [
        "Badil",
        "Les Amis de la Terre",
        "Ligue",
    ]


def test_sort_name_replaces_the_computed_key() -> None:
    rows = [
        Row(1, "Zebra Trust", sort_name="Aardvark"),
        Row(2, "Amnesty"),
        Row(3, "the Moroccan Coalition", sort_name="the Moroccan Coalition"),  # sorted under T
        Row(4, "Save the Children", sort_name="   "),  # blank: ignored
    ]
    ordered = sort_signatories(rows, language="en")
    assert [r.id for r in ordered] == [1, 2, 4, 3]
    assert sort_key("Zebra Trust", "Aardvark", "en") == "aardvark"


def test_base_language() -> None:
    assert base_language("pt_BR") == "pt"
    assert base_language("zh-Hant-TW") == "zh"
    assert base_language("") == "en"
    assert base_language(None) == "en"


# --- Modes --------------------------------------------------------------------------------


def test_by_country_collates_countries_and_puts_no_country_last() -> None:
    rows = [
        Row(1, "Alpha Egypt", country="Égypte"),
        Row(2, "Alpha"),
        Row(3, "Beta", country="Kenya"),
        Row(4, "Gamma", country="Egypte"),
        Row(5, "Delta", country="  "),
        Row(6, "Alpha Kenya", country="Kenya"),
        Row(7, "Epsilon", country="Algérie"),
    ]
    ordered = sort_signatories(rows, language="fr", mode=OrderMode.COUNTRY)
    # Algérie; Egypte and Égypte are one place in the order (names decide within);
    # then Kenya; then those without a country, alphabetically
    assert [r.id for r in ordered] == [7, 1, 4, 6, 3, 2, 5]


def test_by_kind_follows_the_kinds_order_then_names() -> None:
    rows = [
        Row(1, "Ada Lovelace", kind=SignatoryKind.INDIVIDUAL),
        Row(2, "Zeta NGO", kind=SignatoryKind.NGO),
        Row(3, "Coalition", kind=SignatoryKind.NETWORK),
        Row(4, "Alpha NGO", kind=SignatoryKind.NGO),
        Row(5, "University", kind=SignatoryKind.ACADEMIC),
    ]
    ordered = sort_signatories(rows, language="en", mode=OrderMode.KIND)
    assert [r.id for r in ordered] == [4, 2, 3, 5, 1]


def test_drafting_organisations_first_then_the_rest() -> None:
    rows = [Row(1, "Zeta"), Row(2, "Alpha"), Row(3, "the Drafters"), Row(4, "Beta Drafting")]
    ordered = sort_signatories(
        rows,
        language="en",
        mode=OrderMode.DRAFTERS_FIRST,
        drafting_names=["beta  drafting", "The Drafters", "Not a signatory"],
    )
    assert [r.id for r in ordered] == [4, 3, 2, 1]


def test_custom_order_then_the_others_alphabetically() -> None:
    rows = [Row(1, "Alpha"), Row(2, "Beta"), Row(3, "Gamma"), Row(4, "Delta"), Row(5, "Aleph")]
    ordered = sort_signatories(
        rows, language="en", mode=OrderMode.CUSTOM, custom_order=[3, 99, 1, 3]
    )
    assert [r.id for r in ordered] == [3, 1, 5, 2, 4]


def test_alphabetical_is_the_default_mode() -> None:
    rows = [Row(1, "Beta"), Row(2, "Alpha")]
    assert [r.id for r in sort_signatories(rows, language="en")] == [2, 1]


def test_equal_names_are_ordered_by_id() -> None:
    rows = [Row(9, "Same", sort_name="key"), Row(2, "Same", sort_name="key"), Row(5, "Same")]
    for mode in OrderMode:
        for order in itertools.permutations(rows):
            ordered = sort_signatories(list(order), language="en", mode=mode)
            assert [r.id for r in ordered] == [2, 9, 5], mode


# --- Joining ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "joined"),
    [
        ("en", "A; B; and C"),
        ("fr", "A; B; et C"),
        ("es", "A; B; y C"),
        ("pt", "A; B; e C"),
        ("pt-BR", "A; B; e C"),
        ("it", "A; B; e C"),
        ("de", "A; B; und C"),
        ("nl", "A; B; en C"),
        ("ar", "A؛ B؛ و C"),
        ("ru", "A; B; и C"),
        ("xx", "A; B; and C"),
        ("", "A; B; and C"),
    ],
)
def test_joining_per_language(language: str, joined: str) -> None:
    assert join_names(["A", "B", "C"], language) == joined


def test_list_items_per_language() -> None:
    assert list_items(["A", "B", "C", "D"], "en") == ["A;", "B;", "C; and", "D"]
    assert list_items(["A", "B", "C"], "fr") == ["A;", "B; et", "C"]
    assert list_items(["الحق", "بتسيلم", "الميزان"], "ar") == ["الحق؛", "بتسيلم؛ و", "الميزان"]


def test_one_two_and_no_names() -> None:
    assert join_names(["Amnesty International"], "en") == "Amnesty International"
    assert list_items(["Amnesty International"], "fr") == ["Amnesty International"]
    assert join_names(["A", "B"], "en") == "A; and B"
    assert list_items(["A", "B"], "es") == ["A; y", "B"]
    assert join_names([], "en") == ""
    assert list_items([], "en") == []
