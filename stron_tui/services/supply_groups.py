"""Supply groups: the vending keys the system holds, sealed under the master key.

A key is typed in hex or generated, sealed at once, and never shown, logged
or audited in clear again; lists show only SGC, KRN, DKGA and the label.
"""

from __future__ import annotations

import binascii
import secrets
from dataclasses import dataclass
from datetime import datetime

import tokencore
from sqlalchemy import func, select

from stron_tui.db.models import Meter, VendingKey
from stron_tui.errors import ValidationError
from stron_tui.services import audit
from stron_tui.domain.clock import utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.domain.text import clean

KEY_HEX_DIGITS = {"02": 16, "04": 40}


@dataclass(frozen=True)
class SupplyGroup:
    id: int
    sgc: str
    krn: int
    dkga: str
    label: str
    active: bool
    created_at: datetime
    meters: int


def _check(sgc: str, krn, dkga: str) -> tuple[str, int, str]:
    sgc = clean(sgc)
    dkga = clean(dkga).upper().removeprefix("DKGA")
    if len(dkga) == 1:
        dkga = "0" + dkga
    try:
        data = tokencore.KeyData(sgc=sgc, ti=1, krn=krn, kt=2, dkga=dkga, ea="07" if dkga == "02" else "11")
    except tokencore.TokenError as error:
        message = str(error)
        field = "sgc" if message.startswith("Supply") else "krn" if message.startswith("Key revision") else "dkga"
        raise ValidationError(message, field=field) from None
    return data.sgc, data.krn, data.dkga


def add_supply_group(ctx: AppContext, actor: Actor, *, sgc: str, krn, dkga: str, label: str = "",
                     key_hex: str = "", generate: bool = False) -> SupplyGroup:
    """Store a supply group's vending key, sealed; the key itself is never returned."""
    actor.require("basedata.keys.edit")
    sgc, krn, dkga = _check(sgc, krn, dkga)
    digits = KEY_HEX_DIGITS[dkga]
    if generate:
        key = secrets.token_bytes(digits // 2)
    else:
        text = "".join((key_hex or "").split())
        if len(text) != digits:
            raise ValidationError(f"A DKGA{dkga} vending key is {digits} hexadecimal digits.", field="key")
        try:
            key = binascii.unhexlify(text)
        except (binascii.Error, ValueError):
            raise ValidationError("The vending key may use only the digits 0-9 and A-F.", field="key") from None
    label = clean(label)[:100]
    vault = ctx.vault  # opened before the write transaction: its first use reads the database
    with ctx.db.session() as session:
        if session.scalar(select(VendingKey.id).where(VendingKey.sgc == sgc, VendingKey.krn == krn)) is not None:
            raise ValidationError(f"Supply group {sgc} KRN {krn} already has a key.", field="krn")
        nonce, ciphertext = vault.seal(sgc, krn, dkga, key)
        del key
        row = VendingKey(sgc=sgc, krn=krn, dkga=dkga, label=label, nonce=nonce, ciphertext=ciphertext, active=True,
                         created_at=utcnow())
        session.add(row)
        session.flush()
        audit.record(session, actor, "supply_groups.create", entity="vending_key", entity_id=row.id,
                     summary=f"added supply group {sgc} KRN {krn} DKGA{dkga}"
                             + (" with a generated key" if generate else ""),
                     detail={"sgc": sgc, "krn": krn, "dkga": dkga, "label": label})
        return SupplyGroup(row.id, sgc, krn, dkga, label, True, row.created_at, 0)


def list_supply_groups(ctx: AppContext, actor: Actor) -> list[SupplyGroup]:
    """Every supply group without its key, with how many meters use it."""
    actor.require("basedata.view")
    with ctx.db.read_session() as session:
        counts = dict(((sgc, krn), n) for sgc, krn, n in session.execute(
            select(Meter.sgc, Meter.krn, func.count()).group_by(Meter.sgc, Meter.krn)))
        rows = session.execute(select(VendingKey.id, VendingKey.sgc, VendingKey.krn, VendingKey.dkga, VendingKey.label,
                                      VendingKey.active, VendingKey.created_at)
                               .order_by(VendingKey.sgc, VendingKey.krn))
        return [SupplyGroup(*row, counts.get((row.sgc, row.krn), 0)) for row in rows]
