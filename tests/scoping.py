"""Two sales stations, two cashiers and two partners, each with real sales and management tokens.

Used by the data scoping tests at the service and at the HTTP door:

    meter m1 (account at S1): Admin sells (receipt s1_sale) and issues a clear credit (s1_credit);
                              partner A sells (a_sale) and issues a clear credit (a_credit).
    meter m2 (account at S2): Admin sells (s2_sale).
    cashier1 at S1, cashier2 at S2: role "Station Clerk" (no all-stations right).
    partner A and partner B at S1: role "Partner" (no all-stations right).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from stron_tui.db.models import Account, SalesStation, User
from stron_tui.services import api_accounts, auth, management, roles, users, vending
from stron_tui.domain.clock import utcnow
from stron_tui.services.management import ManagementRequest
from stron_tui.domain.receipt import Receipt
from stron_tui.domain.text import fold
from tests.factories import add_meter, build_world

ADMIN_PAYMENT_PASSWORD = "AdminPass1"  # the admin fixture's password, also its payment password
CLERK_RIGHTS = {"topup.vend", "topup.reprint", "reports.view", "exceptions.records", "basedata.view"}
PARTNER_RIGHTS = CLERK_RIGHTS | {"exceptions.clear_credit", "exceptions.clear_tamper"}


@dataclass
class Scoped:
    world: object
    m1: str
    m2: str
    s2_id: int
    cashier1: object
    cashier2: object
    key_a: str
    key_b: str
    partner_a: object
    partner_b: object
    s1_sale: Receipt
    s2_sale: Receipt
    s1_credit: Receipt
    a_sale: Receipt
    a_credit: Receipt

    def secrets_of_s1(self) -> list[str]:
        """Token digits only S1 (and Admin) may see."""
        return [self.s1_sale.token, self.s1_credit.token, self.a_sale.token, self.a_credit.token]

    def secrets_of_a(self) -> list[str]:
        return [self.a_sale.token, self.a_credit.token]


def operator(ctx, admin, user_code: str, role: str, station_id: int | None):
    users.create_user(ctx, admin, user_code=user_code, role=role, station_id=station_id)
    with ctx.db.session() as session:
        first = auth.actor_for(session, session.scalar(select(User).where(User.user_key == fold(user_code))), "tui")
    # Past the first login's forced change of both passwords.
    auth.replace_temporary_passwords(ctx, first, "123456", new_login=f"{user_code}-Pass1", new_payment=f"{user_code}-Pay1")
    with ctx.db.session() as session:
        user = session.scalar(select(User).where(User.user_key == fold(user_code)))
        return auth.actor_for(session, user, "tui")


def build_scoped(ctx, admin) -> Scoped:
    world = build_world(ctx)
    now = utcnow()
    with ctx.db.session() as session:
        station = SalesStation(code="S2", code_key="s2", name="Harbour", name_key="harbour",
                               district_id=world.district_id, receipt_width=40, created_at=now, updated_at=now)
        session.add(station)
        session.flush()
        s2_id = station.id
    m1 = add_meter(world, "4800000001")
    m2 = add_meter(world, "4800000002")
    with ctx.db.session() as session:
        session.execute(update(Account).where(Account.account_number == world.accounts[m2]).values(station_id=s2_id))

    roles.create_role(ctx, admin, name="Station Clerk", permissions=CLERK_RIGHTS)
    roles.create_role(ctx, admin, name="Partner", permissions=PARTNER_RIGHTS)
    cashier1 = operator(ctx, admin, "clerk1", "Station Clerk", world.station_id)
    cashier2 = operator(ctx, admin, "clerk2", "Station Clerk", s2_id)
    key_a = api_accounts.create_account(ctx, admin, name="Partner A", role="Partner",
                                        station_code=world.station_code).api_key
    key_b = api_accounts.create_account(ctx, admin, name="Partner B", role="Partner",
                                        station_code=world.station_code).api_key
    partner_a = api_accounts.authenticate(ctx, key_a)
    partner_b = api_accounts.authenticate(ctx, key_b)

    def sell(actor, meter, amount):
        request = vending.VendRequest(meter, "amount", amount, request_id=vending.new_request_id())
        password = None if actor.api_account_id else ADMIN_PAYMENT_PASSWORD
        return vending.vend(ctx, actor, request, payment_password=password)

    def clear_credit(actor, meter, reason):
        password = None if actor.api_account_id else ADMIN_PAYMENT_PASSWORD
        return management.issue(ctx, actor, ManagementRequest(meter, "clear_credit", vending.new_request_id(),
                                                              reason), payment_password=password)

    return Scoped(
        world, m1, m2, s2_id, cashier1, cashier2, key_a, key_b, partner_a, partner_b,
        s1_sale=sell(admin, m1, "10.00"), s2_sale=sell(admin, m2, "12.00"),
        s1_credit=clear_credit(admin, m1, "tenant moved out"),
        a_sale=sell(partner_a, m1, "14.00"), a_credit=clear_credit(partner_a, m1, "partner: new tenant"),
    )
