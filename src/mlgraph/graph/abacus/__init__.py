"""Abacus.AI in the graph."""
