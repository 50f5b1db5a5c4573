"""Files the app writes for people: Excel, CSV, PDF and receipts, in the export directory."""
