"""One module per provider; each is the only importer of its SDK."""
