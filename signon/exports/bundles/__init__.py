"""Bundles: a letter and its history, exported and imported."""
