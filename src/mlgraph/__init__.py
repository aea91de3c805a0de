"""mlgraph: one GraphQL graph over the ML platforms a team already runs."""

__version__ = "0.1.0"
