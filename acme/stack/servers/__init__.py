"""One adapter per embedded server; each knows how to launch and probe its program.

Import from the modules themselves (:mod:`acme.stack.servers.base`, :mod:`.seaweedfs`...): the
package re-exports nothing, so using one server's module does not import the others.
"""
