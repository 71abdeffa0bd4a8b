"""What live editing hangs on the rest of the app: signal receivers and a periodic task."""

from __future__ import annotations

import functools

from flask import current_app, g

from signon.accounts.models import User
from signon.core import jobs, transaction
from signon.core.signals import (
    letter_access_changed,
    revision_saved,
    text_freezing,
    user_access_changed,
)
from signon.drafting.live import operations
from signon.drafting.live.hub import hub
from signon.letters.models import Letter, Revision
from signon.letters.operations import SaveStatus

#: How often ``flask scheduler`` looks for quiet live documents to save.
AUTOSAVE_EVERY = 30


@letter_access_changed.connect
def _recheck_sockets(sender: Letter, **_extra: object) -> None:
    """Once the change is committed, every server re-checks the letter's open sockets."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    letter_id = sender.id
    transaction.after_commit(lambda: hub(app).access_changed(letter_id))


@user_access_changed.connect
def _recheck_persons_sockets(sender: User, **_extra: object) -> None:
    """Once the change is committed, every server re-checks that person's open sockets
    (on any letter: an organisation may be on many teams)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    user_id = sender.id
    transaction.after_commit(lambda: hub(app).person_changed(user_id))


@text_freezing.connect
def _save_before_freezing(sender: Letter, *, user: User, **_extra: object) -> str | None:
    """Freezing freezes the text the editors see: the live text's unsaved changes become a
    version first, one revision per person who typed (as "Save version" by ``user``), and
    the editors are sent it. When they overlap a save meanwhile they are kept as ``user``'s
    conflict draft, as a save keeps them, and the text is not frozen yet."""
    result = operations.save_live_version(sender, user)
    if result.update is not None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        letter_id, update = sender.id, result.update
        transaction.after_commit(lambda: hub(app).after_save(letter_id, update))
    if result.status == SaveStatus.CONFLICT:
        return (
            "The live text has changes that overlap a save made meanwhile: they are kept as"
            " your draft (see Edit). Resolve it, then freeze the text."
        )
    return None


@revision_saved.connect
def _announce_saved(sender: Revision, **_extra: object) -> None:
    """Once the revision is committed, the pages that follow the letter's text hear that a
    version was saved (once per unit of work, however many revisions it made)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    letter_id = sender.letter_id
    waiting: set[int] = g.setdefault("_live_saved_letters", set())
    if letter_id in waiting:
        return
    waiting.add(letter_id)

    def announce() -> None:
        waiting.discard(letter_id)
        hub(app).saved(letter_id)

    transaction.after_commit(announce)


@jobs.periodic("live-autosave", every_seconds=AUTOSAVE_EVERY)
def autosave_live_documents() -> None:
    """Save the live documents that stayed quiet for ``SIGNON_LIVE_AUTOSAVE_SECONDS``.

    The app servers do it too for the documents they hold open (``make run`` has no
    scheduler); a save takes the letter's lock and finds nothing left to save twice.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    saved = operations.autosave_quiet(app.config["SIGNON"].live_autosave_seconds)
    live = hub(app)
    for letter_id, result in saved:
        transaction.after_commit(functools.partial(live.after_save, letter_id, result.update))
