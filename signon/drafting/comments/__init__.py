"""Comments anchored to a passage of the letter's text (issue 13, item 1).

A thread starts on words someone selected in a revision; it is carried to every later
revision through :mod:`signon.drafting.anchors` when that revision is saved, and when its
words are deleted it stays, marked "passage removed", with the old text. Team threads are
the drafting team's; an invited organisation (through its invitation link, when the
coordinator lets invitees comment) has threads of its own that only it, and the team,
see (``queries.visible_threads``: the one home of that rule).
"""
