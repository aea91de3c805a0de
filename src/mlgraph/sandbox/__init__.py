"""Emulated ML platform backends with seeded, deterministic data sets.

They stand in for the real ZenML, Domino and Abacus.AI servers so that the
gateway runs, is tested and is benchmarked without any of them: the same wire
formats, paging, errors and payload duplication, plus injectable latency and
faults. Nothing here knows about GraphQL or the gateway's backend clients.
"""
