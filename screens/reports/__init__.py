"""Reports module screens: filter bar, paged result with totals, export to Excel, PDF and CSV."""
