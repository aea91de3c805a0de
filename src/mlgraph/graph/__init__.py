"""The unified graph: Strawberry types by domain, asking loaders for data.

Nothing here sends HTTP; resolvers ask the per-request loaders in the context.
"""
