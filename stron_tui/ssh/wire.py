"""What goes on the wire: the algorithms the server offers and two tunings of asyncssh's packet writer.

Both tunings replace private parts of asyncssh (its connection's `send_packet` and `_compressor`, its
`_ZLibCompress` class). pyproject.toml pins asyncssh to the range they were tested with, and
tests/ssh/test_wire.py fails when a part they patch is gone or renamed: run it before widening the pin.
"""

from __future__ import annotations

import zlib

# What the server offers in its key exchange: short lists, because every name is sent to every station
# on every connection (see docs/ssh.md). All of it is in OpenSSH >= 6.5 and PuTTY >= 0.68 (AES-GCM:
# PuTTY >= 0.76), including Windows' own ssh.
# Delayed zlib only (after login, as OpenSSH's sshd does since 7.4); every client that compresses offers
# it first. "none" last: clients that can't compress still get in.
COMPRESSION = ["zlib@openssh.com", "none"]
# AEAD ciphers only: no CBC, so the empty IGNORE packet asyncssh puts before every packet (a defence for
# CBC only) can be left out, which halves the bytes of a typed key's echo on the wire; and no MAC is used.
ENCRYPTION = ["chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com"]
# The short and the pre-2017 name of the same exchange; asyncssh adds strict-kex (Terrapin) and ext-info.
KEX = ["curve25519-sha256", "curve25519-sha256@libssh.org"]
# Never used with the ciphers above, but a KEXINIT must name one: the shortest that every client has.
MACS = ["hmac-sha2-256"]
# The key types System Management registers for users, sent to clients as server-sig-algs (asyncssh's
# default is its whole list twice over, 700 bytes per connection).
SIGNATURE_ALGS = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
                  "rsa-sha2-512", "rsa-sha2-256"]

# The private asyncssh names the tunings below rely on: (module, attribute) pairs, and the attributes a
# live server connection must have. tests/ssh/test_wire.py checks every one.
PATCHED_MODULE_NAMES = (("asyncssh.constants", "MSG_IGNORE"), ("asyncssh.packet", "String"),
                        ("asyncssh.compression", "_ZLibCompress"),
                        ("asyncssh.channel", "SSHServerChannel._process_env_request"))
PATCHED_CONNECTION_ATTRIBUTES = ("send_packet", "_compressor")
PATCHED_CHANNEL_ATTRIBUTES = ("_process_env_request", "_env")


def without_padding_packets(conn) -> None:
    """Leave out the empty SSH_MSG_IGNORE asyncssh sends before each packet (36 bytes each on the wire).

    It protects CBC-mode ciphers only, which this server never negotiates (see ENCRYPTION).
    """
    from asyncssh.constants import MSG_IGNORE
    from asyncssh.packet import String

    empty = String(b"")
    send_packet = conn.send_packet

    def send(pkttype, *args, **kwargs):
        if pkttype == MSG_IGNORE and args == (empty,) and not kwargs:
            return
        send_packet(pkttype, *args, **kwargs)

    conn.send_packet = send


class BestDeflate:
    """zlib as OpenSSH's own sshd sends it: a partial flush after each packet (an empty 10-bit block
    where asyncssh puts a 4-byte sync marker), at the best compression level (screens are small)."""

    def __init__(self) -> None:
        self._deflate = zlib.compressobj(9)

    def compress(self, data: bytes) -> bytes | None:
        try:
            return self._deflate.compress(data) + self._deflate.flush(zlib.Z_PARTIAL_FLUSH)
        except zlib.error:
            return None


def with_best_compression(conn) -> None:
    """Compress what this side sends as BestDeflate does; any inflater reads it.

    asyncssh makes a fresh compressor at each key exchange; it is swapped before its first packet.
    """
    from asyncssh.compression import _ZLibCompress

    send_packet = conn.send_packet

    def send(*args, **kwargs):
        if isinstance(conn._compressor, _ZLibCompress):
            conn._compressor = BestDeflate()
        send_packet(*args, **kwargs)

    conn.send_packet = send


def tune_connection(conn) -> None:
    """Both tunings, as every server connection gets them."""
    without_padding_packets(conn)
    with_best_compression(conn)


def with_bounded_environment(chan, names: tuple[str, ...], longest: int) -> None:
    """Keep only the client variables in `names`, each at most `longest` bytes; drop the rest on arrival.

    asyncssh keeps every "env" request a client sends, so a client sending thousands of them (each up to
    a packet's size) could grow the server without bound.
    """
    process_env = chan._process_env_request
    allowed = {*names, *(name.encode() for name in names)}

    def process(packet) -> bool:
        process_env(packet)
        dropped = [key for key, value in chan._env.items() if key not in allowed or len(value) > longest]
        for key in dropped:
            del chan._env[key]
        return not dropped

    chan._process_env_request = process
