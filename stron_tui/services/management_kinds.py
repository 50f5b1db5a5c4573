"""The management token kinds, one row each: everything the product knows about a kind is here.

The service (management.py: permission, subclass, input checks, which meters
take it), the screens (screens/exceptions/: title, input fields and their
parsing, menu entries), the receipt (services/receipts.py: title, detail
line), the records (clear tamper / clear credit: title, detail column) and the
API (the kinds and bounds the schemas accept) all read KINDS. A new kind is
one TokenKind row (and its STS class 2 subclass in tokencore).

Imports nothing of ours but the error type, so any layer may read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import tokencore

from stron_tui.errors import ValidationError

MAX_WATTS = 18_201_624  # the largest value a 16-bit STS amount field carries, in W
MAX_REGISTER = 7


@dataclass(frozen=True)
class InputField:
    """A value the operator gives for one kind, beyond meter, reason and payment password.

    `name` is the ManagementRequest attribute and the screen input's id;
    `parse` turns what was typed into that value or raises a ValidationError
    naming the field. `minimum`/`maximum` bound it (the API schema uses them).
    """

    name: str
    label: str
    max_length: int
    parse: Callable[[str], Any]
    minimum: int
    maximum: int
    description: str = ""


def _parse_register(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValidationError("A credit register is a number 0 to 7; leave it empty for all.", field="register")
    return int(text)


def _parse_watts(text: str) -> int:
    text = text.strip().replace(",", "").replace(" ", "")
    if not text.isdigit():
        raise ValidationError("Enter the limit in whole watts, for example 5000.", field="watts")
    return int(text)


REGISTER = InputField("register", "Register: empty = all; 0 electricity, 1 water, 2 gas", 2, _parse_register,
                      0, MAX_REGISTER, "one credit register (0 electricity to 7); omit for all")
WATTS = InputField("watts", "Limit in watts (W)", 9, _parse_watts, 1, MAX_WATTS)


# --- The 16-bit field each kind carries, from a checked request -----------------------------------


def _no_field(request) -> tuple[int, int | None]:
    return 0, None


def _nothing(request) -> tuple[None, None]:
    """Key change: the tokens are the ones the meter needs, no field is encoded."""
    return None, None


def _register_field(request) -> tuple[int, int | None]:
    if request.register is None:
        return tokencore.ALL_REGISTERS, None
    if not 0 <= request.register <= MAX_REGISTER:
        raise ValidationError("A credit register is 0 (electricity) to 7; leave it empty for all.",
                              field="register")
    return request.register, request.register


def _power_field(request) -> tuple[int, int | None]:
    if request.watts is None or request.watts <= 0:
        raise ValidationError("Enter the limit in watts (more than zero).", field="watts")
    if request.watts > MAX_WATTS:
        raise ValidationError(f"A power limit can be at most {MAX_WATTS} W.", field="watts")
    return tokencore.encode_power(request.watts), None


# --- Which meters take a kind ------------------------------------------------------------------------


def _every_meter(meter_number: str, meter_type: str, utility: str) -> str | None:
    return None


def _electricity_only(meter_number: str, meter_type: str, utility: str) -> str | None:
    if utility != "electricity":
        return f"Meter {meter_number} is a {utility} meter; power limits are for electricity meters."
    return None


def _three_phase_only(meter_number: str, meter_type: str, utility: str) -> str | None:
    if utility != "electricity" or "three" not in meter_type.lower():
        return (f"Meter {meter_number} is {meter_type.replace('-', ' ')}; phase unbalance limits are "
                "for three-phase electricity meters only.")
    return None


# --- The detail line of a recorded token (a ManagementToken row) ---------------------------------------


def _no_detail(row) -> str:
    return ""


def _register_receipt_detail(row) -> str:
    return "All credit registers" if row.register is None else f"Credit register {row.register}"


def _register_record_detail(row) -> str:
    return "all registers" if row.register is None else f"register {row.register}"


def _limit_detail(row) -> str:
    return "" if row.field_value is None else f"Limit {tokencore.decode_power(row.field_value)} W"


@dataclass(frozen=True)
class TokenKind:
    kind: str  # stored in management_tokens.kind and sent by API clients
    subclass: int  # STS class 2 subclass (key change: the key change tokens themselves)
    permission: str  # also the key of its screen in the menu
    title: str  # screen and menu: "Clear Tamper"
    receipt_title: str  # printed on the receipt: "CLEAR TAMPER"
    description: str  # the menu line
    field_value: Callable[[Any], tuple[int, int | None]]  # (16-bit field, register) from the checked request
    fields: tuple[InputField, ...] = ()
    reason_required: bool = False
    key_changes_only: bool = False  # the token is the meter's key change tokens (issued even when none pend)
    refusal: Callable[[str, str, str], str | None] = _every_meter  # why a meter can't take it (None: it can)
    receipt_detail: Callable[[Any], str] = _no_detail
    record_detail: Callable[[Any], str] = _no_detail
    record_key: str = ""  # the menu key of its records screen; empty: no records screen
    record_title: str = ""
    record_description: str = ""

    @property
    def has_records(self) -> bool:
        return bool(self.record_key)


KINDS: dict[str, TokenKind] = {kind.kind: kind for kind in (
    TokenKind("clear_tamper", 5, "exceptions.clear_tamper", "Clear Tamper", "CLEAR TAMPER",
              "Token that clears a meter's tamper state", _no_field, reason_required=True,
              record_key="exceptions.tamper_records", record_title="Clear Tamper Record",
              record_description="Past clear tamper tokens"),
    TokenKind("clear_credit", 1, "exceptions.clear_credit", "Clear Credit", "CLEAR CREDIT",
              "Token that resets a meter's credit", _register_field, fields=(REGISTER,), reason_required=True,
              receipt_detail=_register_receipt_detail, record_detail=_register_record_detail,
              record_key="exceptions.credit_records", record_title="Clear Credit Record",
              record_description="Past clear credit tokens"),
    TokenKind("set_power_limit", 0, "exceptions.power_limit", "Maximum Power Limit", "MAXIMUM POWER LIMIT",
              "Set a meter's maximum power", _power_field, fields=(WATTS,), refusal=_electricity_only,
              receipt_detail=_limit_detail),
    TokenKind("set_phase_unbalance", 6, "exceptions.phase_unbalance", "Phase Unbalance Limit",
              "PHASE UNBALANCE LIMIT", "Set a three-phase meter's unbalance limit", _power_field, fields=(WATTS,),
              refusal=_three_phase_only, receipt_detail=_limit_detail),
    # No field of its own: the key change tokens the meter needs are the token.
    TokenKind("key_change", 3, "exceptions.key_change", "Key Change", "KEY CHANGE", "Key change tokens on demand",
              _nothing, key_changes_only=True),
)}

RECORD_KINDS = tuple(kind.kind for kind in KINDS.values() if kind.has_records)


def token_kind(kind: str) -> TokenKind:
    """The kind's row, or a clear message for a kind there is none of."""
    try:
        return KINDS[kind]
    except KeyError:
        raise ValidationError(f"Unknown management token {kind!r}.", field="kind") from None
