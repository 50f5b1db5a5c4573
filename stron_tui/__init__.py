"""stron-tui: a prepaid-meter vending back office."""

__version__ = "0.1.0"
