"""Catalogs and their tooling, text normalisation, SMS encoding and channels."""
