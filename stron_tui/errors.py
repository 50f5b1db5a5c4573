"""Domain errors. Every message is one sentence fit to show an operator."""

from __future__ import annotations

from datetime import datetime


class StronError(Exception):
    """Base of every error the product reports to a person.

    `field` names the input the error is about (a form field, "payment_password") when there is one:
    screens show the message beside that field. Route on it and on the type, never on the words.
    """

    code = "error"
    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None):
        from stron_tui.domain.text import printable

        # Messages often echo what was typed or stored: never let that carry a terminal escape sequence
        # to the screen, the API client or the log that shows it.
        message = printable(message, keep_newlines=True)
        super().__init__(message)
        self.message = message
        if field is not None:
            self.field = field

    def __str__(self) -> str:
        return self.message


class ConfigurationError(StronError):
    """Settings, data directory, database URL or master key are not usable."""

    code = "configuration"


class DatabaseUnavailable(StronError):
    code = "database_unavailable"


class ValidationError(StronError):
    """Bad input: nothing was changed. `field` names the form field when known."""

    code = "invalid"

    def __init__(self, message: str, field: str | None = None, errors: dict[str, str] | None = None):
        super().__init__(message, field=field)
        self.errors = errors or ({field: self.message} if field else {})


class NotFound(StronError):
    code = "not_found"


class Conflict(StronError):
    code = "conflict"


class PermissionDenied(StronError):
    code = "forbidden"


class AuthenticationFailed(StronError):
    code = "unauthorized"


class AccountLocked(AuthenticationFailed):
    code = "locked"

    def __init__(self, message: str, until: datetime, *, field: str | None = None):
        super().__init__(message, field=field)
        self.until = until


class PasswordChangeRequired(StronError):
    code = "password_change_required"
