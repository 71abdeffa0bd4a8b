"""Diffs of revisions as readers see them, made once and stored (:class:`RevisionDiff`).

A diff of the formatted text (:func:`signon.letters.rendered_diff.marked_revisions`)
costs about 0.15 s of CPU for a 50,000-character letter on an idle machine, and the
Changes page shows up to twenty: seconds on the first view, in every process (the
per-process cache of ``marked_revisions`` helped the second view only). Revisions never
change, so neither does their diff: when a revision is saved, a background job diffs it
with the one before (what Changes and Compare show first) and stores the result, and
pages read it with one query (:func:`revision_diffs`). A pair not stored yet (the job
has not run, an imported letter, two revisions further apart) is diffed on the page as
before. A stored diff made by an older version of the diff (:data:`DIFF_VERSION`) is
not used, and the next job for the letter makes it again.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup
from sqlalchemy import delete, exists, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from signon.core import jobs
from signon.core.signals import revision_saved
from signon.extensions import db
from signon.letters.models import Revision, RevisionDiff
from signon.letters.rendered_diff import DIFF_VERSION, MarkedDiff, marked_revisions
from signon.letters.text import DiffStats

DIFF_JOB = "letters.diffs"
#: The most diffs one job makes, newest first (the next save's job goes on).
DIFFS_PER_JOB = 40


def revision_diffs(pairs: Sequence[tuple[Revision, Revision]]) -> list[MarkedDiff]:
    """The diff of each ``(old, new)`` pair: stored ones in one query, others made here."""
    found: dict[tuple[int, int], MarkedDiff] = {}
    keys = list({(old.id, new.id) for old, new in pairs})
    if keys:
        rows = db.session.scalars(
            select(RevisionDiff).where(
                tuple_(RevisionDiff.old_revision_id, RevisionDiff.new_revision_id).in_(keys),
                RevisionDiff.version == DIFF_VERSION,
            )
        )
        for row in rows:
            found[(row.old_revision_id, row.new_revision_id)] = MarkedDiff(
                Markup(row.html),  # noqa: S704 - sanitised by marked_revisions when stored
                DiffStats(row.words_added, row.words_removed),
            )
    return [found.get((old.id, new.id)) or marked_revisions(old, new) for old, new in pairs]


def revision_diff(old: Revision, new: Revision) -> MarkedDiff:
    """:func:`revision_diffs` of one pair."""
    return revision_diffs([(old, new)])[0]


@revision_saved.connect
def _store_later(sender: Revision, **_extra: object) -> None:
    """Every save (edit, merge, live save, accepted suggestion) diffs in the background."""
    jobs.enqueue(DIFF_JOB, target_id=sender.letter_id, of_letter=sender.letter_id)


@jobs.job(DIFF_JOB, label="Marking the changes of new revisions", retries=(10, 60))
def run_store_diffs(running: jobs.RunningJob, *, of_letter: int) -> None:
    store_missing_diffs(of_letter)


def store_missing_diffs(letter_id: int, limit: int = DIFFS_PER_JOB) -> int:
    """Diff each revision of the letter with the one before, where no current diff of the
    pair is stored yet (newest first, at most ``limit``); how many were stored."""
    before = aliased(Revision)
    stored = exists().where(
        RevisionDiff.old_revision_id == before.id,
        RevisionDiff.new_revision_id == Revision.id,
        RevisionDiff.version == DIFF_VERSION,
    )
    missing = db.session.execute(
        select(before, Revision)
        .join(
            before,
            (before.letter_id == Revision.letter_id) & (before.number == Revision.number - 1),
        )
        .where(Revision.letter_id == letter_id, ~stored)
        .order_by(Revision.number.desc())
        .limit(limit)
    ).tuples()
    count = 0
    for old, new in missing:
        marked = marked_revisions(old, new)
        try:
            with db.session.begin_nested():
                db.session.execute(
                    delete(RevisionDiff).where(
                        RevisionDiff.old_revision_id == old.id,
                        RevisionDiff.new_revision_id == new.id,
                    )
                )
                db.session.add(
                    RevisionDiff(
                        old_revision_id=old.id,
                        new_revision_id=new.id,
                        version=DIFF_VERSION,
                        html=str(marked.html),
                        words_added=marked.stats.words_added,
                        words_removed=marked.stats.words_removed,
                    )
                )
        except IntegrityError:
            continue  # another job stored it meanwhile
        count += 1
    return count
