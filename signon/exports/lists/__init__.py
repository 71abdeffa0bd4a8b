"""The signatory lists: the page and its CSV and JSON downloads."""
