"""HTTP controllers, one module per domain: parse the request, call repositories, return models."""
