"""Pydantic models that carry rows between the repositories and the API, one module per domain."""
