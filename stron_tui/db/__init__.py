"""The database layer: schema, engines, migrations."""

from stron_tui.db.engine import Database, display_url, parse_database_url

__all__ = ["Database", "display_url", "parse_database_url"]
