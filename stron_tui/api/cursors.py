"""Opaque page cursors: the services' keyset keys, signed so a client can only hand back ours.

A cursor is base64url(JSON [kind, key...]) + "." + an HMAC of it. The kind
ties it to one listing (a customers cursor can't page meters); the signature
means a tampered or made-up cursor is a clear 422, never a query with values
of the wrong type. The signing key is derived from the database URL, so
every worker and host serving the same database accepts the same cursors.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import date, datetime

from stron_tui.errors import ValidationError

BAD_CURSOR = "The cursor is not one this API gave out for this listing; start again without it."


class Cursors:
    def __init__(self, secret: str):
        self._key = hashlib.sha256(b"stron-tui api cursor|" + secret.encode("utf-8")).digest()

    def _sign(self, payload: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self._key, payload, hashlib.sha256).digest()[:16]).decode().rstrip("=")

    def encode(self, kind: str, key) -> str | None:
        if key is None:
            return None
        values = [_dump(value) for value in (key if isinstance(key, (tuple, list)) else (key,))]
        payload = json.dumps([kind, *values], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + self._sign(payload)

    def decode(self, kind: str, cursor: str | None) -> tuple | None:
        if not cursor:
            return None
        body, _, signature = cursor.partition(".")
        try:
            payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (ValueError, TypeError):
            raise ValidationError(BAD_CURSOR, field="cursor") from None
        if not signature or not hmac.compare_digest(signature.encode("utf-8", "replace"),
                                                    self._sign(payload).encode()):
            raise ValidationError(BAD_CURSOR, field="cursor")
        found_kind, *values = json.loads(payload)  # ours: the signature matched
        if found_kind != kind:
            raise ValidationError(BAD_CURSOR, field="cursor")
        return tuple(_load(value) for value in values)


def _dump(value):
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    return value


def _load(value):
    if isinstance(value, dict):
        if "dt" in value:
            return datetime.fromisoformat(value["dt"])
        return date.fromisoformat(value["d"])
    return value
