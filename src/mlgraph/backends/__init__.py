"""Backend clients: HTTP and wire models, one module per platform.

Nothing here knows GraphQL. Clients are made per request around a per-process
connection, so every call lands in that request's ledger.
"""
