"""Letter bundles: export → import → export keeps the content; bad bundles import nothing.

The command-line tests commit for real (``real_commits``): ``import-letter`` is a
unit of work that commits once at its end.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import func, select

from signon.accounts.models import User
from signon.audit.models import AuditEvent
from signon.core import transaction
from signon.db import utcnow
from signon.exports.bundles.operations import (
    FORMAT,
    BundleError,
    check_bundle,
    content_of,
    export_letter,
    import_letter,
)
from signon.extensions import db
from signon.letters.models import ChangeKind, Letter, LetterStatus, Revision
from signon.signatures.approvals import operations
from signon.signatures.invitations.links import assign_new_link
from signon.signatures.listing import is_listed
from signon.signatures.models import (
    Invitation,
    Moderation,
    SignatoryKind,
    Signature,
    SignatureEvent,
    SignatureSource,
    SignatureStatus,
)
from signon.signatures.state import SignatoryState, coverage, state_of
from tests.factories import add_revision, make_letter, make_user

DEMO_FILE = Path(__file__).resolve().parents[2] / "signon/demo/icc-cooperation-statement.json"
SHARED_DEMO_FILE = (
    Path(__file__).resolve().parents[3] / "shared/demo/icc-cooperation-statement.json"
)


def _demo_path() -> Path:
    return SHARED_DEMO_FILE if SHARED_DEMO_FILE.exists() else DEMO_FILE


def build_rich_letter() -> Letter:
    """A letter with history in every shape a bundle must carry."""
    coordinator = make_user("coordinator@example.org", name="Coordinator")
    drafter = make_user("drafter@example.org", name="Drafter")
    letter = make_letter(
        coordinator,
        title="On cooperation",
        slug="on-cooperation",
        addressee="The Assembly",
        language="fr",
        deadline=utcnow() + timedelta(days=10),
        is_public=True,
    )
    first = letter.head()
    second = add_revision(letter, drafter, "Premier.\n\nDeuxième paragraphe.\n", note="Second")
    second.change_kind = ChangeKind.SUBSTANTIVE
    second.classified_by = coordinator
    second.classified_at = utcnow()
    third = add_revision(
        letter, coordinator, "Premier.\n\nDeuxième paragraphe !\n", title="Sur la coopération"
    )
    third.change_kind = ChangeKind.EDITORIAL
    third.merged = True
    third.base_id = first.id
    db.session.flush()

    def details(name: str, **extra: Any) -> operations.SignatoryDetails:
        return operations.SignatoryDetails(name=name, **extra)

    operations.approve(
        letter,
        third,
        details(
            "the Moroccan Coalition for the ICC",
            sort_name="Moroccan Coalition for the ICC, the",
            country="Morocco",
            kind=SignatoryKind.NETWORK,
            representative_name="A. Person",
            representative_title="Chair",
            website="https://coalition.example.org",
            authority_confirmed=True,
        ),
        email="chair@coalition.example.org",
    )
    # approved revision 1; revision 2 changed the substance since
    early = operations.approve(
        letter, first, details("Early Bird"), email=None, require_current=False
    )
    assert early.revision_id == first.id
    operations.approve(
        letter,
        third,
        details("Pending Public NGO"),
        email="p@example.org",
        source=SignatureSource.PUBLIC,
        moderation=Moderation.PENDING,
    )
    gone = operations.approve(letter, third, details("Gone NGO"), email="g@example.org")
    operations.withdraw(gone, reason="Board said no", email="g@example.org")
    for n in (1, 2):
        invitation = Invitation(
            letter_id=letter.id,
            organisation_name="Declining NGO",
            email=f"no{n}@example.org",
            expires_at=utcnow() + timedelta(days=3),
        )
        assign_new_link(invitation)
        operations.decline(letter, invitation, reason=f"Reason {n}", email=invitation.email)
    letter.status = LetterStatus.OPEN
    db.session.flush()
    return letter


def _import(data: dict[str, Any], owner: User) -> Letter:
    return import_letter(copy.deepcopy(data), owner).letter


def _signatures(letter: Letter) -> dict[str, Signature]:
    return {
        s.name_key: s
        for s in db.session.scalars(select(Signature).where(Signature.letter_id == letter.id))
    }


@pytest.mark.usefixtures("app_context")
class TestOperations:
    def test_round_trip_keeps_the_content(self) -> None:
        letter = build_rich_letter()
        owner = User.find_by_email("coordinator@example.org")
        first = export_letter(letter)
        copy_one = _import(first, owner)
        second = export_letter(copy_one)
        assert copy_one.slug == "on-cooperation-2" and second["slug"] == copy_one.slug
        assert content_of(second) == content_of(first)
        # and once more, from the copy
        third = export_letter(_import(second, owner))
        assert content_of(third) == content_of(first)
        assert json.loads(json.dumps(first)) == first  # JSON-ready as it is

    def test_export_has_every_field(self) -> None:
        letter = build_rich_letter()
        bundle = export_letter(letter)
        assert bundle["format"] == FORMAT and bundle["format_version"] == 1
        assert bundle["public"] is True and bundle["status"] == "open"
        assert bundle["language"] == "fr" and bundle["deadline"].endswith("Z")
        assert bundle["title"] == "Sur la coopération"
        numbers = [r["number"] for r in bundle["revisions"]]
        assert numbers == [1, 2, 3]
        third = bundle["revisions"][2]
        assert third["merged"] is True and third["base_number"] == 1
        assert third["change_kind"] == "editorial" and third["author_email"] == (
            "coordinator@example.org"
        )
        assert bundle["revisions"][1]["classified_by_email"] == "coordinator@example.org"
        assert bundle["revisions"][1]["author_email"] == "drafter@example.org"
        for revision in bundle["revisions"]:
            assert revision["sha256"] == Revision.hash_content(
                revision["title"], revision["body_markdown"]
            )
        moroccan = bundle["signatories"][0]
        assert moroccan["sort_name"] == "Moroccan Coalition for the ICC, the"
        assert moroccan["kind"] == "network" and moroccan["domain_verified"] is True
        assert moroccan["approved_revision"] == {"number": 3, "sha256": third["sha256"]}
        assert [e["action"] for e in moroccan["events"]] == ["approved"]
        gone = next(s for s in bundle["signatories"] if s["name"] == "Gone NGO")
        assert gone["status"] == "withdrawn" and gone["withdraw_reason"] == "Board said no"
        assert [e["action"] for e in gone["events"]] == ["approved", "withdrawn"]
        declined = [s for s in bundle["signatories"] if s["status"] == "declined"]
        assert [s["decline_reason"] for s in declined] == ["Reason 1", "Reason 2"]

    def test_import_restores_states_and_history(self) -> None:
        letter = build_rich_letter()
        owner = make_user()
        imported = _import(export_letter(letter), owner)
        assert imported.is_public and imported.status == LetterStatus.OPEN
        assert imported.created_by_id == owner.id and imported.role_of(owner).value == "coordinator"
        revisions = db.session.scalars(
            select(Revision).where(Revision.letter_id == imported.id).order_by(Revision.number)
        ).all()
        assert [r.author.email for r in revisions] == [
            "coordinator@example.org",
            "drafter@example.org",
            "coordinator@example.org",
        ]
        assert revisions[1].parent_id == revisions[0].id
        assert revisions[2].base_id == revisions[0].id
        cover = coverage(revisions)
        numbers = {r.id: r.number for r in revisions}
        states = {
            s.name: state_of(s, None, numbers.get(s.revision_id), cover)
            for s in _signatures(imported).values()
        }
        assert states == {
            "the Moroccan Coalition for the ICC": SignatoryState.APPROVED_CURRENT,
            "Early Bird": SignatoryState.APPROVED_EARLIER,
            "Pending Public NGO": SignatoryState.PENDING_MODERATION,
            "Gone NGO": SignatoryState.WITHDRAWN,
            "Declining NGO": SignatoryState.DECLINED,
        }
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(Signature)
                .where(Signature.letter_id == imported.id)
            )
            == 6
        )
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.letter_id == imported.id, AuditEvent.action == "letter.imported"
            )
        )
        assert event.actor_id == owner.id and event.details["signatories"] == 6
        assert event.seq == 1  # first in the new letter's audit chain

    def test_signatories_without_approval_record_approve_the_current_text(self) -> None:
        owner = make_user()
        bundle = export_letter(build_rich_letter())
        bundle["signatories"] = [{"name": "From a spreadsheet", "kind": "organisation"}]
        imported = _import(bundle, owner)
        [signature] = _signatures(imported).values()
        head = imported.head()
        assert signature.status == SignatureStatus.APPROVED
        assert (signature.revision_id, signature.approved_sha256) == (
            head.id,
            head.content_sha256,
        )
        assert signature.source == SignatureSource.IMPORT and signature.kind == SignatoryKind.NGO
        assert [e.action for e in signature.events] == ["approved"]

    def test_the_demo_file_imports(self) -> None:
        owner = make_user()
        data = json.loads(_demo_path().read_text())
        result = import_letter(data, owner)
        letter = result.letter
        assert letter.slug == "joint-ngo-statement-on-cooperation"
        assert (result.revisions, result.signatories, result.approved_on_import) == (1, 11, 11)
        head = letter.head()
        assert head.number == 1 and head.body_markdown == data["body_markdown"]
        assert head.author_id == owner.id
        assert letter.is_public is False
        signatures = list(_signatures(letter).values())
        assert sorted(s.name for s in signatures) == sorted(s["name"] for s in data["signatories"])
        assert {s.kind for s in signatures} == {SignatoryKind.NGO}
        assert all(s.revision_id == head.id and is_listed(s) for s in signatures)

    def test_public_flag(self) -> None:
        owner = make_user()
        minimal = {"title": "T", "body_markdown": "Text.", "signatories": []}
        assert _import(minimal, owner).is_public is False
        assert _import({**minimal, "public": True}, owner).is_public is True
        assert _import({**minimal, "public": False}, owner).is_public is False

    def test_a_taken_slug_gets_a_new_one(self) -> None:
        owner = make_user()
        make_letter(owner, slug="wanted")
        data = {"slug": "wanted", "title": "T", "body_markdown": "x", "signatories": []}
        assert _import(data, owner).slug == "wanted-2"
        assert _import(data, owner).slug == "wanted-3"

    def test_authors_without_an_account_stay_unknown(self) -> None:
        bundle = export_letter(build_rich_letter())
        bundle["revisions"][1]["author_email"] = "stranger@elsewhere.example"
        result = import_letter(bundle, make_user())
        assert result.authors_without_account == ["stranger@elsewhere.example"]
        revision = db.session.scalar(
            select(Revision).where(Revision.letter_id == result.letter.id, Revision.number == 2)
        )
        assert revision.author_id is None


def _problems(data: Any) -> list[str]:
    with pytest.raises(BundleError) as caught:
        check_bundle(data, max_body_chars=200_000)
    return caught.value.problems


@pytest.mark.usefixtures("app_context")
class TestChecks:
    def test_every_bad_signatory_is_reported_with_its_index(self) -> None:
        data = {
            "title": "T",
            "body_markdown": "Text.",
            "signatories": [
                {"name": "Good"},
                {"kind": "ngo"},
                {"name": "  "},
                {"name": "good "},
                {"name": "Odd", "kind": "alien"},
                "not an object",
                {"name": "Typo", "contry": "France"},
                {"name": "Bad mail", "email": "nobody"},
                {"name": "Far past", "approved_revision": {"number": 7, "sha256": "0" * 64}},
                {"name": "X" * 301},
                {"name": "Bad date", "approved_at": "yesterday"},
            ],
        }
        problems = _problems(data)
        assert problems == [
            "signatories[1]: the name is missing",
            "signatories[2]: the name is missing",
            "signatories[4] “Odd”: unknown kind “alien” (one of: academic, business, coalition, "
            "faith, government, individual, media, network, ngo, organisation, organization, "
            "other, union)",
            "signatories[5]: must be an object",
            "signatories[6] “Typo”: unknown field “contry”",
            "signatories[7] “Bad mail”: “nobody” is not an e-mail address",
            "signatories[8] “Far past”: approved revision 7, which the bundle does not have",
            "signatories[9]: “name” is longer than 300 characters",
            "signatories[10] “Bad date”: “approved_at” must be an ISO 8601 date and time, "
            "e.g. 2026-03-01T12:00:00Z",
        ]

    def test_revision_sequence_and_letter_fields(self) -> None:
        revision = {
            "title": "T",
            "body_markdown": "a\n",
            "sha256": Revision.hash_content("T", "a\n"),
        }
        data = {
            "format": "something else",
            "format_version": 1,
            "language": "xx",
            "status": "lost",
            "public": "yes",
            "revisions": [
                {**revision, "number": 1},
                {**revision, "number": 3},
                {**revision, "number": 3, "base_number": 5},
                {"number": 4},
            ],
        }
        problems = _problems(data)
        assert problems == [
            "bundle: “format” must be “signon-letter-bundle”",
            "bundle: unknown language “xx” (one of: "
            + ", ".join(__import__("signon.letters.models").letters.models.LANGUAGES)
            + ")",
            "bundle: unknown status “lost” (one of: closed, drafting, open, published)",
            "bundle: “public” must be true or false",
            "revisions[1]: number 3 out of sequence: expected 2 (1, 2, 3...)",
            "revisions[2]: base_number 5 must name an earlier revision",
            "revisions[3]: the title is missing",
            "revisions[3]: “body_markdown” must be a string",
            "revisions[3]: the sha256 is missing",
        ]

    def test_shapes(self) -> None:
        assert _problems([]) == ["the bundle must be a JSON object ({...})"]
        assert _problems({"title": "T"}) == [
            "bundle: the text is missing: give “body_markdown” or “revisions”"
        ]
        assert _problems({"title": "T", "body_markdown": "x", "revisions": []}) == [
            "bundle: give either “body_markdown” (one text) or “revisions”, not both"
        ]
        assert _problems({"body_markdown": "x"}) == ["bundle: the title is missing"]
        assert _problems({"title": "T", "body_markdown": "x", "signatories": {}}) == [
            "bundle: “signatories” must be a list"
        ]
        assert _problems({"format_version": 2, "title": "T", "body_markdown": "x"}) == [
            "bundle: format version 2 (made by a newer Signon): this Signon reads version 1"
        ]
        assert _problems({"title": "T", "body_markdown": "x" * 200_001}) == [
            "bundle: the text is longer than 200,000 characters"
        ]

    def test_a_tampered_text_is_refused(self) -> None:
        bundle = export_letter(build_rich_letter())
        bundle["revisions"][1]["body_markdown"] += "A sentence slipped in.\n"
        [problem] = _problems(bundle)
        assert problem.startswith("revisions[1]: its SHA-256 does not match its title and text")
        assert "tampered" in problem

    def test_a_tampered_approval_hash_is_refused(self) -> None:
        bundle = export_letter(build_rich_letter())
        bundle["signatories"][0]["approved_revision"]["sha256"] = "0" * 64
        [problem] = _problems(bundle)
        assert problem.startswith(
            "signatories[0] “the Moroccan Coalition for the ICC”: the hash of the approved "
            "revision 3 does not match"
        )

    def test_the_title_must_match_the_last_revision(self) -> None:
        bundle = export_letter(build_rich_letter())
        bundle["title"] = "Another title"
        assert _problems(bundle) == ["bundle: “title” differs from the title of the last revision"]

    def test_nothing_is_added_when_import_refuses(self) -> None:
        owner = make_user()
        before = {
            model: db.session.scalar(select(func.count()).select_from(model))
            for model in (Letter, Revision, Signature, SignatureEvent, AuditEvent)
        }
        with pytest.raises(BundleError):
            import_letter({"title": "T", "body_markdown": "x", "signatories": [{}]}, owner)
        after = {
            model: db.session.scalar(select(func.count()).select_from(model)) for model in before
        }
        assert after == before


# --- The commands -------------------------------------------------------------------


def _invoke(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def _count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


def _make_owner(app: Flask, *emails: str) -> None:
    with app.app_context():
        for email in emails:
            make_user(email)
        transaction.commit()


@pytest.mark.real_commits
def test_import_the_demo_file_with_the_command(app: Flask) -> None:
    _make_owner(app, "owner@example.org")
    result = _invoke(app, "import-letter", str(_demo_path()), "--owner", "owner@example.org")
    assert result.exit_code == 0, result.output
    slug = result.output.strip().splitlines()[-1]
    assert slug == "joint-ngo-statement-on-cooperation"
    assert "11 signatories (11 recorded as approving the current text)" in result.output
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
        assert letter is not None and letter.title == "Joint NGO statement on cooperation"
        assert len(_signatures(letter)) == 11
    # again: a new letter, a new slug
    again = _invoke(app, "import-letter", str(_demo_path()), "--owner", "owner@example.org")
    assert again.output.strip().splitlines()[-1] == "joint-ngo-statement-on-cooperation-2"


@pytest.mark.real_commits
def test_round_trip_through_files(app: Flask, tmp_path: Path) -> None:
    with app.app_context():
        build_rich_letter()
        transaction.commit()
    first_file, second_file = tmp_path / "first.json", tmp_path / "second.json"
    exported = _invoke(app, "export-letter", "on-cooperation", "-o", str(first_file))
    assert exported.exit_code == 0, exported.output
    assert "3 revisions, 6 signatories" in exported.output
    imported = _invoke(app, "import-letter", str(first_file), "--owner", "drafter@example.org")
    assert imported.exit_code == 0, imported.output
    slug = imported.output.strip().splitlines()[-1]
    assert slug == "on-cooperation-2"
    assert _invoke(app, "export-letter", slug, "-o", str(second_file)).exit_code == 0
    first, second = (json.loads(f.read_text()) for f in (first_file, second_file))
    assert content_of(first) == content_of(second)
    assert first["slug"] == "on-cooperation" and second["slug"] == "on-cooperation-2"
    # to standard output, pure JSON
    printed = _invoke(app, "export-letter", slug)
    assert content_of(json.loads(printed.stdout)) == content_of(first)


@pytest.mark.real_commits
def test_a_bad_bundle_imports_nothing_and_lists_every_problem(app: Flask, tmp_path: Path) -> None:
    _make_owner(app, "owner@example.org")
    data = json.loads(_demo_path().read_text())
    data["signatories"][2]["name"] = ""
    data["signatories"][5]["kind"] = "company"
    data["signatories"].append({"name": "REDRESS", "kind": "organisation", "contry": "UK"})
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    counts = {model: _count(app, model) for model in (Letter, Revision, Signature, AuditEvent)}
    result = _invoke(app, "import-letter", str(path), "--owner", "owner@example.org")
    assert result.exit_code == 1
    assert f"Nothing was imported: 3 problems in {path}:" in result.stderr
    assert "  - signatories[2]: the name is missing" in result.stderr
    assert "  - signatories[5] “International Justice Project”: unknown kind “company”" in (
        result.stderr
    )
    assert "  - signatories[11] “REDRESS”: unknown field “contry”" in (result.stderr)
    assert result.stdout == ""
    assert {model: _count(app, model) for model in counts} == counts


@pytest.mark.real_commits
def test_a_tampered_file_is_refused(app: Flask, tmp_path: Path) -> None:
    with app.app_context():
        build_rich_letter()
        transaction.commit()
    path = tmp_path / "bundle.json"
    _invoke(app, "export-letter", "on-cooperation", "-o", str(path))
    data = json.loads(path.read_text())
    data["revisions"][2]["body_markdown"] = data["revisions"][2]["body_markdown"].replace(
        "Premier", "Dernier"
    )
    path.write_text(json.dumps(data))
    letters = _count(app, Letter)
    result = _invoke(app, "import-letter", str(path), "--owner", "drafter@example.org")
    assert result.exit_code == 1
    assert "revisions[2]: its SHA-256 does not match its title and text" in result.stderr
    assert _count(app, Letter) == letters


@pytest.mark.real_commits
def test_owner_rules(app: Flask) -> None:
    demo = str(_demo_path())
    none = _invoke(app, "import-letter", demo)
    assert none.exit_code == 1 and "there is no account yet" in none.stderr
    _make_owner(app, "only@example.org")
    alone = _invoke(app, "import-letter", demo)
    assert alone.exit_code == 0, alone.output
    assert "for only@example.org" in alone.output
    _make_owner(app, "second@example.org")
    several = _invoke(app, "import-letter", demo)
    assert several.exit_code == 1 and "say who owns it with --owner" in several.stderr
    unknown = _invoke(app, "import-letter", demo, "--owner", "ghost@example.org")
    assert unknown.exit_code == 1
    assert "--owner: there is no account with the address ghost@example.org" in unknown.stderr
    assert _count(app, Letter) == 1


@pytest.mark.real_commits
def test_files_that_are_not_bundles(app: Flask, tmp_path: Path) -> None:
    _make_owner(app, "owner@example.org")
    broken = tmp_path / "broken.json"
    broken.write_text('{"title": "T",')
    result = _invoke(app, "import-letter", str(broken), "--owner", "owner@example.org")
    assert result.exit_code == 1 and "is not valid JSON" in result.output
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00")
    result = _invoke(app, "import-letter", str(binary), "--owner", "owner@example.org")
    assert result.exit_code == 1 and "is not UTF-8 text" in result.output
    missing = _invoke(app, "import-letter", str(tmp_path / "nope.json"))
    assert missing.exit_code == 1 and "Cannot read" in missing.output
    unknown = _invoke(app, "export-letter", "no-such-letter")
    assert unknown.exit_code == 1 and "There is no letter with the slug" in unknown.output
    assert _count(app, Letter) == 0
