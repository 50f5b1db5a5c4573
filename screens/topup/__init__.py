"""The Top-up Center: selling credit, receipts and reprints."""
