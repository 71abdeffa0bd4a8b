"""Object-level access control (no IDOR): one coalition never reaches another's data.

Two coalitions: letter A (public, coordinated by Alice) and letter B (private,
coordinated by the "Zulu" coalition; every identifying string of B contains
"zulu"). Acting as A's coordinator, the strongest role on A, the test walks the
app's URL map and builds every route that names an object with B's identifiers:
B's slug, or A's slug with B's revision number, team member, draft, invitation,
signature, export record and API token ids, and A's organisation with B's
membership and invitation ids (and B's organisation itself). Each must answer
403/404 (410 for a confirmation token of another letter), show nothing of B, and
change nothing of B. Then the API (A's token on B), and search (the dashboard's q=
and the letter list) are checked the same way.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Rule

from signon.accounts import operations as accounts
from signon.accounts.models import Membership, OrganisationInvitation, User
from signon.api.tokens import create_api_token
from signon.core.jobs import BackgroundJob
from signon.core.outbox import OutboxMessage
from signon.core.permissions import OrganisationRole, TeamRole
from signon.core.transaction import commit
from signon.drafting.comments import operations as comments
from signon.drafting.comments.models import CommentThread
from signon.drafting.suggestions import operations as suggestions
from signon.drafting.suggestions.models import Suggestion
from signon.exports.bundles.operations import IMPORT_JOB
from signon.exports.pdf.operations import export_pdf
from signon.extensions import db
from signon.letters import operations as letters
from signon.letters.models import Letter, TeamMember, UnresolvedDraft
from signon.signatures.approvals.operations import SignatoryDetails
from signon.signatures.invitations import operations as invitations
from signon.signatures.models import Invitation, Signature
from signon.signatures.uploads import process_logo
from tests.audit.audit_app import build_app
from tests.conftest import login
from tests.factories import add_team_member, make_letter, make_organisation, make_user
from tests.signatures.factories import ask, ask_and_confirm, image_bytes
from tests.smtp import MailCatcher

MARKER = "zulu"

#: URL arguments that are bearer capabilities, not object ids: possession of the
#: token is the permission. Their own matrices test valid/expired/revoked/another
#: letter's tokens; routes that combine a slug with a token are walked here.
CAPABILITY_ONLY = {"token"}
#: Arguments that name nothing private.
NOT_AN_OBJECT = {"path", "filename"}
#: Arguments this test knows how to fill with the other coalition's ids.
OBJECT_ARGS = {
    "slug",
    "number",
    "member_id",
    "draft_id",
    "invitation_id",
    "signature_id",
    "record_id",
    "token_id",
    "org_id",
    "membership_id",
    "message_id",
    "token",
    "job_id",
    "thread_id",
    "suggestion_id",
}


@pytest.fixture(scope="module")
def app(database_url: str, mail_catcher: MailCatcher) -> Flask:
    """The app with every blueprint, the audit log's too (until create_app registers it)."""
    return build_app(database_url, mail_catcher)


@dataclass
class World:
    alice: User
    a: Letter
    a_org_id: int
    b_slug: str
    b: dict[str, Any]
    a_token: str


def _build() -> World:
    # --- coalition A
    alice = make_user("alice@alpha.example.org", name="Alice Alpha")
    a = make_letter(alice, title="Alpha letter", body="Alpha text.\n", is_public=True)
    a_org = make_organisation("Alpha Org", admin=alice)
    a_drafter = make_user(name="Alpha Drafter")
    add_team_member(a, role=TeamRole.DRAFTER, user=a_drafter)
    _a_token, a_raw = create_api_token(a, name="Alpha site", created_by=alice)

    # --- coalition B: every identifying string contains "zulu"
    zed = make_user("zed@zulu.example.org", name="Zed Zulu")
    zara = make_user("zara@zulu.example.org", name="Zara Zulu")
    b = make_letter(zed, title="Zulu private letter", body="Zulu secret text one.\n")
    b_org = make_organisation("Zulu Org", admin=zed)
    zulu_member = db.session.scalar(select(Membership).where(Membership.user_id == zed.id))
    member = letters.add_team_member(b, role=TeamRole.DRAFTER, added_by=zed, user=zara)
    base = b.head()
    assert base is not None
    letters.save_revision(b, zara, base=base, title=b.title, body="Zulu secret text two.\n")
    conflict = letters.save_revision(
        b, zed, base=base, title=b.title, body="Zulu secret text three.\n"
    )
    assert conflict.draft is not None
    head = b.head()
    assert head is not None and head.number == 2
    letters.save_revision(b, zed, base=head, title=b.title, body="Zulu secret text four.\n")
    head = b.head()
    assert head is not None and head.number == 3  # letter A has only revision 1
    # a comment thread and an open suggestion of B's team
    thread = comments.start_thread(b, head, quote="secret", body="Zulu comment", author=zara)
    (suggestion,) = suggestions.suggest_changes(
        b, zara, base=head, body="Zulu secret text zulufive.\n"
    )
    invitation = invitations.invite_organisation(
        b, organisation_name="Zulu Invitee Org", email="invitee@zulu.example.org", invited_by=zed
    )
    invitations.approve_invitation(
        invitation,
        head,
        SignatoryDetails(name="Zulu Signatory Org", authority_confirmed=True),
        logo=process_logo(io.BytesIO(image_bytes())),
    )
    signature = invitation.signature
    assert signature is not None and signature.logo_filename
    record = export_pdf(b, zed, background=False).record
    _b_token, _b_raw = create_api_token(b, name="Zulu site", created_by=zed)
    # a public signature waiting for moderation, and a confirmation token, while B was public
    b.is_public = True
    pending = ask_and_confirm(b, "Zulu Public Org", "public@zulu.example.org")
    public_token = ask(b, "Zulu Other Org", "other@zulu.example.org").token
    b.is_public = False
    org_invitation = accounts.invite_to_organisation(
        b_org, zed, "newcomer@zulu.example.org", OrganisationRole.MEMBER
    )
    assert zulu_member is not None and public_token is not None
    b_message = OutboxMessage(
        letter_id=b.id,
        recipient="zulu-contact@zulu.example.org",
        subject="Zulu undelivered",
        text="Zulu",
        html="<p>Zulu</p>",
        attempts=1,
        last_error="550 refused",
    )
    db.session.add(b_message)
    # a bundle import Zulu's coordinator started (its status page is theirs alone)
    b_import = BackgroundJob(kind=IMPORT_JOB, letter_id=b.id, started_by_id=zed.id)
    db.session.add(b_import)
    db.session.flush()
    return World(
        alice,
        a,
        a_org.id,
        b.slug,
        {
            "letter_id": b.id,
            "number": 3,
            "member_id": member.id,
            "draft_id": conflict.draft.id,
            "invitation_id": invitation.id,
            "signature_id": signature.id,
            "moderation_signature_id": pending.id,
            "record_id": record.id,
            "token_id": _b_token.id,
            "org_id": b_org.id,
            "membership_id": zulu_member.id,
            "org_invitation_id": org_invitation.id,
            "public_token": public_token,
            "message_id": b_message.id,
            "job_id": b_import.id,
            "thread_id": thread.id,
            "suggestion_id": suggestion.id,
        },
        a_raw,
    )


def _snapshot(world: World) -> dict[str, Any]:
    """What a successful forged request would change on B's side."""
    db.session.expire_all()
    ids = world.b
    member = db.session.get(TeamMember, ids["member_id"])
    invitation = db.session.get(Invitation, ids["invitation_id"])
    pending = db.session.get(Signature, ids["moderation_signature_id"])
    membership = db.session.get(Membership, ids["membership_id"])
    org_invitation = db.session.get(OrganisationInvitation, ids["org_invitation_id"])
    letter = db.session.get(Letter, ids["letter_id"])
    message = db.session.get(OutboxMessage, ids["message_id"])
    thread = db.session.get(CommentThread, ids["thread_id"])
    suggestion = db.session.get(Suggestion, ids["suggestion_id"])
    assert letter is not None and thread is not None and suggestion is not None
    return {
        "member": member.role if member else None,
        "draft": db.session.get(UnresolvedDraft, ids["draft_id"]) is not None,
        "invitation": (invitation.status, invitation.revoked_at) if invitation else None,
        "moderation": pending.moderation if pending else None,
        "membership": membership.role if membership else None,
        "org_invitation": org_invitation.revoked_at if org_invitation else None,
        "letter": (letter.status, letter.is_public, letter.title, letter.deadline),
        "message": (message.attempts, message.sent_at) if message else None,
        "revisions": letter.head().number if letter.head() else None,  # type: ignore[union-attr]
        "thread": (thread.resolved_at, len(thread.comments)),
        "suggestion": (suggestion.state, suggestion.decided_at),
    }


@dataclass(frozen=True)
class Probe:
    method: str
    url: str
    rule: str
    websocket: bool = False


#: The handshake of a WebSocket from a page of this site: a socket route answers a plain
#: request with 400 before it looks at the letter, so it is probed as a browser opens it.
WEBSOCKET_HANDSHAKE = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
    "Origin": "http://localhost",
}


#: A form that would pass validation on most POST routes (CSRF is off in tests),
#: so that only the object check stands between the request and a change.
FORGED_FORM = {
    "role": "viewer",
    "kind": "editorial",
    "reason": "forged",
    "take_details": "y",
    "into": "0",
    "enabled": "y",
    "title": "Forged",
    "body": "Forged.",
    "addressee": "Forged",
    "language": "en",
    "email": "forged@example.org",
}


def _probes(app: Flask, world: World) -> Iterator[Probe]:
    a_slug, b = world.a.slug, world.b
    for rule in app.url_map.iter_rules():
        args = set(rule.arguments)
        unknown = args - OBJECT_ARGS - NOT_AN_OBJECT
        assert not unknown, f"{rule.rule}: teach test_idor.py about {sorted(unknown)}"
        if not args & (OBJECT_ARGS - CAPABILITY_ONLY) or args & NOT_AN_OBJECT:
            continue  # no object named, or only a capability token
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for values in _fillings(rule, a_slug, world.a_org_id, b):
                url = _url(rule, values)
                if rule.endpoint == "letters.diff":
                    url += "?from=1&to=3"
                yield Probe(method, url, rule.rule, rule.websocket)


def _fillings(rule: Rule, a_slug: str, a_org: int, b: dict[str, Any]) -> list[dict[str, Any]]:
    args = set(rule.arguments)
    moderation = rule.endpoint.startswith("signatures.moderation")
    b_ids = {
        "number": b["number"],
        "member_id": b["member_id"],
        "draft_id": b["draft_id"],
        "invitation_id": b["org_invitation_id"] if "org_id" in args else b["invitation_id"],
        "signature_id": b["moderation_signature_id"] if moderation else b["signature_id"],
        "record_id": b["record_id"],
        "token_id": b["token_id"],
        "membership_id": b["membership_id"],
        "message_id": b["message_id"],
        "token": b["public_token"],
        "job_id": b["job_id"],
        "thread_id": b["thread_id"],
        "suggestion_id": b["suggestion_id"],
    }
    fillings = []
    if "slug" in args:
        # B's slug with B's own ids: the whole letter is invisible to A's people
        fillings.append({**b_ids, "slug": b_slug_of(b)})
        if args - {"slug"}:
            fillings.append({**b_ids, "slug": a_slug})  # A's slug, B's objects
    if "org_id" in args:
        fillings.append({**b_ids, "org_id": b["org_id"]})
        if args - {"org_id"}:
            fillings.append({**b_ids, "org_id": a_org})
    if not args & {"slug", "org_id"}:
        fillings.append(b_ids)  # an object named by its id alone (a background job)
    return [{k: v for k, v in f.items() if k in args} for f in fillings]


def b_slug_of(b: dict[str, Any]) -> str:
    letter = db.session.get(Letter, b["letter_id"])
    assert letter is not None
    return letter.slug


def _url(rule: Rule, values: dict[str, Any]) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(values[m.group(1)]), rule.rule)


def _refused(status: int, url: str) -> bool:
    if "/confirm/" in url:  # another letter's confirmation token: "this link does not work"
        return status in (403, 404, 410)
    return status in (403, 404)


def test_no_route_lets_one_coalition_reach_anothers_objects(
    app: Flask, client: FlaskClient
) -> None:
    with app.test_request_context():
        world = _build()
        commit()
        before = _snapshot(world)
        login(client, world.alice)
        probes = list(_probes(app, world))
        # the walk reached the kinds of objects the issue names
        walked = " ".join(p.rule for p in probes)
        for needle in (
            "revisions/<int:number>",
            "team/<int:member_id>",
            "drafts/<int:draft_id>",
            "invitations/<int:invitation_id>",
            "signatures/<int:signature_id>/logo",
            "moderation/<int:signature_id>",
            "exports/<int:record_id>",
            "api-tokens/<int:token_id>",
            "members/<int:membership_id>",
            "logos/<int:signature_id>",
            "imports/<int:job_id>",
            "/api/v1/letters/<slug>",
            "comments/<int:thread_id>",
            "suggestions/<int:suggestion_id>",
            "/letters/<slug>/live",
        ):
            assert needle in walked, needle
        leaks = []
        for probe in probes:
            headers = WEBSOCKET_HANDSHAKE if probe.websocket else {}
            response = client.open(
                probe.url, method=probe.method, data=FORGED_FORM, headers=headers
            )
            body = response.get_data(as_text=True).lower()
            if not _refused(response.status_code, probe.url) or MARKER in body:
                leaks.append(f"{probe.method} {probe.url} -> {response.status_code}")
        assert leaks == []
        assert _snapshot(world) == before


def test_an_api_token_of_one_letter_does_not_open_another(app: Flask, client: FlaskClient) -> None:
    with app.test_request_context():
        world = _build()
        commit()
        headers = {"Authorization": f"Bearer {world.a_token}"}
        own = client.get(f"/api/v1/letters/{world.a.slug}", headers=headers)
        assert own.status_code == 200 and "Alpha letter" in own.get_data(as_text=True)
        for path in ("", "/signatories"):
            response = client.get(f"/api/v1/letters/{world.b_slug}{path}", headers=headers)
            assert response.status_code in (401, 403, 404), path
            assert MARKER not in response.get_data(as_text=True).lower()


def test_search_does_not_find_the_other_coalitions_organisations(
    app: Flask, client: FlaskClient
) -> None:
    with app.test_request_context():
        world = _build()
        commit()
        login(client, world.alice)
        names = ("zulu signatory org", "zulu invitee org", "zulu public org", "@zulu.example.org")
        for query in ("zulu", "Zulu Signatory", "invitee@zulu", "zulu.example"):
            response = client.get(f"/letters/{world.a.slug}/signatories", query_string={"q": query})
            assert response.status_code == 200
            body = response.get_data(as_text=True).lower()
            assert not [name for name in names if name in body], query
        for path in ("/letters/", "/organisations"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert MARKER not in response.get_data(as_text=True).lower(), path
        # The team page's organisation picker lists every organisation on Signon by
        # name (a directory, by design: that is how a coalition adds one); nothing of
        # B's letter, people or invitees may appear there.
        team = client.get(f"/letters/{world.a.slug}/team").get_data(as_text=True).lower()
        private = ("zulu private letter", "zulu secret", "zed zulu", "zara zulu", "@zulu.example")
        assert not [s for s in private if s in team]


def test_the_probe_would_see_a_leak(app: Flask, client: FlaskClient) -> None:
    """The checks above can fail: B's own coordinator does see B's strings on these routes."""
    with app.test_request_context():
        world = _build()
        zed = db.session.scalar(select(User).where(User.email == "zed@zulu.example.org"))
        assert zed is not None
        commit()
        login(client, zed)
        b = world.b
        for url in (
            f"/letters/{world.b_slug}/",
            f"/letters/{world.b_slug}/revisions/3",
            f"/letters/{world.b_slug}/drafts/{b['draft_id']}",
            f"/letters/{world.b_slug}/exports/{b['record_id']}",
        ):
            response = client.get(url)
            assert response.status_code == 200, url
            assert MARKER in response.get_data(as_text=True).lower(), url
        found = client.get(f"/letters/{world.b_slug}/signatories", query_string={"q": "zulu"})
        assert "zulu signatory org" in found.get_data(as_text=True).lower()
        logo = client.get(f"/letters/{world.b_slug}/signatures/{b['signature_id']}/logo")
        assert logo.status_code == 200 and logo.mimetype.startswith("image/")
