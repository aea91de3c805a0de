"""Key-value stores the gateway keeps beside its requests: an LRU in memory
bounded in bytes, and a Redis link that fails quietly. The persisted-query
store and the record cache are both built from them."""
