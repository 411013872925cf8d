"""Acme Imaging Functions: the shared library every function and tool imports.

Public modules: :mod:`acme.settings`, :mod:`acme.errors`, :mod:`acme.log`,
:mod:`acme.events`, :mod:`acme.storage`, :mod:`acme.db`, :mod:`acme.bus`, :mod:`acme.cache`,
:mod:`acme.stack` (the embedded servers) and :mod:`acme.cli`.
"""

__version__ = "0.1.0"
