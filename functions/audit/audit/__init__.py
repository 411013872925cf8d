"""The audit function's HTTP API (the trail itself is :mod:`acme.audit`)."""
