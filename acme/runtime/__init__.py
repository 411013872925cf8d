"""The function runtime (docs/architecture.md §8): stack file, function pool, gateway, router.

:class:`~acme.runtime.app.Runtime` composes them for ``acme up``;
:class:`~acme.runtime.functions.FunctionPool` is the activator the event router leases functions
from. The package re-exports nothing, so the tick source, the bucket-events adapter and the DICOM
receiver (``python -m acme.runtime.<module>``) import only what they use, not the whole runtime.
"""
