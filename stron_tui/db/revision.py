"""The schema revision this program needs; a test keeps it equal to Alembic's head."""

SCHEMA_HEAD = "0015"
