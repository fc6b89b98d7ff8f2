"""Thin typed functions over the named queries, one module per domain; the caller owns the connection."""
