"""The schema. Portable across SQLite, PostgreSQL and SQL Server.

Rules kept here: explicit constraint names (naming convention), identity
columns with an explicit start, UTC instants, Decimal money, filtered unique
indexes where a unique column may be NULL or only some rows must be unique,
and case-insensitive uniqueness decided in the application through folded
`*_key` columns.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    Unicode,
    UnicodeText,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from stron_tui.db.types import BigId, Money, Rate, SearchKey, Units, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _id() -> Mapped[int]:
    return mapped_column(Integer, Identity(start=1), primary_key=True)


def _big_id() -> Mapped[int]:
    return mapped_column(BigId, Identity(start=1), primary_key=True)


def _created() -> Mapped[datetime]:
    return mapped_column(UTCDateTime, nullable=False)


class AppMeta(Base):
    """Facts about this installation (schema-independent): e.g. the master key check."""

    __tablename__ = "app_meta"
    name: Mapped[str] = mapped_column(Unicode(64), primary_key=True)
    value: Mapped[str] = mapped_column(Unicode(400), nullable=False)


class District(Base):
    __tablename__ = "districts"
    id: Mapped[int] = _id()
    code: Mapped[str] = mapped_column(Unicode(20), nullable=False)
    code_key: Mapped[str] = mapped_column(SearchKey(20), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(Unicode(100), nullable=False)
    name_key: Mapped[str] = mapped_column(SearchKey(100), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(Unicode(40), nullable=False, default="residential")
    description: Mapped[str] = mapped_column(Unicode(400), nullable=False, default="")
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class SalesStation(Base):
    __tablename__ = "sales_stations"
    id: Mapped[int] = _id()
    code: Mapped[str] = mapped_column(Unicode(20), nullable=False)
    code_key: Mapped[str] = mapped_column(SearchKey(20), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(Unicode(100), nullable=False)
    name_key: Mapped[str] = mapped_column(SearchKey(100), nullable=False, index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), nullable=False, index=True)
    address: Mapped[str] = mapped_column(Unicode(200), nullable=False, default="")
    phone: Mapped[str] = mapped_column(Unicode(40), nullable=False, default="")
    receipt_width: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=40)
    # How the station prints receipts: "none" (saved as files) or "terminal" (ANSI transparent print).
    printing: Mapped[str] = mapped_column(Unicode(12), nullable=False, default="none", server_default="none")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()
    __table_args__ = (CheckConstraint("receipt_width IN (40, 80)", name="receipt_width"),)


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = _big_id()
    code: Mapped[str] = mapped_column(Unicode(30), nullable=False)
    code_key: Mapped[str] = mapped_column(SearchKey(30), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(Unicode(120), nullable=False)
    name_key: Mapped[str] = mapped_column(SearchKey(120), nullable=False, index=True)
    address: Mapped[str] = mapped_column(Unicode(200), nullable=False, default="")
    phone: Mapped[str] = mapped_column(Unicode(40), nullable=False, default="")
    phone_key: Mapped[str] = mapped_column(SearchKey(40), nullable=False, default="", index=True)
    email: Mapped[str] = mapped_column(Unicode(120), nullable=False, default="")
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), index=True)
    # Token delivery (services/messages.py): consent per channel, and whether every token goes out unasked.
    notify_sms: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    notify_email: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    notify_auto: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class Currency(Base):
    __tablename__ = "currencies"
    code: Mapped[str] = mapped_column(Unicode(3), primary_key=True)
    name: Mapped[str] = mapped_column(Unicode(60), nullable=False)
    symbol: Mapped[str] = mapped_column(Unicode(8), nullable=False, default="")
    minor_unit: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=2)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    __table_args__ = (CheckConstraint("minor_unit BETWEEN 0 AND 4", name="minor_unit"),)


class ExchangeRate(Base):
    """1 unit of `from_currency` = `rate` units of `to_currency`, from `effective_at` on."""

    __tablename__ = "exchange_rates"
    id: Mapped[int] = _id()
    from_currency: Mapped[str] = mapped_column(ForeignKey("currencies.code"), nullable=False)
    to_currency: Mapped[str] = mapped_column(ForeignKey("currencies.code"), nullable=False)
    rate: Mapped[Decimal] = mapped_column(Rate, nullable=False)
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    __table_args__ = (
        Index("ix_exchange_rates_pair", "from_currency", "to_currency", "effective_at"),
        CheckConstraint("rate > 0", name="rate_positive"),
    )


class PaymentType(Base):
    __tablename__ = "payment_types"
    id: Mapped[int] = _id()
    code: Mapped[str] = mapped_column(Unicode(20), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(Unicode(60), nullable=False)
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class Tariff(Base):
    """A price plan. Vends copy what they need, so editing never changes past sales."""

    __tablename__ = "tariffs"
    id: Mapped[int] = _id()
    name: Mapped[str] = mapped_column(Unicode(100), nullable=False)
    name_key: Mapped[str] = mapped_column(SearchKey(100), nullable=False, unique=True)
    utility: Mapped[str] = mapped_column(Unicode(20), nullable=False)
    unit: Mapped[str] = mapped_column(Unicode(10), nullable=False)
    price_per_unit: Mapped[Decimal] = mapped_column(Rate, nullable=False)
    currency_code: Mapped[str] = mapped_column(ForeignKey("currencies.code"), nullable=False)
    vat_rate: Mapped[Decimal] = mapped_column(Rate, nullable=False, default=Decimal(0))
    excise_rate: Mapped[Decimal] = mapped_column(Rate, nullable=False, default=Decimal(0))
    prices_include_vat: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    min_purchase: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal(0))
    max_purchase: Mapped[Decimal | None] = mapped_column(Money)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # Revenue settings (pricing.Schedule; checked by the Price Library, no CHECK so SQLite can drop them): VAT on the fixed charge, months an unpaid charge accrues
    # (0: it lapses), and caps per account per day and per month (NULL: none).
    fixed_charge_vat: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    charge_accrue_months: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=0)
    cap_units_day: Mapped[Decimal | None] = mapped_column(Units)
    cap_units_month: Mapped[Decimal | None] = mapped_column(Units)
    cap_money_day: Mapped[Decimal | None] = mapped_column(Money)
    cap_money_month: Mapped[Decimal | None] = mapped_column(Money)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()
    __table_args__ = (
        CheckConstraint("price_per_unit > 0", name="price_positive"),
        CheckConstraint("vat_rate >= 0 AND excise_rate >= 0", name="rates_not_negative"),
    )


class TariffVersion(Base):
    """A tariff's prices from `effective_from` (UTC; entered in the utility's local time) until the next version.

    Before a tariff's first version its row's flat price applies. Versions are
    entered ahead and never dated before a sale already made on the tariff.
    """

    __tablename__ = "tariff_versions"
    id: Mapped[int] = _id()
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariffs.id"), nullable=False)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    fixed_charge: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal(0))
    created_at: Mapped[datetime] = _created()
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    __table_args__ = (
        UniqueConstraint("tariff_id", "effective_from", name="uq_tariff_versions_tariff_id_effective_from"),
        CheckConstraint("fixed_charge >= 0", name="fixed_charge"),
    )


class TariffBlock(Base):
    """Units bought in the calendar month up to `up_to` (NULL: no bound, the last) cost `price_per_unit`."""

    __tablename__ = "tariff_blocks"
    id: Mapped[int] = _id()
    version_id: Mapped[int] = mapped_column(ForeignKey("tariff_versions.id"), nullable=False)
    position: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    up_to: Mapped[Decimal | None] = mapped_column(Units)
    price_per_unit: Mapped[Decimal] = mapped_column(Rate, nullable=False)
    __table_args__ = (
        UniqueConstraint("version_id", "position", name="uq_tariff_blocks_version_id_position"),
        CheckConstraint("price_per_unit > 0", name="price_positive"),
    )


class VendingKey(Base):
    """A supply group's vending key, AES-GCM encrypted under the master key."""

    __tablename__ = "vending_keys"
    id: Mapped[int] = _id()
    sgc: Mapped[str] = mapped_column(Unicode(6), nullable=False)
    krn: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    dkga: Mapped[str] = mapped_column(Unicode(2), nullable=False)
    label: Mapped[str] = mapped_column(Unicode(100), nullable=False, default="")
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12), nullable=False)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary(64), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = _created()
    __table_args__ = (UniqueConstraint("sgc", "krn", name="uq_vending_keys_sgc_krn"),)


class Meter(Base):
    """A meter and its STS key data.

    `sgc..ken` is the key data the meter should have (set in the Meter
    Library); `installed_*` is what the meter holds according to the tokens
    issued so far. When they differ the next token operation issues the key
    change tokens first and then moves `installed_*` forward.
    """

    __tablename__ = "meters"
    id: Mapped[int] = _big_id()
    meter_number: Mapped[str] = mapped_column(SearchKey(13), nullable=False, unique=True)
    meter_type: Mapped[str] = mapped_column(Unicode(30), nullable=False)
    utility: Mapped[str] = mapped_column(Unicode(20), nullable=False)
    status: Mapped[str] = mapped_column(Unicode(12), nullable=False, default="active")
    sgc: Mapped[str] = mapped_column(Unicode(6), nullable=False)
    ti: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    krn: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    kt: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=2)
    ea: Mapped[str] = mapped_column(Unicode(2), nullable=False, default="07")
    dkga: Mapped[str] = mapped_column(Unicode(2), nullable=False, default="02")
    base_date: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=2014)
    ken: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=255)
    installed_sgc: Mapped[str] = mapped_column(Unicode(6), nullable=False)
    installed_ti: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    installed_krn: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    installed_kt: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    installed_ea: Mapped[str] = mapped_column(Unicode(2), nullable=False)
    installed_dkga: Mapped[str] = mapped_column(Unicode(2), nullable=False)
    installed_base_date: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    installed_ken: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    last_tid: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()
    __table_args__ = (
        CheckConstraint("status IN ('active', 'inactive', 'faulty', 'retired')", name="status"),
        CheckConstraint("base_date IN (1993, 2014, 2035)", name="base_date"),
        CheckConstraint("installed_base_date IN (1993, 2014, 2035)", name="installed_base_date"),
        Index("ix_meters_sgc_krn", "sgc", "krn"),
        # The few retired meters, which the Non-Vending Meter Report's count takes off.
        Index("ix_meters_retired", "id", sqlite_where=text("status = 'retired'"),
              postgresql_where=text("status = 'retired'"), mssql_where=text("status = 'retired'")),
    )


class Account(Base):
    """Customer + meter + sales station + tariff. A meter has at most one open account."""

    __tablename__ = "accounts"
    id: Mapped[int] = _big_id()
    account_number: Mapped[str] = mapped_column(SearchKey(30), nullable=False, unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False, index=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"), nullable=False, index=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("sales_stations.id"), nullable=False, index=True)
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariffs.id"), nullable=False, index=True)
    status: Mapped[str] = mapped_column(Unicode(10), nullable=False, default="open")
    opened_at: Mapped[datetime] = _created()
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Revenue (pricing.AccountState): moved only under the meter's row lock, in the sale's transaction.
    debt_balance: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal(0))
    recovery_percent: Mapped[Decimal] = mapped_column(Rate, nullable=False, default=Decimal(0))  # fraction
    recovery_fixed: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal(0))
    recovery_month_limit: Mapped[Decimal | None] = mapped_column(Money)
    recovery_min_energy: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal(0))
    free_units: Mapped[Decimal] = mapped_column(Units, nullable=False, default=Decimal(0))  # a month; 0: none
    free_issued_month: Mapped[str | None] = mapped_column(Unicode(7))
    usage_month: Mapped[str | None] = mapped_column(Unicode(7))  # local "YYYY-MM" of the month counters
    month_units: Mapped[Decimal] = mapped_column(Units, nullable=False, default=Decimal(0))
    month_money: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal(0))
    month_recovered: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal(0))
    usage_day: Mapped[str | None] = mapped_column(Unicode(10))  # local "YYYY-MM-DD" of the day counters
    day_units: Mapped[Decimal] = mapped_column(Units, nullable=False, default=Decimal(0))
    day_money: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal(0))
    charge_paid_month: Mapped[str | None] = mapped_column(Unicode(7))  # last month whose charge is paid in full
    charge_part_paid: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal(0))
    __table_args__ = (
        CheckConstraint("status IN ('open', 'closed')", name="status"),
        Index(
            "uq_accounts_open_meter",
            "meter_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
            mssql_where=text("status = 'open'"),
        ),
    )


class Role(Base):
    __tablename__ = "roles"
    id: Mapped[int] = _id()
    name: Mapped[str] = mapped_column(Unicode(60), nullable=False)
    name_key: Mapped[str] = mapped_column(SearchKey(60), nullable=False, unique=True)
    description: Mapped[str] = mapped_column(Unicode(200), nullable=False, default="")
    builtin: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = _created()


class RolePermission(Base):
    __tablename__ = "role_permissions"
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True)
    permission: Mapped[str] = mapped_column(Unicode(60), primary_key=True)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = _id()
    user_code: Mapped[str] = mapped_column(Unicode(40), nullable=False)
    user_key: Mapped[str] = mapped_column(SearchKey(40), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(Unicode(100), nullable=False, default="")
    phone: Mapped[str] = mapped_column(Unicode(40), nullable=False, default="")
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id"), nullable=False, index=True)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("sales_stations.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(Unicode(200))
    payment_password_hash: Mapped[str | None] = mapped_column(Unicode(200))
    must_change_password: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    must_change_payment_password: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    builtin_admin: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = _created()


class UserPublicKey(Base):
    """An SSH public key a user may log in with at a remote station."""

    __tablename__ = "user_public_keys"
    id: Mapped[int] = _id()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    fingerprint: Mapped[str] = mapped_column(Unicode(100), nullable=False, unique=True)
    public_key: Mapped[str] = mapped_column(UnicodeText, nullable=False)
    comment: Mapped[str] = mapped_column(Unicode(200), nullable=False, default="")
    # How the terminal holding this key prints: "station" (its sales station's Printing decides),
    # "terminal" (transparent print to its printer) or "none" (receipts saved as files).
    printing: Mapped[str] = mapped_column(Unicode(12), nullable=False, default="station",
                                          server_default="station")
    created_at: Mapped[datetime] = _created()


class LoginThrottle(Base):
    """Failed logins per source address and user ID, shared by every process (TUI, SSH, API).

    One row per (address, folded user ID as typed, known or not), plus one per
    address with an empty user_key counting every user ID tried from there.
    See services/login_throttle.py.
    """

    __tablename__ = "login_throttle"
    source: Mapped[str] = mapped_column(Unicode(80), primary_key=True)
    user_key: Mapped[str] = mapped_column(SearchKey(40), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    window_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    penalties: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    __table_args__ = (Index("ix_login_throttle_user_key", "user_key"),)


class ApiAccount(Base):
    """A partner's API account; the secret is stored only as a hash."""

    __tablename__ = "api_accounts"
    id: Mapped[int] = _id()
    name: Mapped[str] = mapped_column(Unicode(60), nullable=False)
    name_key: Mapped[str] = mapped_column(SearchKey(60), nullable=False, unique=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id"), nullable=False, index=True)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("sales_stations.id"))
    key_prefix: Mapped[str] = mapped_column(Unicode(16), nullable=False, unique=True)
    key_hash: Mapped[str] = mapped_column(Unicode(200), nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    rate_limit_per_minute: Mapped[int] = mapped_column(Integer, nullable=False, default=600)
    created_at: Mapped[datetime] = _created()
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def _request_id_per_caller(table: str) -> tuple[Index, Index]:
    """A request id (idempotency key) is unique per operator and per API account, never across callers.

    Two filtered unique indexes, because a unique index over the nullable
    pair would treat NULLs as distinct on SQLite and PostgreSQL.
    """
    return tuple(
        Index(f"uq_{table}_{owner}_request", owner, "request_id", unique=True,
              sqlite_where=text(f"{owner} IS NOT NULL"), postgresql_where=text(f"{owner} IS NOT NULL"),
              mssql_where=text(f"{owner} IS NOT NULL"))
        for owner in ("operator_id", "api_account_id")
    )


class Vend(Base):
    """One credit sale: the receipt's facts, frozen at the moment of sale."""

    __tablename__ = "vends"
    id: Mapped[int] = _big_id()
    transaction_number: Mapped[str] = mapped_column(Unicode(24), nullable=False, unique=True)
    receipt_number: Mapped[str] = mapped_column(Unicode(24), nullable=False, unique=True)
    request_id: Mapped[str] = mapped_column(Unicode(64), nullable=False)  # unique per caller: see indexes
    created_at: Mapped[datetime] = _created()
    business_date: Mapped[date] = mapped_column(Date, nullable=False)
    source: Mapped[str] = mapped_column(Unicode(8), nullable=False)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    api_account_id: Mapped[int | None] = mapped_column(ForeignKey("api_accounts.id"))
    station_id: Mapped[int] = mapped_column(ForeignKey("sales_stations.id"), nullable=False)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), nullable=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), nullable=False)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"), nullable=False)
    meter_number: Mapped[str] = mapped_column(Unicode(13), nullable=False)
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariffs.id"), nullable=False)
    tariff_name: Mapped[str] = mapped_column(Unicode(100), nullable=False)
    utility: Mapped[str] = mapped_column(Unicode(20), nullable=False)
    unit: Mapped[str] = mapped_column(Unicode(10), nullable=False)
    price_per_unit: Mapped[Decimal] = mapped_column(Rate, nullable=False)
    vat_rate: Mapped[Decimal] = mapped_column(Rate, nullable=False)
    excise_rate: Mapped[Decimal] = mapped_column(Rate, nullable=False)
    prices_include_vat: Mapped[bool] = mapped_column(Boolean, nullable=False)
    mode: Mapped[str] = mapped_column(Unicode(8), nullable=False)
    payment_type: Mapped[str] = mapped_column(Unicode(20), nullable=False)
    paid_currency: Mapped[str] = mapped_column(Unicode(3), nullable=False)
    paid_amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    exchange_rate: Mapped[Decimal] = mapped_column(Rate, nullable=False)
    currency: Mapped[str] = mapped_column(Unicode(3), nullable=False)
    gross_amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    vat_amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    excise_amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    net_amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    units: Mapped[Decimal] = mapped_column(Units, nullable=False)
    token: Mapped[str] = mapped_column(Unicode(20), nullable=False)
    tid: Mapped[int] = mapped_column(Integer, nullable=False)
    key_change_tokens: Mapped[str] = mapped_column(Unicode(100), nullable=False, default="")
    # The revenue split (pricing "order of deductions"): gross = debt_recovered + fixed_charge + energy.
    tariff_version_id: Mapped[int | None] = mapped_column(Integer)  # tariff_versions.id; NULL: the flat price
    debt_recovered: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal(0))
    debt_after: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal(0))
    fixed_charge: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal(0))
    fixed_charge_months: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=0)
    energy_amount: Mapped[Decimal | None] = mapped_column(Money)  # NULL on sales before the revenue model
    free_units: Mapped[Decimal] = mapped_column(Units, nullable=False, default=Decimal(0))
    free_token: Mapped[str] = mapped_column(Unicode(20), nullable=False, default="")
    free_tid: Mapped[int | None] = mapped_column(Integer)
    subsidy_amount: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal(0))
    # Set once when a supervisor reverses the sale (see Reversal); the row itself is never deleted.
    reversed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    __table_args__ = (
        Index("ix_vends_meter_created", "meter_id", "created_at"),
        Index("ix_vends_created", "created_at"),
        Index("ix_vends_business_date_station", "business_date", "station_id"),
        Index("ix_vends_operator_date", "operator_id", "business_date"),
        Index("ix_vends_api_account_date", "api_account_id", "business_date"),  # a partner's own sales
        Index("ix_vends_customer", "customer_id", "created_at"),
        *_request_id_per_caller("vends"),
        CheckConstraint("source IN ('tui', 'ssh', 'api', 'cli')", name="source"),
        CheckConstraint("mode IN ('amount', 'units')", name="mode"),
    )


class VendBlock(Base):
    """The units and amount of one sale in one tariff block (the receipt's lines; units sold per block)."""

    __tablename__ = "vend_blocks"
    vend_id: Mapped[int] = mapped_column(ForeignKey("vends.id"), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, nullable=False)
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariffs.id"), nullable=False)
    units: Mapped[Decimal] = mapped_column(Units, nullable=False)
    price_all_in: Mapped[Decimal] = mapped_column(Rate, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    __table_args__ = (Index("ix_vend_blocks_date_tariff", "business_date", "tariff_id"),)


class DebtEntry(Base):
    """One movement of an account's debt: added, adjusted, written off, imported, recovered by a sale, paid."""

    __tablename__ = "debt_entries"
    id: Mapped[int] = _big_id()
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), nullable=False)
    created_at: Mapped[datetime] = _created()
    business_date: Mapped[date] = mapped_column(Date, nullable=False)
    kind: Mapped[str] = mapped_column(Unicode(12), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)  # + adds to the debt, - takes off
    balance_after: Mapped[Decimal] = mapped_column(Money, nullable=False)
    reason: Mapped[str] = mapped_column(Unicode(200), nullable=False, default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    api_account_id: Mapped[int | None] = mapped_column(ForeignKey("api_accounts.id"))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("sales_stations.id"))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    vend_id: Mapped[int | None] = mapped_column(ForeignKey("vends.id"))
    receipt_number: Mapped[str] = mapped_column(Unicode(24), nullable=False, default="")
    __table_args__ = (
        Index("ix_debt_entries_account", "account_id", "created_at"),
        Index("ix_debt_entries_date", "business_date"),
        CheckConstraint("kind IN ('added', 'adjusted', 'written_off', 'imported', 'recovered', 'paid')",
                        name="kind"),
    )


class ManagementToken(Base):
    """A management token operation (clear tamper, clear credit, key change, limits)."""

    __tablename__ = "management_tokens"
    id: Mapped[int] = _big_id()
    transaction_number: Mapped[str] = mapped_column(Unicode(24), nullable=False, unique=True)
    receipt_number: Mapped[str] = mapped_column(Unicode(24), nullable=False, unique=True)
    request_id: Mapped[str] = mapped_column(Unicode(64), nullable=False)  # unique per caller: see indexes
    created_at: Mapped[datetime] = _created()
    business_date: Mapped[date] = mapped_column(Date, nullable=False)
    source: Mapped[str] = mapped_column(Unicode(8), nullable=False)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    api_account_id: Mapped[int | None] = mapped_column(ForeignKey("api_accounts.id"))
    station_id: Mapped[int] = mapped_column(ForeignKey("sales_stations.id"), nullable=False)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"), nullable=False)
    meter_number: Mapped[str] = mapped_column(Unicode(13), nullable=False)
    kind: Mapped[str] = mapped_column(Unicode(24), nullable=False)
    subclass: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    field_value: Mapped[int | None] = mapped_column(Integer)
    register: Mapped[int | None] = mapped_column(SmallInteger)
    reason: Mapped[str] = mapped_column(Unicode(200), nullable=False, default="")
    token: Mapped[str] = mapped_column(Unicode(100), nullable=False)
    tid: Mapped[int | None] = mapped_column(Integer)
    key_change_tokens: Mapped[str] = mapped_column(Unicode(100), nullable=False, default="")
    __table_args__ = (
        Index("ix_management_tokens_kind_created", "kind", "created_at"),
        Index("ix_management_tokens_meter", "meter_id", "created_at"),
        Index("ix_management_tokens_operator_date", "operator_id", "business_date"),
        Index("ix_management_tokens_api_account_date", "api_account_id", "business_date"),
        *_request_id_per_caller("management_tokens"),
    )


class ReceiptPrint(Base):
    """Each reprint of a receipt (the original print is the vend itself)."""

    __tablename__ = "receipt_prints"
    id: Mapped[int] = _big_id()
    receipt_number: Mapped[str] = mapped_column(Unicode(24), nullable=False, index=True)
    created_at: Mapped[datetime] = _created()
    business_date: Mapped[date] = mapped_column(Date, nullable=False)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    api_account_id: Mapped[int | None] = mapped_column(ForeignKey("api_accounts.id"))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("sales_stations.id"))
    source: Mapped[str] = mapped_column(Unicode(8), nullable=False)
    __table_args__ = (Index("ix_receipt_prints_operator_date", "operator_id", "business_date"),)


class AuditEntry(Base):
    """Append-only trail: who, when, from where, what."""

    __tablename__ = "audit_log"
    id: Mapped[int] = _big_id()
    occurred_at: Mapped[datetime] = _created()
    source: Mapped[str] = mapped_column(Unicode(8), nullable=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    user_code: Mapped[str] = mapped_column(Unicode(40), nullable=False, default="")
    api_account_id: Mapped[int | None] = mapped_column(ForeignKey("api_accounts.id"))
    remote: Mapped[str] = mapped_column(Unicode(80), nullable=False, default="")
    action: Mapped[str] = mapped_column(Unicode(40), nullable=False)
    entity: Mapped[str] = mapped_column(Unicode(40), nullable=False, default="")
    entity_id: Mapped[str] = mapped_column(Unicode(40), nullable=False, default="")
    summary: Mapped[str] = mapped_column(Unicode(400), nullable=False, default="")
    detail: Mapped[str] = mapped_column(UnicodeText, nullable=False, default="")
    __table_args__ = (
        Index("ix_audit_log_occurred", "occurred_at"),
        Index("ix_audit_log_user_occurred", "user_id", "occurred_at"),
        Index("ix_audit_log_action_occurred", "action", "occurred_at"),
    )


class VendDailyTotal(Base):
    """Sales less reversals summed per business day, station, operator, district, utility, payment type and
    currencies.

    Owned by the Reports module; kept up to date in each vend's own transaction
    by stron_tui.services.reports.record_vend_in_daily_totals, so summary
    reports read a few thousand rows instead of scanning ten million vends.
    `operator_key` is the operator's user id, 0 for a sale without an operator
    (an API sale), so the key never holds NULL and stays unique on every backend.
    """

    __tablename__ = "vend_daily_totals"
    id: Mapped[int] = _big_id()
    business_date: Mapped[date] = mapped_column(Date, nullable=False)
    station_id: Mapped[int] = mapped_column(ForeignKey("sales_stations.id"), nullable=False)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), nullable=False)
    operator_key: Mapped[int] = mapped_column(Integer, nullable=False)
    utility: Mapped[str] = mapped_column(Unicode(20), nullable=False)
    payment_type: Mapped[str] = mapped_column(Unicode(20), nullable=False)
    paid_currency: Mapped[str] = mapped_column(Unicode(3), nullable=False)
    currency: Mapped[str] = mapped_column(Unicode(3), nullable=False)
    # Sales without an operator (API) spread over a few rows per key, so concurrent sales don't queue
    # on one row lock; a cashier sells one sale at a time and always uses slot 0. Reports sum the slots.
    slot: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=0, server_default="0")
    vend_count: Mapped[int] = mapped_column(Integer, nullable=False)  # sales made that day
    # Reversals recorded that day of sales with this key (a sale's station, operator, district, ...); the
    # amounts below are net of them: a reversal subtracts its sale in its own transaction.
    reversal_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    paid_amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    gross_amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    vat_amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    excise_amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    net_amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    units: Mapped[Decimal] = mapped_column(Units, nullable=False)
    __table_args__ = (
        UniqueConstraint("business_date", "station_id", "operator_key", "district_id", "utility", "payment_type",
                         "paid_currency", "currency", "slot", name="uq_vend_daily_totals_key"),
        Index("ix_vend_daily_totals_station_date", "station_id", "business_date"),
        Index("ix_vend_daily_totals_operator_date", "operator_key", "business_date"),
    )


class MeterVendActivity(Base):
    """Each meter's last sale (Reports module), kept in the vend's own transaction.

    Every meter has its row from the day it is created (vend_count 0, no last
    sale: NULL dates), so the Non-Vending Meter Report is a range over
    last_business_date (NULL meaning never sold) instead of a search of all
    meters against ten million vends. See services/reports/aggregates.py.
    """

    __tablename__ = "meter_vend_activity"
    __table_args__ = (
        # Silent meters as one index range (count: index only); meter_id in it for the join.
        Index("ix_meter_vend_activity_last_sale", "last_business_date", "meter_id"),
    )
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"), primary_key=True)
    last_business_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    last_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    vend_count: Mapped[int] = mapped_column(Integer, nullable=False)


class RateCounter(Base):
    """Requests counted per (bucket, minute) where every API worker and host sees them (api/deps.py).

    A bucket is "account:<id>" (the account's rate limit) or "address:<ip>" (failed keys from one
    client address). Rows older than two minutes are deleted as new minutes begin.
    """

    __tablename__ = "rate_counters"
    __table_args__ = (Index("ix_rate_counters_minute", "minute"),)
    bucket: Mapped[str] = mapped_column(Unicode(100), primary_key=True)
    minute: Mapped[int] = mapped_column(Integer, primary_key=True)  # minutes since 1970-01-01 UTC
    hits: Mapped[int] = mapped_column(Integer, nullable=False)


class OutboxMessage(Base):
    """A token on its way to a customer's phone or mailbox (services/messages.py).

    Written in the sale's own transaction; a sender delivers it with retries. `dedupe_key` makes a
    message for one token and channel exist once, whatever retries the sale or the sender makes.
    """

    __tablename__ = "message_outbox"
    id: Mapped[int] = _big_id()
    created_at: Mapped[datetime] = _created()
    channel: Mapped[str] = mapped_column(Unicode(8), nullable=False)  # sms | email
    recipient: Mapped[str] = mapped_column(Unicode(120), nullable=False)
    subject: Mapped[str] = mapped_column(Unicode(200), nullable=False, default="")
    body: Mapped[str] = mapped_column(Unicode(2000), nullable=False)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    receipt_number: Mapped[str] = mapped_column(Unicode(24), nullable=False, default="")
    dedupe_key: Mapped[str] = mapped_column(Unicode(100), nullable=False, unique=True)
    status: Mapped[str] = mapped_column(Unicode(8), nullable=False, default="queued")  # queued | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = _created()
    last_error: Mapped[str] = mapped_column(Unicode(400), nullable=False, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    __table_args__ = (Index("ix_message_outbox_due", "status", "next_attempt_at"),
                      Index("ix_message_outbox_receipt", "receipt_number"))
class Reversal(Base):
    """A supervisor's reversal of one sale: its own record and number; the sale stays, marked reversed.

    The unique vend_id makes a second reversal of the same sale impossible on
    every backend, however the requests race.
    """

    __tablename__ = "reversals"
    id: Mapped[int] = _big_id()
    reversal_number: Mapped[str] = mapped_column(Unicode(24), nullable=False, unique=True)
    request_id: Mapped[str] = mapped_column(Unicode(64), nullable=False)
    vend_id: Mapped[int] = mapped_column(ForeignKey("vends.id"), nullable=False, unique=True)
    created_at: Mapped[datetime] = _created()
    business_date: Mapped[date] = mapped_column(Date, nullable=False)
    source: Mapped[str] = mapped_column(Unicode(8), nullable=False)
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    station_id: Mapped[int] = mapped_column(ForeignKey("sales_stations.id"), nullable=False)
    reason: Mapped[str] = mapped_column(Unicode(200), nullable=False)
    token_declared_unused: Mapped[bool] = mapped_column(Boolean, nullable=False)
    # Copied from the sale, so reports and shifts sum reversals without reading the sale.
    payment_type: Mapped[str] = mapped_column(Unicode(20), nullable=False)
    paid_currency: Mapped[str] = mapped_column(Unicode(3), nullable=False)
    paid_amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    currency: Mapped[str] = mapped_column(Unicode(3), nullable=False)
    gross_amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    units: Mapped[Decimal] = mapped_column(Units, nullable=False)
    __table_args__ = (
        UniqueConstraint("operator_id", "request_id", name="uq_reversals_operator_request"),
        Index("ix_reversals_business_date_station", "business_date", "station_id"),
        Index("ix_reversals_created", "created_at"),
    )


class VendorFloat(Base):
    """A sales station's or API account's float: prepaid (credit_limit 0) or on a credit limit.

    A sale may take the balance down to -credit_limit and no further; the
    debit is one conditional UPDATE, so concurrent sales can never pass it.
    """

    __tablename__ = "vendor_floats"
    id: Mapped[int] = _id()
    station_id: Mapped[int | None] = mapped_column(ForeignKey("sales_stations.id"))
    api_account_id: Mapped[int | None] = mapped_column(ForeignKey("api_accounts.id"))
    currency: Mapped[str] = mapped_column(ForeignKey("currencies.code"), nullable=False)
    balance: Mapped[Decimal] = mapped_column(Money, nullable=False)
    credit_limit: Mapped[Decimal] = mapped_column(Money, nullable=False)
    commission_rate: Mapped[Decimal] = mapped_column(Rate, nullable=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()
    __table_args__ = (
        CheckConstraint("(station_id IS NULL AND api_account_id IS NOT NULL) OR "
                        "(station_id IS NOT NULL AND api_account_id IS NULL)", name="one_vendor"),
        CheckConstraint("credit_limit >= 0", name="credit_limit"),
        CheckConstraint("commission_rate >= 0 AND commission_rate < 1", name="commission_rate"),
        Index("uq_vendor_floats_station", "station_id", unique=True, sqlite_where=text("station_id IS NOT NULL"),
              postgresql_where=text("station_id IS NOT NULL"), mssql_where=text("station_id IS NOT NULL")),
        Index("uq_vendor_floats_api_account", "api_account_id", unique=True,
              sqlite_where=text("api_account_id IS NOT NULL"), postgresql_where=text("api_account_id IS NOT NULL"),
              mssql_where=text("api_account_id IS NOT NULL")),
    )


class VendorFloatEntry(Base):
    """Every movement of a vendor float: deposit, adjustment, sale, reversal (the statement reads these)."""

    __tablename__ = "vendor_float_entries"
    id: Mapped[int] = _big_id()
    float_id: Mapped[int] = mapped_column(ForeignKey("vendor_floats.id"), nullable=False)
    created_at: Mapped[datetime] = _created()
    business_date: Mapped[date] = mapped_column(Date, nullable=False)
    kind: Mapped[str] = mapped_column(Unicode(12), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)  # signed: what the balance moved by
    commission: Mapped[Decimal] = mapped_column(Money, nullable=False)  # earned (+) or given back (-)
    balance_after: Mapped[Decimal] = mapped_column(Money, nullable=False)
    reference: Mapped[str] = mapped_column(Unicode(24), nullable=False, default="")
    reason: Mapped[str] = mapped_column(Unicode(200), nullable=False, default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    __table_args__ = (
        CheckConstraint("kind IN ('deposit', 'adjustment', 'sale', 'reversal')", name="kind"),
        Index("ix_vendor_float_entries_float_created", "float_id", "created_at"),
    )


class Shift(Base):
    """A cashier's shift at a station: opened with a float, closed with a count, signed off by a supervisor."""

    __tablename__ = "shifts"
    id: Mapped[int] = _id()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    station_id: Mapped[int] = mapped_column(ForeignKey("sales_stations.id"), nullable=False)
    status: Mapped[str] = mapped_column(Unicode(10), nullable=False)
    opened_at: Mapped[datetime] = _created()
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_off_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Unicode(400), nullable=False, default="")
    __table_args__ = (
        CheckConstraint("status IN ('open', 'closed', 'signed')", name="status"),
        # One open shift per cashier.
        Index("uq_shifts_open_user", "user_id", unique=True, sqlite_where=text("status = 'open'"),
              postgresql_where=text("status = 'open'"), mssql_where=text("status = 'open'")),
        Index("ix_shifts_station_opened", "station_id", "opened_at"),
        Index("ix_shifts_user_opened", "user_id", "opened_at"),
    )


class ShiftCount(Base):
    """Per shift, payment type and currency: the opening float, and at close what was expected and declared."""

    __tablename__ = "shift_counts"
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id"), primary_key=True)
    payment_type: Mapped[str] = mapped_column(Unicode(20), primary_key=True)
    currency: Mapped[str] = mapped_column(Unicode(3), primary_key=True)
    opening_float: Mapped[Decimal] = mapped_column(Money, nullable=False)
    expected: Mapped[Decimal | None] = mapped_column(Money)
    declared: Mapped[Decimal | None] = mapped_column(Money)
