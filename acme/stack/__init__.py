"""The embedded stack of real servers that ``acme up`` runs (docs/architecture.md §8).

Import from the modules themselves (:mod:`acme.stack.stack`, :mod:`.state`, :mod:`.status`...):
this package re-exports nothing, so a process that needs the state file (every function and
platform service) does not import the servers, their probes and their clients.
"""
