"""Public sign-on: the public page, its embed, sign-on with double opt-in, and a public signatory's
changes.
"""
