"""Plain values and small rules that the services, the exports and the screens all use.

Below the services and the exports (see [tool.importlinter] in pyproject.toml): it imports
only the standard library, tokencore and stron_tui's money and errors modules, never the
database, so anything above may use it without a loop.
"""
