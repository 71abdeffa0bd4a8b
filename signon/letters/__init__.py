"""letters feature."""
