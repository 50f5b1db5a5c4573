"""Reference data every installation starts with (idempotent, cheap on each start)."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from stron_tui.db.engine import Database
from stron_tui.db.models import AppMeta, Currency, PaymentType, Role, RolePermission, User
from stron_tui.domain.clock import utcnow
from stron_tui.services.permissions import ALL_PERMISSIONS, ONLY_VENDING
from stron_tui.domain.text import fold

REFERENCE_VERSION = "1"
ADMIN_USER = "Admin"
ADMIN_ROLE = "Administrator"
VENDING_ROLE = "OnlyVending"

CURRENCIES = [
    # code, name, symbol, minor unit (ISO 4217)
    ("USD", "US dollar", "$", 2),
    ("EUR", "Euro", "€", 2),
    ("CNY", "Renminbi (RMB)", "¥", 2),
    ("ZAR", "South African rand", "R", 2),
    ("NGN", "Nigerian naira", "₦", 2),
    ("KES", "Kenyan shilling", "KSh", 2),
    ("GHS", "Ghanaian cedi", "GH₵", 2),
    ("XOF", "West African CFA franc", "CFA", 0),
    ("KWD", "Kuwaiti dinar", "KD", 3),
]
PAYMENT_TYPES = [
    ("cash", "Cash"),
    ("cheque", "Cheque"),
    ("e-card", "E-card"),
    ("mobile", "Mobile money"),
    ("transfer", "Bank transfer"),
]


def _version() -> str:
    # Changes when the seed or the permission catalogue changes, so a new
    # permission reaches the Administrator role on the next start.
    digest = hashlib.sha256(",".join(sorted(ALL_PERMISSIONS)).encode()).hexdigest()[:12]
    return f"{REFERENCE_VERSION}:{digest}"


def ensure_reference_data(db: Database, settings=None) -> None:
    version = _version()
    with db.read_session() as session:
        done = session.scalar(select(AppMeta.value).where(AppMeta.name == "reference_data"))
    if done == version:
        return
    with db.session() as session:
        marker = session.get(AppMeta, "reference_data", with_for_update=True)
        if marker is not None and marker.value == version:
            return
        now = utcnow()
        existing_codes = set(session.scalars(select(Currency.code)))
        for code, name, symbol, minor in CURRENCIES:
            if code not in existing_codes:
                session.add(Currency(code=code, name=name, symbol=symbol, minor_unit=minor, active=True))
        if settings is not None and settings.currency not in existing_codes | {c[0] for c in CURRENCIES}:
            session.add(Currency(code=settings.currency, name=settings.currency, symbol="", minor_unit=2))
        existing_types = set(session.scalars(select(PaymentType.code)))
        for order, (code, name) in enumerate(PAYMENT_TYPES):
            if code not in existing_types:
                session.add(PaymentType(code=code, name=name, sort_order=order, active=True))
        roles = {role.name_key: role for role in session.scalars(select(Role))}
        admin_role = roles.get(fold(ADMIN_ROLE))
        if admin_role is None:
            admin_role = Role(name=ADMIN_ROLE, name_key=fold(ADMIN_ROLE), builtin=True, created_at=now,
                              description="Every permission; the built-in Admin's role")
            session.add(admin_role)
            session.flush()
            session.add_all(RolePermission(role_id=admin_role.id, permission=code) for code in sorted(ALL_PERMISSIONS))
        else:
            held = set(session.scalars(select(RolePermission.permission)
                                       .where(RolePermission.role_id == admin_role.id)))
            session.add_all(RolePermission(role_id=admin_role.id, permission=code)
                            for code in sorted(ALL_PERMISSIONS - held))
        if fold(VENDING_ROLE) not in roles:
            vending = Role(name=VENDING_ROLE, name_key=fold(VENDING_ROLE), builtin=True, created_at=now,
                           description="Front-desk cashiers: Top-up Center only")
            session.add(vending)
            session.flush()
            session.add_all(RolePermission(role_id=vending.id, permission=code) for code in sorted(ONLY_VENDING))
        admin = session.scalar(select(User).where(User.builtin_admin.is_(True)))
        if admin is None:
            session.add(User(user_code=ADMIN_USER, user_key=fold(ADMIN_USER), name="Administrator",
                             role_id=admin_role.id, builtin_admin=True, must_change_password=False,
                             must_change_payment_password=False, created_at=now))
        if marker is None:
            session.add(AppMeta(name="reference_data", value=version))
        else:
            marker.value = version
