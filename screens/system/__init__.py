"""System Management screens: passwords, users, roles and the audit trail."""
