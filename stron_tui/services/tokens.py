"""Issuing tokens for a meter inside a database transaction.

Shared by vending and the management tokens: decrypting the supply group's
vending key, deriving decoder keys, the key change (KCT) that brings a meter
from the key it holds (`installed_*`) to the key the Meter Library says it
should hold, and the next TID. The caller holds the meter's row lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import tokencore
from sqlalchemy import select
from sqlalchemy.orm import Session

from stron_tui.db.models import Meter, VendingKey
from stron_tui.errors import ValidationError
from stron_tui.services.context import AppContext

# Class 0 subclass per utility (STS: 0 electricity, 1 water, 2 gas, 3 time).
CREDIT_SUBCLASS = {"electricity": 0, "water": 1, "gas": 2, "time": 3}


def configured_key_data(meter: Meter) -> tokencore.KeyData:
    return tokencore.KeyData(sgc=meter.sgc, ti=meter.ti, krn=meter.krn, kt=meter.kt, ken=meter.ken,
                             base_date=meter.base_date, ea=meter.ea, dkga=meter.dkga)


def installed_key_data(meter: Meter) -> tokencore.KeyData:
    return tokencore.KeyData(sgc=meter.installed_sgc, ti=meter.installed_ti, krn=meter.installed_krn,
                             kt=meter.installed_kt, ken=meter.installed_ken, base_date=meter.installed_base_date,
                             ea=meter.installed_ea, dkga=meter.installed_dkga)


def vending_key(ctx: AppContext, session: Session, key_data: tokencore.KeyData, row=None) -> bytes:
    """The supply group's vending key in clear; `row` is its VendingKey row when the caller already has it."""
    if row is None:
        row = session.scalar(select(VendingKey).where(VendingKey.sgc == key_data.sgc,
                                                      VendingKey.krn == key_data.krn))
    if row is None or not row.active:
        raise ValidationError(
            f"The system holds no active vending key for supply group {key_data.sgc} (KRN {key_data.krn}); "
            "add it under Base Data > Supply Groups."
        )
    if row.dkga != key_data.dkga:
        raise ValidationError(
            f"Supply group {key_data.sgc} (KRN {key_data.krn}) has a DKGA{row.dkga} key, but the meter "
            f"needs DKGA{key_data.dkga}."
        )
    return ctx.vault.open(row.sgc, row.krn, row.dkga, row.nonce, row.ciphertext)


def decoder_key(ctx: AppContext, session: Session, meter: Meter, key_data: tokencore.KeyData,
                vending_key_row=None) -> bytes:
    return tokencore.generate_decoder_key(vending_key(ctx, session, key_data, vending_key_row), key_data,
                                          tokencore.pan_for_drn(meter.meter_number))


@dataclass(frozen=True)
class KeyState:
    """What the next token operation on a meter must use, decided under its row lock."""

    cipher: tokencore.TokenCipher
    key_data: tokencore.KeyData
    key_change_tokens: tuple[str, ...]
    last_tid: int | None


def prepare_meter_key(ctx: AppContext, session: Session, meter: Meter, now: datetime,
                      *, force_key_change: bool = False, installed_key_row=None) -> KeyState:
    """The key to issue with, after key change tokens if the meter needs them.

    A key change is issued when the Meter Library's key data differs from
    what the meter holds, when asked for, or when the meter's base date can
    no longer express `now` (1993 keys ran out on 2024-11-24): then it moves
    to the next base date with the rollover flag, which clears the meter's
    TID memory. `meter` is the Meter or a row with its columns;
    `installed_key_row` the VendingKey row of the key it holds, if already read.
    """
    target = configured_key_data(meter)
    installed = installed_key_data(meter)
    if target.base_date == 1993 and now >= tokencore.base_date_end(1993):
        target = target.replace(base_date=2014)
    if target == installed and not force_key_change:
        key = decoder_key(ctx, session, meter, installed, installed_key_row)
        return KeyState(tokencore.TokenCipher(key, installed.ea), installed, (), meter.last_tid)
    old_key = decoder_key(ctx, session, meter, installed, installed_key_row)
    new_key = decoder_key(ctx, session, meter, target)
    rollover = target.base_date != installed.base_date
    tokens = tokencore.key_change_tokens(old_key, installed, new_key, target, rollover=rollover)
    return KeyState(tokencore.TokenCipher(new_key, target.ea), target, tuple(tokens),
                    None if rollover else meter.last_tid)


def next_tid(state: KeyState, now: datetime) -> int:
    try:
        return tokencore.next_tid(now, state.last_tid, state.key_data)
    except tokencore.TokenError as error:
        raise ValidationError(str(error)) from None


def meter_key_changes(meter: Meter, state: KeyState, tid: int | None, now: datetime) -> dict:
    """The meter columns to set for what it holds after these tokens are entered."""
    key = state.key_data
    changes: dict = {}
    if state.key_change_tokens:
        changes.update(installed_sgc=key.sgc, installed_ti=key.ti, installed_krn=key.krn, installed_kt=key.kt,
                       installed_ken=key.ken, installed_base_date=key.base_date, installed_ea=key.ea,
                       installed_dkga=key.dkga, last_tid=state.last_tid)
        if meter.base_date != key.base_date:
            changes["base_date"] = key.base_date  # the automatic 1993 -> 2014 rollover
    if tid is not None:
        changes["last_tid"] = tid
    changes["updated_at"] = now
    return changes


def commit_meter_key(meter: Meter, state: KeyState, tid: int | None, now: datetime) -> None:
    """Record on the Meter what it holds after these tokens are entered."""
    for name, value in meter_key_changes(meter, state, tid, now).items():
        setattr(meter, name, value)
