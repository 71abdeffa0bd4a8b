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
