"""cc-proxy's pure core: rules, routing, rewriting, token counting, wire-format translation.

Nothing in this package does I/O: no files, sockets, environment or clocks (ruff's banned-api enforces
it). The server reads bytes and passes them in; the engine returns values.
"""
