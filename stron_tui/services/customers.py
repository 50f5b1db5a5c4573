"""Customer Library: who owns the meters; unlimited, searchable by name, code or phone."""

from __future__ import annotations

import re

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from stron_tui.db.models import Account, Customer, District, Vend
from stron_tui.db.queries import contains_match, prefix_match
from stron_tui.errors import ValidationError
from stron_tui.services.districts import district_ids
from stron_tui.services.libraries import Field, Library, ListColumn, SearchPlan, next_free_code, register
from stron_tui.domain.text import fold


def phone_key(phone: str) -> str:
    """Phones are searched without spaces, dashes or brackets."""
    return re.sub(r"[\s\-().]", "", fold(phone))[:40]


class Customers(Library):
    name = "customers"
    title = "Customer Library"
    entity = "customer"
    permission = "basedata.customers.edit"
    model = Customer
    key_field = "code"
    fields = (
        Field("code", "Customer ID", required=True, max_length=30, example="C000001", width=14),
        Field("name", "Name", required=True, max_length=120, example="Ngozi Okonkwo", width=28),
        Field("address", "Address", max_length=200, example="4 Adeola St, Ikoyi", width=30),
        Field("phone", "Phone", kind="phone", max_length=40, example="+2348025550101",
              note="E.164: + and the country code; spaces are dropped", width=18),
        Field("email", "E-mail", kind="email", max_length=120, example="ngozi@example.com", width=24),
        Field("district_code", "District code", max_length=20, example="LAG-01", width=12),
        # Token delivery (services/messages.py): consent per channel, and whether every token goes out unasked.
        Field("notify_sms", "Tokens by SMS", kind="bool", example="n", note="needs the phone", width=8),
        Field("notify_email", "Tokens by e-mail", kind="bool", example="n", note="needs the e-mail", width=8),
        Field("notify_auto", "Send every token", kind="bool", example="n",
              note="send each new token without being asked", width=8),
    )
    list_columns = (
        ListColumn("Customer ID", "code", 12), ListColumn("Name", "name", 26), ListColumn("Phone", "phone", 16),
        ListColumn("Address", "address", 26), ListColumn("District", "district_code", 10),
    )
    sorts = {"name": ("Name", Customer.name_key), "code": ("Customer ID", Customer.code_key)}
    default_sort = "name"

    def values_query(self):
        return (
            select(Customer.id, Customer.code, Customer.name, Customer.address, Customer.phone, Customer.email,
                   District.code.label("district_code"), Customer.notify_sms, Customer.notify_email,
                   Customer.notify_auto)
            .outerjoin(District, District.id == Customer.district_id)
        )

    def record(self, mapping):
        record = super().record(mapping)
        if record.values.get("district_code") is None:
            return type(record)(record.id, dict(record.values) | {"district_code": ""})
        return record

    def key_column(self):
        return Customer.code_key

    def resolve(self, session, records):
        ids = district_ids(session, [r["district_code"] for r in records])
        errors = {}
        for index, values in enumerate(records):
            values["_district_id"] = None
            if values["district_code"]:
                values["_district_id"] = ids.get(fold(values["district_code"]))
                if values["_district_id"] is None:
                    errors[index] = {"district_code": f"There is no district with code {values['district_code']}."}
        return errors

    def columns(self, values):
        return {"code": values["code"], "code_key": fold(values["code"]), "name": values["name"],
                "name_key": fold(values["name"])[:120], "address": values["address"], "phone": values["phone"],
                "phone_key": phone_key(values["phone"]), "email": values["email"],
                "district_id": values["_district_id"], "notify_sms": values["notify_sms"],
                "notify_email": values["notify_email"], "notify_auto": values["notify_auto"]}

    def check(self, session, values, record_id):
        problems = {}
        if values["notify_sms"] and not values["phone"]:
            problems["notify_sms"] = "Tokens by SMS need the customer's phone number."
        if values["notify_email"] and not values["email"]:
            problems["notify_email"] = "Tokens by e-mail need the customer's e-mail address."
        if values["notify_auto"] and not (values["notify_sms"] or values["notify_email"]):
            problems["notify_auto"] = "Sending every token needs SMS or e-mail delivery agreed."
        if problems:
            first = next(iter(problems))
            raise ValidationError(problems[first], field=first, errors=problems)

    def search_plan(self, text):
        key = fold(text)
        return SearchPlan((
            # Name prefix alone first: the name index serves both the range and the order.
            ("prefix", prefix_match(Customer.name_key, key)),
            ("prefix", or_(prefix_match(Customer.code_key, key), prefix_match(Customer.phone_key, phone_key(text)))),
            ("contains", or_(contains_match(Customer.name_key, key), contains_match(Customer.address, text),
                             contains_match(Customer.email, text), *self._national_phone(text))),
        ))

    @staticmethod
    def _national_phone(text: str) -> list:
        """Phones are stored in E.164; a cashier types them as dialled at home (0802 555...): the digits
        after the trunk 0 are found inside the stored number."""
        digits = phone_key(text).lstrip("+").lstrip("0")
        return [contains_match(Customer.phone_key, digits)] if len(digits) >= 4 and digits.isdigit() else []

    def suggest(self, session):
        return {"code": next_free_code(session, self, "C000001")}

    def describe(self, values):
        return f"customer {values.get('code', '')} {values.get('name', '')}".rstrip()

    def delete_refusal(self, session: Session, record_id: int) -> str | None:
        if session.scalar(select(exists().where(Account.customer_id == record_id))):
            return "it has accounts; close them instead."
        if session.scalar(select(exists().where(Vend.customer_id == record_id))):
            return "it has sales."
        return None


LIBRARY = register(Customers())
