"""Drafting together on top of the revision chain (issue 13).

Sub-features, each a package with its own ``models``, ``operations``, ``queries``, ``forms``
and ``views`` where it has them:

- ``comments``: comments anchored to a passage, threads, resolve, mentions;
- ``suggestions``: tracked changes, accepted or rejected into revisions;
- ``live``: real-time co-editing of the shared document (CRDT over a WebSocket).

``anchors`` carries a passage of one revision to a later one through the word diff; both
comments and suggestions ask it, so there is one rule for "where did these words go".

The revision chain of ``letters`` stays the record: everything here ends as revisions made
through ``letters.operations``. This package sits above ``signatures`` (invited
organisations may comment) and below ``exports``.
"""
