"""One module per report: its rows, SQL, columns and `REPORT` declaration (listed in ../registry.py)."""
