"""The ``acme`` command line."""
