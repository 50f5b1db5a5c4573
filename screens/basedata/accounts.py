"""Account Library: Enter opens the account's unified view; e edits."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from screens.base import StronScreen
from screens.calls import call_service
from screens.basedata.library import ImportScreen, LibraryScreen
from stron_tui.errors import StronError
from stron_tui.domain.text import printable
from stron_tui.domain.tokens import grouped
from stron_tui.money import money_text
from widgets.words import code_words


class AccountLibraryScreen(LibraryScreen):
    LIBRARY = "accounts"
    BINDINGS = [Binding("u", "import_debt", "Import debt", show=False, id="accounts.import-debt")]

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "import_debt":  # the service checks again; the key is only offered to who may use it
            actor = self.app.actor
            return actor is not None and actor.can("basedata.import") and actor.can("basedata.accounts.debt")
        return True

    def action_import_debt(self) -> None:
        self.app.push_screen(DebtImportScreen(), lambda changed: changed and self.table.reload())

    def search_hint(self) -> str:
        return "Search account number, meter number or customer name"

    def open_row(self, record_id: int) -> None:
        self.app.push_screen(AccountViewScreen(record_id), lambda edit: edit and self.edit(record_id))


class DebtImportScreen(ImportScreen):
    """Accounts' debt balances from an .xlsx (Account number, Debt balance, Reason): all or nothing."""

    BINDINGS = [Binding("ctrl+t", "template", "Template", id="accounts.debt-template")]

    def __init__(self):
        from stron_tui.services.debt import DEBT_SHEET

        super().__init__(DEBT_SHEET)
        self.TITLE_TEXT = "Account Library: import debt balances"

    def template_hint(self) -> str:
        return "Ctrl+T; each row sets an account's debt balance, its reason kept and audited"

    def action_template(self) -> None:
        self._write_template()

    @work(thread=True, exclusive=True, group="template")
    def _write_template(self) -> None:
        from stron_tui.exports.files import export_path
        from stron_tui.services.debt import write_debt_template

        try:
            path = export_path(self.app.ctx.settings, "debt-template", "xlsx", user_id=self.app.actor.user_id)
            write_debt_template(path)
        except (StronError, OSError) as error:
            self.app.call_from_thread(self.query_one("#import-result", Static).update,
                                      f"Cannot write the template: {error}")
            return
        self.app.call_from_thread(self.query_one("#import-result", Static).update,
                                  f"Template written to {self.app.where_saved([path])}")

    def import_file(self, ctx, actor, path, *, progress):
        from stron_tui.services.debt import import_balances

        return import_balances(ctx, actor, path, progress=progress)


class AccountViewScreen(StronScreen):
    """Customer, meter and key data, tariff and recent tokens of one account."""

    TITLE_TEXT = "Account"
    MESSAGE_ID = "account-body"  # a failure to load is said where the account would be
    BINDINGS = [Binding("escape", "back", "Back", id="back"), Binding("e", "edit", "Edit", id="accounts.edit"),
                Binding("b", "debt", "Debt", id="accounts.view-debt")]
    DEFAULT_CSS = """
    AccountViewScreen #account-scroll { height: 1fr; }
    AccountViewScreen #account-body { padding: 0 2; }
    """

    def __init__(self, account_id: int):
        super().__init__()
        self.account_id = account_id

    def compose_body(self) -> ComposeResult:
        # Ten recent sales and tokens pass 24 rows: Up/Down and PgUp/PgDn scroll to them.
        with VerticalScroll(id="account-scroll"):
            yield Static("Loading...", id="account-body", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#account-scroll").focus()
        self._load()

    def action_back(self) -> None:
        self.dismiss(False)

    def action_edit(self) -> None:
        self.dismiss(True)

    def action_debt(self) -> None:
        from screens.basedata.account_debt import AccountDebtScreen

        self.app.push_screen(AccountDebtScreen(self.account_id), lambda _: self._load())

    def _load(self) -> None:
        from stron_tui.services.accounts import account_view

        call_service(self, account_view, self.account_id, on_success=self._show)

    def _show(self, view) -> None:
        self.say(printable(self.render_view(view), keep_newlines=True))

    @staticmethod
    def _revenue_lines(r: dict, t: dict) -> list[str]:
        if not r:
            return []
        limit = r["recovery_month_limit"]
        return [
            f"Debt     {r['debt']:.2f} {t['currency']}   recovery {r['recovery_percent']:f} % + "
            f"{r['recovery_fixed']:.2f} a purchase" + (f", at most {limit:.2f} a month" if limit is not None else "")
            + (f", leaves {r['recovery_min_energy']:.2f}" if r["recovery_min_energy"] else ""),
            f"Month    {r['month']}: {r['month_units']} {t['unit']} bought, {r['month_money']:.2f} paid, "
            f"{r['debt_recovered_this_month']:.2f} debt recovered; fixed charge paid through "
            f"{r['fixed_charge_paid_through'] or '-'}",
            f"Free     {r['free_units']} {t['unit']} a month"
            + (" (issued this month)" if r["free_units_issued_this_month"] else "") if r["free_units"]
            else "Free     not registered for free units",
        ]

    def render_view(self, view) -> str:
        zone = self.app.ctx.settings.zone
        from stron_tui.domain.clock import local_text

        c, m, t = view.customer, view.meter, view.tariff
        lines = [
            f"Account {view.account_number}   status: {view.status}   opened {local_text(view.opened_at, zone)}"
            + (f"   closed {local_text(view.closed_at, zone)}" if view.closed_at else ""),
            f"Station  {view.station['code']} {view.station['name']}",
            "",
            f"Customer {c['code']}  {c['name']}",
            f"         {c['address']}  {c['phone']}  {c['email']}",
            "",
            f"Meter    {m['meter_number']}  {m['meter_type']}  {m['utility']}  status {m['status']}",
            f"Key data SGC {m['sgc']}  TI {m['ti']}  KRN {m['krn']}  KT {m['kt']}  EA{m['ea']}  DKGA{m['dkga']}  "
            f"base {m['base_date']}  KEN {m['ken']}" + ("   (key change pending)" if m["key_change_pending"] else ""),
            "",
            f"Tariff   {t['name']}  {t['price_per_unit'].normalize():f} {t['currency']}/{t['unit']}  "
            f"VAT {(t['vat_rate'] * 100).normalize():f} %" + ("" if t["active"] else "  (retired)"),
            *self._revenue_lines(view.revenue, t),
            "",
            f"Recent sales ({view.vend_count} in all):",
        ]
        # Each sale and token on two lines: with its token on one line they would pass 76 columns and wrap.
        for v in view.vends:
            lines += [f"  {local_text(v.created_at, zone)}  {v.receipt_number}  {money_text(v.amount, v.currency)}  "
                      f"{v.units} {t['unit']}" + (f"  REVERSED {v.reversal_number}" if v.reversal_number else ""),
                      f"      token {grouped(v.token)}"]
        if not view.vends:
            lines.append("  none")
        lines += ["", "Recent management tokens:"]
        for k in view.tokens:
            lines += [f"  {local_text(k.created_at, zone)}  {code_words(k.kind)}  {k.reason}",
                      f"      token {grouped(k.token)}"]
        if not view.tokens:
            lines.append("  none")
        return "\n".join(lines)
