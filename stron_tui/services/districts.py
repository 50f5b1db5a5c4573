"""District Library: the regions that group stations, customers and sales."""

from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from stron_tui.db.models import Customer, District, SalesStation, Vend
from stron_tui.db.queries import contains_match, prefix_match
from stron_tui.services.libraries import Field, Library, ListColumn, SearchPlan, register
from stron_tui.domain.text import fold

KINDS = ("residential", "industrial", "commercial", "rural", "other")


class Districts(Library):
    name = "districts"
    title = "District Library"
    entity = "district"
    permission = "basedata.districts.edit"
    model = District
    key_field = "code"
    fields = (
        Field("code", "Code", required=True, max_length=20, example="LAG-01", width=12),
        Field("name", "Name", required=True, max_length=100, example="Lagos Island", width=30),
        Field("kind", "Kind", kind="choice", choices=KINDS, default="residential", example="residential"),
        Field("description", "Description", max_length=400, example="Island wards 1-4", width=40),
    )
    list_columns = (
        ListColumn("Code", "code", 12), ListColumn("Name", "name", 30), ListColumn("Kind", "kind", 12),
        ListColumn("Description", "description", 30),
    )
    sorts = {"code": ("Code", District.code_key), "name": ("Name", District.name_key)}
    default_sort = "code"

    def values_query(self):
        return select(District.id, District.code, District.name, District.kind, District.description)

    def key_column(self):
        return District.code_key

    def columns(self, values):
        return {"code": values["code"], "code_key": fold(values["code"]), "name": values["name"],
                "name_key": fold(values["name"]), "kind": values["kind"], "description": values["description"]}

    def search_plan(self, text):
        key = fold(text)
        return SearchPlan((
            ("prefix", or_(prefix_match(District.code_key, key), prefix_match(District.name_key, key))),
            ("contains", or_(contains_match(District.name_key, key), contains_match(District.description, text))),
        ))

    def delete_refusal(self, session: Session, record_id: int) -> str | None:
        for model, what in ((SalesStation, "sales stations"), (Customer, "customers"), (Vend, "sales")):
            if session.scalar(select(exists().where(model.district_id == record_id))):
                return f"it still has {what}."
        return None


LIBRARY = register(Districts())


def district_ids(session: Session, codes) -> dict[str, int]:
    """Folded district code -> id for the given codes (districts are few; one query)."""
    wanted = {fold(code) for code in codes if code}
    if not wanted:
        return {}
    from stron_tui.db.queries import chunked

    found: dict[str, int] = {}
    for chunk in chunked(sorted(wanted)):
        found.update(session.execute(select(District.code_key, District.id).where(District.code_key.in_(chunk))).all())
    return found
