"""The server's host keys: made on first start, kept in the data directory."""

from __future__ import annotations

import os
from pathlib import Path

import asyncssh

from stron_tui.errors import ConfigurationError
from stron_tui.private_files import shared_mode

# Ed25519 only: every client that has the server's ciphers (see server.ENCRYPTION) has Ed25519 too, and
# each host key type offered costs bytes in every key exchange. (An ECDSA key made by earlier versions
# stays on disk, unused.)
HOST_KEY_ALGORITHMS = (("ssh-ed25519", "ssh_host_ed25519_key"),)


def host_key_directory(settings) -> Path:
    return Path(settings.data_dir) / "ssh"


def load_or_create_host_keys(settings) -> list[asyncssh.SSHKey]:
    """The server's host keys; created (mode 0600) the first time, then always the same."""
    directory = host_key_directory(settings)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
    except OSError as error:
        raise ConfigurationError(f"Cannot create the SSH key directory {directory}: {error.strerror}.") from None
    keys = []
    for algorithm, name in HOST_KEY_ALGORITHMS:
        path = directory / name
        if path.exists():
            mode = shared_mode(path)
            if mode is not None:  # whoever reads it can pose as this server to every station
                raise ConfigurationError(f"The SSH host key {path} can be read by other users (mode {mode:04o}); "
                                         f"run chmod 600 {path}")
            try:
                keys.append(asyncssh.read_private_key(str(path)))
            except (OSError, asyncssh.KeyImportError) as error:
                raise ConfigurationError(f"Cannot read the SSH host key {path}: {error}.") from None
            continue
        key = asyncssh.generate_private_key(algorithm, comment="stron-tui host key")
        temporary = path.with_suffix(".partial")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key.export_private_key())
        os.replace(temporary, path)
        (directory / f"{name}.pub").write_bytes(key.export_public_key())
        keys.append(key)
    return keys
