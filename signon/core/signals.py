"""Signals that let a lower feature announce an event to the features built on it.

The layering (core < audit < accounts < letters < ...) forbids accounts to call into
letters; a signal defined here lets letters listen instead. Receivers run in the
sender's thread and transaction: what they add and flush is committed, or rolled
back, with the change that sent the signal.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: Sent by ``accounts.operations.confirm_email`` with the user (``sender``) once their
#: address is confirmed, before the request commits.
email_confirmed = _signals.signal("email-confirmed")

#: Sent by ``letters.operations`` with the new revision (``sender``) once a save of the
#: text has inserted it (not for a letter's first text, nor for an import).
revision_saved = _signals.signal("revision-saved")

#: Sent by ``core.mail`` when a message about a letter fails for the first time, with the
#: short session (``sender``) that records the failure, so that what receivers add is
#: committed with it: ``letter_id``, ``recipient``, ``subject`` and ``error``.
mail_failed = _signals.signal("mail-failed")

#: Sent with the letter (``sender``) when who may do what on it changed: a team member
#: added, removed or given another role (``letters.operations``), or its status changed
#: (frozen, reopened, closed: ``signatures.lifecycle``). Live editing re-checks its open
#: sockets once the change is committed.
letter_access_changed = _signals.signal("letter-access-changed")

#: Sent by ``accounts.operations`` with the user (``sender``) when what that person may
#: reach changed other than on one letter's team page: they left an organisation or were
#: removed from it (and with it from the teams it is on), or every session of theirs ended
#: (logged out, password changed or reset). Live editing re-checks that person's open
#: sockets once the change is committed.
user_access_changed = _signals.signal("user-access-changed")

#: Sent by ``signatures.lifecycle.operations.freeze_text`` with the letter (``sender``) and
#: who freezes it (``user``), under the letter's lock and before anything is checked: what
#: receivers add is frozen with the text (live editing saves the live text as a version,
#: so that what is frozen is what the editors saw). A receiver may return a sentence
#: saying why the text cannot be frozen yet; the freeze is then refused with it.
text_freezing = _signals.signal("text-freezing")
