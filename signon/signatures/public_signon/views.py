"""The public page of a letter (``/p/<slug>``), its embed, and public sign-on.

All of these are ``@public`` (no login) and answer 404 unless the letter's
public page is switched on. Asking to sign is a double opt-in: the form creates
a request and mails a link; only the POST of the confirmation page (never a GET,
which mail scanners follow) creates the signature, which then waits for
moderation before it is shown anywhere.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter.errors import RateLimitExceeded
from markupsafe import escape
from sqlalchemy import Select, bindparam
from sqlalchemy.orm import load_only
from werkzeug.wrappers import Response

from signon.core import fields, page_cache, timefmt
from signon.core.access import public
from signon.core.errors import MESSAGES
from signon.core.headers import CSP
from signon.core.http_cache import cache_publicly, keep_private
from signon.core.locks import read_shared
from signon.core.storage import send_stored_or_404
from signon.extensions import db, limiter
from signon.letters import queries
from signon.letters.diff_store import revision_diff
from signon.letters.models import Letter, Revision
from signon.letters.text import word_diff
from signon.signatures import counts
from signon.signatures.approvals.operations import SignatureError, StaleRevisionError
from signon.signatures.blueprint import bp
from signon.signatures.listing import ListPage, listed, listed_signature
from signon.signatures.models import PublicSignRequest, SignatoryKind
from signon.signatures.public_signon import operations
from signon.signatures.public_signon.forms import (
    ConfirmPublicForm,
    IndividualSignForm,
    PublicSignForm,
)
from signon.signatures.uploads import LOGO_FOLDER

#: Asking to sign: per address (whatever the letter). Per client IP: the settings
#: ``public_sign_limit_per_ip`` and (opening and submitting confirmation links)
#: ``public_confirm_limit_per_ip``, which a load test from 127.0.0.1 raises.
SIGN_LIMIT_PER_EMAIL = "5 per hour"

#: The embed may be framed by any site; everything else is as strict as everywhere.
EMBED_CSP = CSP.replace("frame-ancestors 'none'", "frame-ancestors *")
assert EMBED_CSP != CSP, "signon.core.headers.CSP no longer says frame-ancestors 'none'"

LIMITED_ENDPOINTS = frozenset({"signatures.public_sign", "signatures.public_confirm"})
#: Signatories shown per page of the public page, and in the embed (which links to the page).
PUBLIC_PAGE_SIZE = 100
LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def _sign_limit_per_ip() -> str:
    limit: str = current_app.config["SIGNON"].public_sign_limit_per_ip
    return limit


def _confirm_limit_per_ip() -> str:
    limit: str = current_app.config["SIGNON"].public_confirm_limit_per_ip
    return limit


def _email_key() -> str:
    """Rate-limit key: the address typed into the form (a limiter key function reads raw input)."""
    return "public-sign-email:" + fields.normalise_email(request.form.get("email") or "")[:254]


@bp.errorhandler(RateLimitExceeded)
def _rate_limited(error: RateLimitExceeded) -> tuple[str, int]:
    """Say what happened on the public pages; elsewhere the usual "Too many requests" page."""
    if request.endpoint in LIMITED_ENDPOINTS:
        return render_template("signatures/public_rate_limited.html"), 429
    title, message = MESSAGES[429]
    return render_template("core/error.html", code=429, title=title, message=message), 429


# --- Loading ---------------------------------------------------------------------------------


def _public_letter(slug: str) -> Letter:
    """The letter of a public route (404 unless its public page is on). A POST (asking to
    sign, confirming) reads it under its shared lock at once, which the operation takes
    anyway (:func:`operations._hold_open`): one read instead of two."""
    letter = queries.letter_by_slug(slug, shared=request.method == "POST")
    if not letter.is_public:
        abort(404)
    return letter


def _letter_and_request(
    slug: str, token: str
) -> tuple[Letter, PublicSignRequest | None, Revision | None]:
    """The letter of a mailed confirmation link (as :func:`_public_letter`: 404 unless its
    public page is on, read under its shared lock by a POST), the request that ``token``
    confirms (``None``: no such request) and, for a GET (the page shows it), the letter's
    head, in one statement. A POST reads the head under the lock (the operation)."""
    params = {
        **queries.slug_parameter(slug),
        "token_hash": operations.confirmation_hash(token),
    }
    if request.method == "POST":
        rows = read_shared(_letter_and_request_statement(), params)
    else:
        rows = list(db.session.execute(_letter_request_and_head_statement(), params))
    if not rows or not rows[0][0].is_public:
        abort(404)
    row = rows[0]
    return row[0], row[1], row[2] if len(row) > 2 else None


@cache
def _letter_and_request_statement() -> Select[tuple[Letter, PublicSignRequest]]:
    """:func:`_letter_and_request`'s statement (bind parameters ``slug`` and ``token_hash``),
    built once, as every statement a public sign-on runs on each step."""
    return (
        queries.by_slug()
        .add_columns(PublicSignRequest)
        .outerjoin(
            PublicSignRequest,
            (PublicSignRequest.letter_id == Letter.id)
            & (PublicSignRequest.token_hash == bindparam("token_hash")),
        )
    )


@cache
def _letter_request_and_head_statement() -> Select[tuple[Letter, PublicSignRequest, Revision]]:
    """The same with the letter's head (the confirmation page shows it)."""
    head_id = (
        Letter.head_of(Letter.id)
        .with_only_columns(Revision.id)
        .correlate(Letter)  # the outer Revision is the head, not part of this
        .scalar_subquery()
    )
    return (
        _letter_and_request_statement()
        .add_columns(Revision)
        .outerjoin(Revision, Revision.id == head_id)
    )


def _head(letter: Letter) -> Revision:
    head = letter.head()
    if head is None:
        abort(404)
    return head


def _letter_and_revisions(slug: str) -> tuple[Letter, dict[int, Revision]]:
    """Asking to sign: the letter (as :func:`_public_letter`, under its shared lock) and
    its revisions by id, without their text (loaded if a page is rendered), in one
    statement: the form needs the ids, the head and the one shown."""
    rows = read_shared(_letter_and_revisions_statement(), queries.slug_parameter(slug))
    if not rows or not rows[0][0].is_public:
        abort(404)
    return rows[0][0], {revision.id: revision for _, revision in rows if revision is not None}


@cache
def _letter_and_revisions_statement() -> Select[tuple[Letter, Revision]]:
    """:func:`_letter_and_revisions`' statement (bind parameter ``slug``), built once."""
    return (
        queries.by_slug()
        .add_columns(Revision)
        .outerjoin(Revision, Revision.letter_id == Letter.id)
        .options(load_only(Revision.id, Revision.letter_id, Revision.number))
    )


def _page_number() -> int:
    """``?page=`` of the public page (1 when missing or not a number)."""
    number = request.args.get("page", default=1, type=int) or 1
    return max(1, min(number, 10**6))


def _list_page(letter: Letter, number: int = 1) -> ListPage:
    """Page ``number`` of the letter's list: only its rows are read (a fixed number of
    queries, whatever the size of the list), its count from ``signatures.counts``."""
    listing = listed(letter)
    offset = (number - 1) * PUBLIC_PAGE_SIZE
    return listing.page(offset, PUBLIC_PAGE_SIZE, count=counts.shown(listing).listed)


def _sign_forms(
    letter: Letter, head: Revision, posted: PublicSignForm | None
) -> list[PublicSignForm]:
    """The "Sign this letter" forms the letter takes (organisations', individuals' or
    both), the one just posted in its place."""
    if not letter.accepts_signatures:
        return []
    takes = letter.public_signatories
    wanted: list[type[PublicSignForm]] = []
    if takes.takes_organisations:
        wanted.append(PublicSignForm)
    if takes.takes_individuals:
        wanted.append(IndividualSignForm)
    return [
        posted
        if posted is not None and type(posted) is form_class
        else form_class(formdata=None, revision_id=str(head.id))
        for form_class in wanted
    ]


def _render_page(
    letter: Letter,
    head: Revision,
    form: PublicSignForm | None = None,
    *,
    closed_error: bool = False,
    page_number: int = 1,
) -> str:
    return render_template(
        "signatures/public.html",
        letter=letter,
        head=head,
        listing=_list_page(letter, page_number),
        page_number=page_number,
        forms=_sign_forms(letter, head, form),
        closed_error=closed_error,
        # without the form the page has no CSRF token (base.html): caches may keep it
        public_cacheable=not letter.accepts_signatures,
    )


# --- The public page and asking to sign ----------------------------------------------------


@bp.get("/p/<slug>")
@public
def public_page(slug: str) -> Response:
    """The letter, one page of its signatories and (while it accepts signatures) the
    form. Cached publicly only without the form: the form carries a CSRF token. Rendered
    once for every anonymous visitor for a few seconds (``core.page_cache``), each visitor
    getting their own token in it."""
    letter = _public_letter(slug)
    number = _page_number()

    def render() -> str:
        if letter.accepts_signatures:
            return _render_page(letter, _head(letter), page_number=number)
        with timefmt.shared_page():  # cached publicly: the same copy for every zone
            return _render_page(letter, _head(letter), page_number=number)

    if page_cache.plain_visit():
        key = page_cache.letter_key(letter, "public", number)
        html = page_cache.shared_page(key, render, csrf=letter.accepts_signatures)
    else:
        html = render()
    response = make_response(html)
    return keep_private(response) if letter.accepts_signatures else cache_publicly(response)


@bp.post("/p/<slug>/sign")
@public
@limiter.limit(_sign_limit_per_ip, methods=["POST"])
@limiter.limit(SIGN_LIMIT_PER_EMAIL, key_func=_email_key, methods=["POST"])
def public_sign(slug: str) -> Response | str | tuple[str, int]:
    letter, revisions = _letter_and_revisions(slug)
    if not revisions:
        abort(404)
    head = max(revisions.values(), key=lambda revision: revision.number)
    if not letter.accepts_signatures:
        return _render_page(letter, head, closed_error=True), 410
    # which form was posted: its action says (the two may share the page)
    individual = request.args.get("as") == "individual"
    form_class = IndividualSignForm if individual else PublicSignForm
    form = form_class(revision_ids=list(revisions))
    if form.validate_on_submit():
        revision = revisions[form.shown_revision_id]  # validated against the letter's revisions
        data = _request_data(form)
        try:
            operations.request_public_signature(
                letter,
                revision,
                data,
                email=form.email.data or "",
                client_ip=request.remote_addr,
            )
        except operations.AlreadyListedError as error:
            form.name.errors = [*form.name.errors, str(error)]
        except SignatureError as error:
            form.form_errors.append(str(error))
        else:
            return redirect(url_for("signatures.public_check_email", slug=letter.slug))
    return _render_page(letter, head, form)


def _request_data(form: PublicSignForm) -> operations.PublicRequestData:
    """What the validated form asks to sign (an individual's form has no organisation
    fields)."""
    if isinstance(form, IndividualSignForm):
        return operations.PublicRequestData(
            name=form.name.data or "",
            sort_name=form.sort_name.data or None,
            country="",
            kind=SignatoryKind.INDIVIDUAL,
            representative_name="",
            representative_title=form.representative_title.data or None,
            affiliation=form.affiliation.data or None,
        )
    return operations.PublicRequestData(
        name=form.name.data or "",
        sort_name=form.sort_name.data or None,
        country=form.country.data or "",
        kind=SignatoryKind(form.kind.data),
        representative_name=form.representative_name.data or "",
        representative_title=form.representative_title.data or None,
        website=form.website.data or None,
        authority_confirmed=bool(form.authority.data),
    )


@bp.get("/p/<slug>/check-email")
@public
def public_check_email(slug: str) -> str:
    letter = _public_letter(slug)
    return render_template("signatures/public_check_email.html", letter=letter)


# --- Confirming (the mailed link) ------------------------------------------------------------


def _link_problem(
    letter: Letter,
    problem: operations.RequestProblem | str,
    sign_request: PublicSignRequest | None = None,
) -> tuple[str, int]:
    signature = None
    if sign_request is not None and sign_request.signature_id is not None:
        signature = operations.signature_of(letter, sign_request.signature_id)
    code = 404 if problem == operations.RequestProblem.UNKNOWN else 410
    return (
        render_template(
            "signatures/public_link_problem.html",
            letter=letter,
            problem=str(problem),
            signature=signature,
        ),
        code,
    )


@bp.route("/p/<slug>/confirm/<token>", methods=["GET", "POST"])
@public
@limiter.limit(_confirm_limit_per_ip)
def public_confirm(slug: str, token: str) -> Response | str | tuple[str, int]:
    """GET shows what they asked and a button; only the POST confirms."""
    letter, sign_request, head = _letter_and_request(slug, token)
    problem = operations.request_problem(sign_request)
    if problem is not None:
        return _link_problem(letter, problem, sign_request)
    assert sign_request is not None
    if not letter.accepts_signatures:
        return _link_problem(letter, "closed")
    form = ConfirmPublicForm()
    status = 200
    taken: operations.NameTakenError | None = None
    if form.validate_on_submit():
        revision_id = form.chosen_revision_id
        try:
            if revision_id is None:
                raise StaleRevisionError("Please read the current text and confirm it.")
            # the operation reads the head once, under the letter's lock, and compares
            operations.confirm_public_request(sign_request, revision_id)
        except operations.RequestLinkError as error:
            return _link_problem(letter, error.problem, sign_request)
        except StaleRevisionError as error:
            flash(str(error), "warning")
            status = 409
        except operations.NameTakenError as error:
            taken = error
            status = 409
        except SignatureError as error:
            flash(str(error), "error")
            status = 409
        else:
            flash(
                "Thank you: your e-mail address is confirmed. The coordinators will review "
                "your signature before it appears on this page; we will let you know by e-mail.",
                "success",
            )
            return redirect(url_for("signatures.public_page", slug=letter.slug))
    if head is None:  # a POST: read after its refusal, the text it was refused for
        head = _head(letter)
    shown = sign_request.revision
    changed = shown.id != head.id
    return (
        render_template(
            "signatures/public_confirm.html",
            letter=letter,
            head=head,
            shown=shown,
            data=operations.PublicRequestData.from_json(sign_request.data),
            email=sign_request.email,
            form=ConfirmPublicForm(formdata=None, revision_id=str(head.id)),
            changed=changed,
            body_diff=revision_diff(shown, head) if changed else None,
            title_diff=word_diff(shown.title, head.title) if shown.title != head.title else None,
            taken=taken,
        ),
        status,
    )


# --- Embed and logos -------------------------------------------------------------------------


@bp.get("/p/<slug>/embed")
@public
def public_embed(slug: str) -> Response:
    """A compact page for other sites' iframes: the only page that may be framed."""
    letter = _public_letter(slug)

    def render() -> str:
        with timefmt.shared_page():  # cached publicly: the same copy for every zone
            return render_template(
                "signatures/public_embed.html",
                letter=letter,
                head=_head(letter),
                listing=_list_page(letter),
            )

    if page_cache.enabled():  # the same for everyone: no menu, no form, no message
        html = page_cache.shared_page(page_cache.letter_key(letter, "embed"), render, csrf=False)
    else:
        html = render()
    response = make_response(html)
    response.headers["Content-Security-Policy"] = EMBED_CSP
    return cache_publicly(response)


def embed_snippet(letter: Letter) -> str:
    """The HTML a coalition pastes into its site (shown escaped on the moderation page)."""
    return (
        f'<iframe src="{escape(operations.embed_url(letter))}" '
        f'title="{escape("Signatories: " + letter.title)}" '
        'width="100%" height="500" style="border: 0" loading="lazy"></iframe>'
    )


@bp.get("/p/<slug>/logos/<int:signature_id>")
@public
def public_logo(slug: str, signature_id: int) -> Response:
    """The logo of a published signatory, and of nobody else."""
    letter = _public_letter(slug)
    signature = listed_signature(letter, signature_id)
    if signature is None or not signature.logo_filename:
        abort(404)
    filename = signature.logo_filename
    mimetype = LOGO_TYPES.get(Path(filename).suffix.lower())
    if mimetype is None or Path(filename).name != filename:
        abort(404)
    response = send_stored_or_404(f"{LOGO_FOLDER}/{filename}", mimetype=mimetype, max_age=300)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
