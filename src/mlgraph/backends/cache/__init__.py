"""A shared cache of backend answers that cannot change any more.

Below the per-request loaders, above the network: ``BackendClient.send``
looks a read up here before sending it, and after a successful answer asks
its platform's classifier (``cache_class``) whether and as what to keep it —
a terminal record for ``cache.terminal_ttl_seconds``, a catalogue for
``cache.catalogue_ttl_seconds``, anything else not at all. A write through
the gateway evicts the records it names (``cache_evicts``).
"""

from mlgraph.backends.cache.entry import CATALOGUE, LISTING, LISTINGS, TERMINAL, Entry, Keep
from mlgraph.backends.cache.records import RecordCache, RequestRecords
from mlgraph.backends.cache.wire import read_json, records_of

__all__ = ["CATALOGUE", "LISTING", "LISTINGS", "TERMINAL", "Entry", "Keep", "RecordCache", "RequestRecords", "read_json", "records_of"]
