"""Domino Data Lab in the graph."""
