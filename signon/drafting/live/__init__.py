"""Real-time co-editing of a letter's text (issue 13, item 3).

Browsers edit one shared CRDT document (Yjs) over a WebSocket speaking the standard
y-websocket protocol; the server keeps its copy with pycrdt (:mod:`.crdt`), checks every
message against the sender's role (:mod:`.protocol`, :mod:`.hub`), stores each accepted
update (:mod:`.models`, :mod:`.operations`) and turns the document into a Signon revision
through ``letters.operations.save_revision`` on "Save version" or after a quiet period.
docs/live-editing.md describes the protocol and the choices.
"""
