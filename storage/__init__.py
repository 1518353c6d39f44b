"""Careline's data: models, queries and migrations. Imports nothing else of Careline's."""
