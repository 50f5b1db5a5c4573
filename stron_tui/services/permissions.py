"""Named permissions per module action, and the acting operator that holds them.

Every service call takes an `Actor` and checks the permission it needs
itself, whatever the screen shows: the screens only hide what a service
would refuse anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stron_tui.errors import PermissionDenied


@dataclass(frozen=True)
class Module:
    key: str
    title: str
    function_key: str
    description: str


MODULES: tuple[Module, ...] = (
    Module("topup", "Top-up Center", "f2", "Sell credit by amount or units, reprint"),
    Module("basedata", "Base Data", "f3", "Meters, tariffs, customers, stations, accounts"),
    Module("exceptions", "Exception Handling", "f4", "Clear tamper, clear credit, other tokens"),
    Module("reports", "Reports", "f5", "Six audit reports and the cash-up"),
    Module("system", "System Management", "f6", "Users, roles, passwords, API accounts, audit trail"),
)
MODULES_BY_KEY = {module.key: module for module in MODULES}

# code -> what it allows, phrased to complete "may not ...".
PERMISSIONS: dict[str, str] = {
    "topup.vend": "sell credit",
    "topup.reprint": "reprint receipts",
    "topup.shift": "open and close their own shift",
    "topup.reverse": "reverse sales",
    "reports.shift_sign_off": "sign off shifts",
    "reports.vendor_statements": "view vendor float statements and partner settlements",
    "basedata.view": "view the Base Data libraries",
    "basedata.meters.edit": "add, edit or remove meters",
    "basedata.tariffs.edit": "add, edit or remove tariffs",
    "basedata.customers.edit": "add, edit or remove customers",
    "basedata.districts.edit": "add, edit or remove districts",
    "basedata.stations.edit": "add, edit or remove sales stations",
    "basedata.accounts.edit": "open, edit or close accounts",
    "basedata.accounts.debt": "add, adjust or write off customers' debt",
    "basedata.keys.edit": "manage supply groups and vending keys",
    "basedata.import": "import library data from Excel",
    "basedata.export": "export library data to Excel",
    "exceptions.clear_tamper": "issue clear tamper tokens",
    "exceptions.clear_credit": "issue clear credit tokens",
    "exceptions.power_limit": "issue maximum power limit tokens",
    "exceptions.phase_unbalance": "issue phase power unbalance limit tokens",
    "exceptions.key_change": "issue key change tokens",
    "exceptions.records": "view clear tamper and clear credit records",
    "reports.view": "view reports",
    "reports.export": "export reports",
    "reports.all_stations": "see every sales station's and partner's sales, receipts and tokens",
    "system.users": "manage users",
    "system.roles": "manage roles",
    "system.audit": "view the audit trail",
    "system.api_accounts": "manage API accounts",
    "system.settings": "manage currencies, exchange rates and payment types",
    "system.vendor_floats": "set up vendor floats and record deposits and adjustments",
}
ALL_PERMISSIONS = frozenset(PERMISSIONS)

ONLY_VENDING = frozenset({"topup.vend", "topup.reprint", "topup.shift"})


def module_of(permission: str) -> str:
    return permission.split(".", 1)[0]


def permissions_by_module() -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {module.key: [] for module in MODULES}
    for code in PERMISSIONS:
        grouped[module_of(code)].append(code)
    return grouped


@dataclass(frozen=True)
class Actor:
    """Who is acting, from where, with which permissions (fixed at login)."""

    user_id: int | None
    user_code: str
    permissions: frozenset[str]
    source: str = "tui"
    name: str = ""
    station_id: int | None = None
    api_account_id: int | None = None
    remote: str = ""
    builtin_admin: bool = False
    must_change_password: bool = False
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def can(self, permission: str) -> bool:
        return self.builtin_admin or permission in self.permissions

    def can_use_module(self, module_key: str) -> bool:
        return self.builtin_admin or any(module_of(code) == module_key for code in self.permissions)

    def require(self, permission: str) -> None:
        if permission not in PERMISSIONS:
            raise KeyError(f"unknown permission {permission}")
        if not self.can(permission):
            raise PermissionDenied(f"{self.user_code} may not {PERMISSIONS[permission]}.")

    def visible_modules(self) -> list[Module]:
        return [module for module in MODULES if self.can_use_module(module.key)]


SYSTEM_ACTOR = Actor(
    user_id=None, user_code="system", permissions=ALL_PERMISSIONS, source="cli", builtin_admin=True
)
