"""Approvals: the invitation link; approving, declining and withdrawing (the signature state
machine).
"""
