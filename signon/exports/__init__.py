"""Exports: the signed letter as PDF, signatory lists as CSV/JSON, letter bundles."""
