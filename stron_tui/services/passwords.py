"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

from functools import lru_cache

from stron_tui.errors import ValidationError

DEFAULT_PASSWORD = "123456"  # the brief's temporary password for new and reset users
MIN_LOGIN_LENGTH = 8
MIN_PAYMENT_LENGTH = 6
WEAK_PASSWORDS = {"12345678", "123456789", "password", "password1", "qwerty123", "11111111", "00000000"}


@lru_cache(maxsize=1)
def _hasher():
    from argon2 import PasswordHasher, Type

    # OWASP's argon2id baseline (19 MiB, t=2, p=1): ~20 ms here, cheap enough
    # for a busy login screen, costly enough for an offline guesser.
    return PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, type=Type.ID)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    if not stored_hash:
        # Spend the same time as a real check so timing doesn't reveal users.
        _spend(password)
        return False
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password("not a real password")


def _spend(password: str) -> None:
    from argon2.exceptions import VerificationError

    try:
        _hasher().verify(_dummy_hash(), password + "\0")
    except VerificationError:
        pass


def check_policy(password: str, *, user_code: str, kind: str = "login") -> None:
    """Raise ValidationError naming what is wrong with a new password."""
    label = "payment password" if kind == "payment" else "password"
    minimum = MIN_PAYMENT_LENGTH if kind == "payment" else MIN_LOGIN_LENGTH
    if password == DEFAULT_PASSWORD:
        raise ValidationError(f"The new {label} can't be the temporary password 123456.", field="new")
    if len(password) < minimum:
        raise ValidationError(f"The new {label} must have at least {minimum} characters.", field="new")
    if password.casefold() == user_code.casefold():
        raise ValidationError(f"The new {label} can't be the user ID.", field="new")
    if password.casefold() in WEAK_PASSWORDS or len(set(password)) == 1:
        raise ValidationError(f"The new {label} is too easy to guess; choose another.", field="new")
