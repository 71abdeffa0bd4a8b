"""Lifecycle: classify revisions (editorial or substantive), freeze, close and reopen, the
deadline.
"""
