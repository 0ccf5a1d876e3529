"""Persistence for Mi Barrio: models, engine/session setup, queries and migrations.

This package imports neither ``bot`` nor ``worker``.
"""
