"""The master key and the vending keys it protects.

Vending keys are stored AES-256-GCM encrypted under a master key kept outside
the database: a file with mode 0600 (created on first start) or the
STRON_MASTER_KEY environment variable (64 hex digits). The database keeps
only a check value, so a missing or wrong master key is reported before any
vending key is needed, not as a failed decryption in the middle of a sale.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select

from stron_tui.errors import ConfigurationError

MASTER_KEY_BYTES = 32
CHECK_NAME = "master_key_check"


def _check_value(master_key: bytes) -> str:
    return hmac.new(master_key, b"stron-tui master key check", hashlib.sha256).hexdigest()[:32]


def _parse_key_text(text: str, origin: str) -> bytes:
    try:
        key = binascii.unhexlify(text.strip())
    except (binascii.Error, ValueError):
        raise ConfigurationError(f"The master key in {origin} is not 64 hexadecimal digits.") from None
    if len(key) != MASTER_KEY_BYTES:
        raise ConfigurationError(f"The master key in {origin} is not 64 hexadecimal digits.")
    return key


def read_master_key_file(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(
            f"The master key file {path} is readable by other users; run chmod 600 {path}."
        )
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"Cannot read the master key file {path}: {error}.") from None
    return _parse_key_text(text, str(path))


def create_master_key_file(path: Path) -> bytes:
    key = secrets.token_bytes(MASTER_KEY_BYTES)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: never overwrite a key another process just wrote.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_master_key_file(path)
    except OSError as error:
        raise ConfigurationError(f"Cannot create the master key file {path}: {error.strerror}.") from None
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key.hex() + "\n")
    return key


def load_master_key(settings, db) -> bytes:
    """The master key for this database, created on first start if it has none yet."""
    from stron_tui.db.models import AppMeta

    # Read-only first: this may run inside another unit of work (a sale), and
    # only the very first start has to write the check value.
    with db.read_session() as session:
        stored = session.scalar(select(AppMeta.value).where(AppMeta.name == CHECK_NAME))
    from_env = settings.master_key.get_secret_value()
    path = settings.master_key_file
    if from_env:
        key = _parse_key_text(from_env, "STRON_MASTER_KEY")
        origin = "STRON_MASTER_KEY"
    elif path.exists():
        key = read_master_key_file(path)
        origin = str(path)
    elif stored is not None:
        raise ConfigurationError(
            f"The master key file {path} is missing, but this database holds keys encrypted "
            "under one; restore the file or set STRON_MASTER_KEY_FILE to it."
        )
    else:
        key = create_master_key_file(path)
        origin = str(path)
    check = _check_value(key)
    if stored is None:
        with db.session() as session:
            stored = session.scalar(select(AppMeta.value).where(AppMeta.name == CHECK_NAME))
            if stored is None:
                session.add(AppMeta(name=CHECK_NAME, value=check))
                stored = check
    if not hmac.compare_digest(stored, check):
        raise ConfigurationError(
            f"The master key in {origin} does not belong to this database; restore the right key file."
        )
    return key


class VendingKeyVault:
    """Encrypts and decrypts vending keys; the plaintext never leaves memory."""

    def __init__(self, master_key: bytes):
        self._aead = AESGCM(master_key)

    @staticmethod
    def _context(sgc: str, krn: int, dkga: str) -> bytes:
        # Bind the ciphertext to its supply group so rows can't be swapped.
        return f"stron-tui vending key|{sgc}|{krn}|{dkga}".encode()

    def seal(self, sgc: str, krn: int, dkga: str, vending_key: bytes) -> tuple[bytes, bytes]:
        nonce = secrets.token_bytes(12)
        return nonce, self._aead.encrypt(nonce, vending_key, self._context(sgc, krn, dkga))

    def open(self, sgc: str, krn: int, dkga: str, nonce: bytes, ciphertext: bytes) -> bytes:
        try:
            return self._aead.decrypt(nonce, ciphertext, self._context(sgc, krn, dkga))
        except InvalidTag:
            raise ConfigurationError(
                f"The vending key for supply group {sgc} (KRN {krn}) cannot be decrypted with this master key."
            ) from None
