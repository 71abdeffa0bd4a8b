"""Invitations: coordinators invite organisations, revoke, re-send and remind; the invitation mails
and the daily allowance.
"""
