"""Services: one module per business area, the only place that changes data and checks permissions."""
