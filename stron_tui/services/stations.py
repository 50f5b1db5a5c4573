"""Sales Station Library: the outlets that sell credit, each in a district."""

from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from stron_tui.db.models import Account, District, ManagementToken, SalesStation, User, Vend
from stron_tui.db.queries import contains_match, prefix_match
from stron_tui.services.districts import district_ids
from stron_tui.services.libraries import Field, Library, ListColumn, SearchPlan, register
from stron_tui.domain.text import fold


PRINTING = ("none", "terminal")


def station_printing(ctx, station_id: int | None) -> str:
    """How this station prints receipts, read fresh (an administrator may have just changed it);
    an operator without a station has no printer."""
    if station_id is None:
        return "none"
    with ctx.db.read_session() as session:
        return session.scalar(select(SalesStation.printing).where(SalesStation.id == station_id)) or "none"


def station_label(ctx, station_id: int | None) -> str:
    """"CODE Name" of a sales station, as the status line shows where an operator works ("" for none)."""
    if station_id is None:
        return ""
    with ctx.db.read_session() as session:
        row = session.execute(select(SalesStation.code, SalesStation.name).where(SalesStation.id == station_id)).first()
    return f"{row.code} {row.name}" if row else ""


def session_printing(ctx, station_id: int | None, key_fingerprint: str = "") -> tuple[str, str]:
    """How receipts print in this session, and who decided: the SSH key the session logged in with,
    when it says, else the station ("none" without one)."""
    from stron_tui.services.public_keys import key_printing

    by_key = key_printing(ctx, key_fingerprint)
    if by_key != "station":
        return by_key, "key"
    return station_printing(ctx, station_id), "station"


def user_station_code(ctx, user_id: int) -> str:
    """The code of the sales station a user works at ("" for none): for the SSH server's session list."""
    with ctx.db.read_session() as session:
        return session.scalar(select(SalesStation.code).join(User, User.station_id == SalesStation.id)
                              .where(User.id == user_id)) or ""


class Stations(Library):
    name = "stations"
    title = "Sales Station Library"
    entity = "sales station"
    permission = "basedata.stations.edit"
    model = SalesStation
    key_field = "code"
    fields = (
        Field("code", "Station ID", required=True, max_length=20, example="ST-001", width=12),
        Field("name", "Name", required=True, max_length=100, example="Marina office", width=28),
        Field("district_code", "District code", required=True, max_length=20, example="LAG-01", width=12),
        Field("address", "Address", max_length=200, example="12 Marina Rd", width=30),
        Field("phone", "Phone", kind="phone", max_length=40, example="+2348010000000",
              note="E.164: + and the country code; spaces are dropped", width=16),
        Field("receipt_width", "Receipt width", kind="choice", choices=("40", "80"), default="40", width=8),
        Field("printing", "Printing", kind="choice", choices=PRINTING, default="none", width=9,
              labels=("Saved as files", "Terminal printer"),
              note="none: P saves the receipt as a file to fetch over SFTP; terminal: the station's terminal "
                   "prints (ANSI transparent print, e.g. PuTTY with a printer set)"),
        Field("active", "Active", kind="bool", default=True, width=8),
    )
    list_columns = (
        ListColumn("Station ID", "code", 12), ListColumn("Name", "name", 26), ListColumn("District", "district_code", 10),
        ListColumn("Phone", "phone", 16), ListColumn("Width", "receipt_width", 6), ListColumn("Active", "active", 6),
    )
    sorts = {"code": ("Station ID", SalesStation.code_key), "name": ("Name", SalesStation.name_key)}
    default_sort = "code"

    def values_query(self):
        return (
            select(SalesStation.id, SalesStation.code, SalesStation.name, District.code.label("district_code"),
                   SalesStation.address, SalesStation.phone, SalesStation.receipt_width, SalesStation.printing,
                   SalesStation.active)
            .join(District, District.id == SalesStation.district_id)
        )

    def record(self, mapping):
        record = super().record(mapping)
        values = dict(record.values)
        values["receipt_width"] = str(values["receipt_width"])
        return type(record)(record.id, values)

    def key_column(self):
        return SalesStation.code_key

    def resolve(self, session, records):
        ids = district_ids(session, [r["district_code"] for r in records])
        errors = {}
        for index, values in enumerate(records):
            district = ids.get(fold(values["district_code"]))
            if district is None:
                errors[index] = {"district_code": f"There is no district with code {values['district_code']}."}
            values["_district_id"] = district
        return errors

    def columns(self, values):
        return {"code": values["code"], "code_key": fold(values["code"]), "name": values["name"],
                "name_key": fold(values["name"]), "district_id": values["_district_id"],
                "address": values["address"], "phone": values["phone"],
                "receipt_width": int(values["receipt_width"]), "printing": values["printing"],
                "active": values["active"]}

    def search_plan(self, text):
        key = fold(text)
        return SearchPlan((
            ("prefix", or_(prefix_match(SalesStation.code_key, key), prefix_match(SalesStation.name_key, key))),
            ("contains", or_(contains_match(SalesStation.name_key, key), contains_match(SalesStation.address, text),
                             contains_match(SalesStation.phone, text))),
        ))

    def delete_refusal(self, session: Session, record_id: int) -> str | None:
        for condition, what in ((Vend.station_id == record_id, "sales"),
                                (ManagementToken.station_id == record_id, "management tokens"),
                                (Account.station_id == record_id, "accounts"),
                                (User.station_id == record_id, "operators")):
            if session.scalar(select(exists().where(condition))):
                return f"it has {what}; set it inactive instead."
        return None


LIBRARY = register(Stations())
