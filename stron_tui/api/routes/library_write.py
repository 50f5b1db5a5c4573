"""Maintaining the libraries over HTTP: create and change customers, meters and accounts (one at a time or a
batch, all or nothing), and read tariffs, districts and sales stations.

Everything goes through the Base Data services the screens and the Excel import use: the same parsing and
validation (services/libraries.py), permissions (the library's edit right; a batch also needs the import
right, as the Excel import does), audit entries, and the import's one-transaction batches
(excel_io.import_rows). Values are sent as the form and the spreadsheet take them: text, or numbers for
numeric fields; percentages as percent (15 for 15 %). Records are answered as the form shows them.
"""

# No `from __future__ import annotations`: the route functions' body types are built at run time, and
# FastAPI must see them as objects, not as names to resolve later.
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, create_model

from stron_tui.api.deps import ApiActor, Ctx, Pager
from stron_tui.errors import NotFound, ValidationError
from stron_tui.services import excel_io
from stron_tui.services import libraries as L

router = APIRouter(tags=["library maintenance"])

MAX_BATCH = 1000
WRITABLE = ("customers", "meters", "accounts")
READ_ONLY = ("tariffs", "districts", "stations")
Key = Annotated[str, Path(min_length=1, max_length=60)]
SearchText = Annotated[str, Query(max_length=100, description="search text, as in the Base Data search box")]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=500, description="next_cursor of the previous page")]

_KIND_TYPES: dict[str, Any] = {
    "int": int | str, "decimal": str | int, "percent": str | int, "bool": bool | str,
}


def _describe(spec: L.Field) -> str:
    parts = [spec.label]
    if spec.choices:
        parts.append("one of: " + ", ".join(spec.choices))
    if spec.kind == "percent":
        parts.append("in percent (15 for 15 %)")
    if spec.kind == "phone":
        parts.append("E.164 or as written with its country code")
    if spec.example:
        parts.append(f"e.g. {spec.example}")
    return "; ".join(parts)


def _input_model(lib: L.Library, *, partial: bool) -> type[BaseModel]:
    fields = {}
    for spec in lib.fields:
        kind = _KIND_TYPES.get(spec.kind, str)
        limit = {"max_length": spec.max_length} if kind is str else {}
        required = spec.required and not partial
        fields[spec.name] = (kind if required else kind | None,
                             Field(... if required else None, description=_describe(spec), **limit))
    suffix = "Change" if partial else "In"
    return create_model(f"{lib.entity.title().replace(' ', '')}{suffix}",
                        __config__=ConfigDict(extra="forbid"), **fields)


def _output_model(lib: L.Library) -> type[BaseModel]:
    fields = {"id": (int, ...)} | {spec.name: (str, Field("", description=_describe(spec))) for spec in lib.fields}
    return create_model(f"{lib.entity.title().replace(' ', '')}Record", **fields)


class BatchResult(BaseModel):
    rows: int
    created: int
    updated: int
    unchanged: int


def _shown(lib: L.Library, record: L.Record) -> dict:
    return {"id": record.id} | L.form_text(lib, record)


def _record_by_key(ctx, actor, name: str, key: str) -> L.Record:
    record = L.find(ctx, actor, name, key.strip())
    if record is None:
        raise NotFound(f"There is no {L.library(name).entity} {key.strip()}.")
    return record


def _given(body: BaseModel) -> dict:
    return {name: value for name, value in body.model_dump(exclude_unset=True).items()}


def _add_writes(name: str) -> None:
    lib = L.library(name)
    entity = lib.entity
    key_label = lib.fields_by_name[lib.key_field].label.lower()
    create_in, change_in, record_out = _input_model(lib, partial=False), _input_model(lib, partial=True), \
        _output_model(lib)
    batch_in = create_model(f"{create_in.__name__}Batch", __config__=ConfigDict(extra="forbid"),
                            rows=(list[create_in], Field(..., min_length=1, max_length=MAX_BATCH)))

    def create(ctx: Ctx, actor: ApiActor, body: create_in):  # type: ignore[valid-type]
        return _shown(lib, L.create(ctx, actor, name, _given(body)))

    def change(ctx: Ctx, actor: ApiActor, key: Key, body: change_in):  # type: ignore[valid-type]
        current = _record_by_key(ctx, actor, name, key)
        merged = L.form_text(lib, current) | {field: "" if value is None else value
                                              for field, value in _given(body).items()}
        return _shown(lib, L.update(ctx, actor, name, current.id, merged))

    def batch(ctx: Ctx, actor: ApiActor, body: batch_in):  # type: ignore[valid-type]
        rows = [(index, row.model_dump(exclude_unset=True)) for index, row in enumerate(body.rows)]
        report = excel_io.import_rows(ctx, actor, name, rows, source=f"api:{name}", source_name="an API batch",
                                      total=len(rows))
        if not report.ok:
            errors = {f"rows[{error.row}].{_field_name(lib, error.column)}": error.reason
                      for error in report.errors[:20]}
            first = report.errors[0]
            raise ValidationError(f"Nothing was saved: {len(report.errors)} problem(s); row {first.row}: "
                                  f"{first.reason}", field="rows", errors=errors)
        return BatchResult(rows=report.rows, created=report.created, updated=report.updated,
                           unchanged=report.unchanged)

    router.add_api_route(f"/{name}", create, methods=["POST"], status_code=201, response_model=record_out,
                         summary=f"Create a {entity}, as the {lib.title} form does")
    router.add_api_route(f"/{name}/batch", batch, methods=["POST"], response_model=BatchResult,
                         summary=f"Create or change up to {MAX_BATCH} {lib.title.lower()} records by "
                                 f"{key_label}, all or nothing, as the Excel import does")
    router.add_api_route(f"/{name}/{{key}}", change, methods=["PATCH"], response_model=record_out,
                         summary=f"Change a {entity} by {key_label}: the fields sent, the rest as they are")


def _field_name(lib: L.Library, header: str) -> str:
    for spec in lib.fields:
        if header in (spec.header, spec.name):
            return spec.name
    return header or "row"


def _add_reads(name: str) -> None:
    lib = L.library(name)
    record_out = _output_model(lib)
    page_out = create_model(f"{record_out.__name__}Page", items=(list[record_out], ...),
                            next_cursor=(str | None, ...))
    key_label = lib.fields_by_name[lib.key_field].label.lower()

    def search(ctx: Ctx, actor: ApiActor, cursors: Pager, q: SearchText = "", limit: Limit = 50,
               cursor: Cursor = None):
        kind = f"{name}:"
        page = L.search(ctx, actor, name, q, after=cursors.decode(kind, cursor), limit=limit)
        return {"items": [_shown(lib, record) for record in page.rows],
                "next_cursor": cursors.encode(kind, page.next_after)}

    def by_key(ctx: Ctx, actor: ApiActor, key: Key):
        return _shown(lib, _record_by_key(ctx, actor, name, key))

    router.add_api_route(f"/{name}", search, methods=["GET"], response_model=page_out,
                         summary=f"Search {lib.title.lower()}")
    router.add_api_route(f"/{name}/{{key}}", by_key, methods=["GET"], response_model=record_out,
                         summary=f"A {lib.entity} by {key_label}")


for _name in WRITABLE:
    _add_writes(_name)
for _name in READ_ONLY:
    _add_reads(_name)
