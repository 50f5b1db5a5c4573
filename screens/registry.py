"""Every screen an operator can open: menus, function keys and the command palette read this.

`target` is "package.module:ScreenClass"; the class is imported only when the
screen is first opened, so start-up stays fast. A screen class takes no
arguments and reads `self.app.ctx` / `self.app.actor`. An entry without a
target opens a plain "not built yet" screen.
"""

from __future__ import annotations

from dataclasses import dataclass

from stron_tui.services.management_kinds import KINDS
from stron_tui.services.reports.registry import REPORTS


@dataclass(frozen=True)
class ScreenEntry:
    key: str
    module: str
    title: str
    description: str
    permission: str
    target: str | None = None


ENTRIES: tuple[ScreenEntry, ...] = (
    # Top-up Center
    ScreenEntry("topup.amount", "topup", "Top-up by Amount", "Sell credit for a sum of money", "topup.vend",
                "screens.topup.topup:TopUpScreen"),
    ScreenEntry("topup.units", "topup", "Top-up by Unit", "Sell a number of kWh or m3", "topup.vend",
                "screens.topup.topup:TopUpByUnitScreen"),
    ScreenEntry("topup.reprint", "topup", "Reprint Receipt", "Find a past receipt and print it again",
                "topup.reprint", "screens.topup.receipt:ReprintScreen"),
    ScreenEntry("topup.shift", "topup", "My Shift", "Open with a float; count the drawer and close",
                "topup.shift", "screens.topup.cash:ShiftScreen"),
    ScreenEntry("topup.reverse", "topup", "Reverse a Sale", "Reverse a sale made in error (supervisors)",
                "topup.reverse", "screens.topup.cash:ReversalScreen"),
    # Base Data
    ScreenEntry("basedata.meters", "basedata", "Meter Library", "Meters and their STS key data", "basedata.view",
                target="screens.basedata.meters:MeterLibraryScreen"),
    ScreenEntry("basedata.tariffs", "basedata", "Price Library", "Tariffs: price, VAT, excise, limits",
                "basedata.view",
                target="screens.basedata.library:TariffLibraryScreen"),
    ScreenEntry("basedata.customers", "basedata", "Customer Library", "Customers and their contact details",
                "basedata.view",
                target="screens.basedata.library:CustomerLibraryScreen"),
    ScreenEntry("basedata.districts", "basedata", "District Library", "Regions that group meters and customers",
                "basedata.view",
                target="screens.basedata.library:DistrictLibraryScreen"),
    ScreenEntry("basedata.stations", "basedata", "Sales Station Library", "Sales outlets and their districts",
                "basedata.view",
                target="screens.basedata.library:StationLibraryScreen"),
    ScreenEntry("basedata.accounts", "basedata", "Account Library", "Customer + meter + station + tariff",
                "basedata.view",
                target="screens.basedata.accounts:AccountLibraryScreen"),
    ScreenEntry("basedata.keys", "basedata", "Supply Groups", "Vending keys the system holds (never shown)",
                "basedata.keys.edit",
                target="screens.basedata.supply_groups:SupplyGroupScreen"),
    # Exception Handling: each management token kind, then its records when it keeps them
    *(entry for kind in KINDS.values() for entry in (
        ScreenEntry(kind.permission, "exceptions", kind.title, kind.description, kind.permission,
                    target=f"screens.exceptions.issue:{kind.kind}"),
        *((ScreenEntry(kind.record_key, "exceptions", kind.record_title, kind.record_description,
                       "exceptions.records", target=f"screens.exceptions.records:{kind.kind}"),)
          if kind.has_records else ()),
    )),
    # Reports: one entry per report in the service's registry, in its order
    *(ScreenEntry(f"reports.{report.key}", "reports", report.title, report.description, "reports.view",
                  target=f"screens.reports.screens:{report.key}") for report in REPORTS.values()),
    ScreenEntry("reports.shifts", "reports", "Shift Sign-off", "Shifts to sign off, and those open too long",
                "reports.shift_sign_off", target="screens.topup.cash:ShiftSignOffScreen"),
    ScreenEntry("reports.vendor_statement", "reports", "Vendor Statement",
                "A float's deposits, sales and commission", "reports.vendor_statements",
                target="screens.reports.vendor:VendorStatementScreen"),
    # System Management
    ScreenEntry("system.password", "system", "Change Password", "Your login or payment password", "",
                target="screens.system.password:ChangePasswordScreen"),
    ScreenEntry("system.users", "system", "User Management", "Sub-accounts, unlock, reset password",
                "system.users", target="screens.system.users:UserListScreen"),
    ScreenEntry("system.roles", "system", "Role Management", "Roles and their permissions", "system.roles",
                target="screens.system.roles:RoleListScreen"),
    ScreenEntry("system.api_accounts", "system", "API Accounts", "Partner keys for the HTTP API",
                "system.api_accounts", target="screens.system.api_accounts:ApiAccountsScreen"),
    ScreenEntry("system.audit", "system", "Audit Log", "Who did what, when and from where", "system.audit",
                target="screens.system.audit:AuditLogScreen"),
    ScreenEntry("system.settings", "system", "Currencies and Payment Types",
                "Currencies, exchange rates and payment types", "system.settings",
                target="screens.system.settings:MoneySettingsScreen"),
    ScreenEntry("system.vendor_floats", "system", "Vendor Floats",
                "Floats: set-up, deposits, adjustments", "system.vendor_floats",
                target="screens.system.floats:VendorFloatScreen"),
    ScreenEntry("system.ssh_keys", "system", "SSH Keys", "Keys users log in with at remote stations",
                "system.users", target="screens.system.public_keys:PublicKeysScreen"),
)

ENTRIES_BY_KEY = {entry.key: entry for entry in ENTRIES}


def entries_for(module: str, actor) -> list[ScreenEntry]:
    return [entry for entry in ENTRIES if entry.module == module and allowed(entry, actor)]


def allowed(entry: ScreenEntry, actor) -> bool:
    return actor is not None and (not entry.permission or actor.can(entry.permission))
