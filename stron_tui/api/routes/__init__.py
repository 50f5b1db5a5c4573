"""The /api/v1 routes, one module per area; each only translates HTTP to a service call."""
