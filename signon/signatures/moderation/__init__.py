"""Moderation: the coordinators' queue of public signatures and changes."""
