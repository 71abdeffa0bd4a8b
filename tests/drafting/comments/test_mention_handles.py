"""The @mention list never gives away part of an address.

``GET /letters/<slug>/comments/people`` gave, for a person whose name does not read whole
as a handle (an apostrophe, brackets, an ampersand...), the part of their address before
the @: "Olga O'Brien" came as ``olga.obrien``, which with her organisation's domain is her
address, told to everyone on the team who may comment, while the team page shows an
organisation's members' addresses to nobody. The handle is now the name without what a
handle cannot hold (``OlgaOBrien``), which mentions her; someone whose name has nothing a
handle can hold is left out of the list (and is still mentioned by whoever knows them).
"""

from __future__ import annotations

from flask.testing import FlaskClient

from signon.core.permissions import TeamRole
from signon.drafting.comments import queries
from tests.conftest import login
from tests.drafting.comments.helpers import team_letter
from tests.factories import add_team_member, make_organisation, make_user

NAMES = {
    "Olga O'Brien": ("olga.obrien", "OlgaOBrien"),
    "Jean-Luc (JL) Picard": ("jl.picard", "Jean-LucJLPicard"),
    "Ana & Co.": ("ana.co", "AnaCo"),
    "_Kim_": ("kim.lee", "Kim_"),
    "🙂": ("smiley.person", None),
}


def test_the_mention_list_gives_names_never_an_address_part(client: FlaskClient) -> None:
    team = team_letter()
    people = [
        make_user(name=name, email=f"{local}@partner.example.org")
        for name, (local, _handle) in NAMES.items()
    ]
    add_team_member(
        team.letter,
        role=TeamRole.VIEWER,
        organisation=make_organisation("Partner NGO", members=tuple(people)),
    )
    login(client, team.drafter)
    response = client.get(f"/letters/{team.letter.slug}/comments/people")
    listed = {p["name"]: p["handle"] for p in response.get_json()["people"]}
    text = response.get_data(as_text=True)
    for name, (local, handle) in NAMES.items():
        assert local not in text
        assert listed.get(name) == handle
        if handle is None:
            continue
        found = queries.mentioned_people(team.letter, f"Please look, @{handle}.")
        assert [p.display_name for p in found] == [name]
        # the address's first part still mentions them, for whoever knows it
        found = queries.mentioned_people(team.letter, f"cc @{local}")
        assert [p.display_name for p in found] == [name]
