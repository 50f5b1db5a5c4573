"""Account Library: one account's debt: balance, recovery rule, free units, every movement; and a supervisor's
add, adjust or write-off (a reason and the payment password, audited; services/debt.py).
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Static

from screens.base import StronScreen
from stron_tui.errors import StronError
from stron_tui.domain.text import printable
from widgets.cells import plain_cells
from widgets.fields import LabeledField, TextInput

# What F7 steps through, the word the service takes, and the amount field's label.
KINDS = (("added", "Add debt", "Debt to add"), ("adjusted", "Adjust debt", "New balance"),
         ("written_off", "Write off", "Amount to write off"))


def position_text(view) -> str:
    """Balance, recovery rule, this month and free units: what a supervisor reads before changing the debt."""
    r, t = view.revenue, view.tariff
    limit = r["recovery_month_limit"]
    rule = (f"{r['recovery_percent']:f} % of each payment + {r['recovery_fixed']:.2f} a purchase"
            + (f", at most {limit:.2f} a month" if limit is not None else "")
            + (f", leaving {r['recovery_min_energy']:.2f} for energy" if r["recovery_min_energy"] else ""))
    free = (f"{r['free_units']} {t['unit']} a month" + (" (issued this month)" if r["free_units_issued_this_month"]
                                                         else "")) if r["free_units"] else "not registered"
    return "\n".join([
        f"Debt {r['debt']:,.2f} {t['currency']}   recovered in {r['month']}: {r['debt_recovered_this_month']:,.2f}",
        f"Recovery: {rule}",
        f"Free units: {free}   (the rule and free units: e on the account)",
    ])


class AccountDebtScreen(StronScreen):
    TITLE_TEXT = "Account debt"
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("f7", "switch", "Add/Adjust/Write off", id="accounts.debt-kind"),
    ]
    DEFAULT_CSS = """
    AccountDebtScreen #debt-position { height: auto; padding: 0 1; }
    AccountDebtScreen #debt-history { height: 1fr; }
    AccountDebtScreen #debt-form { height: auto; }
    AccountDebtScreen #debt-form LabeledField { width: 1fr; margin: 0 1 0 0; }
    AccountDebtScreen #field-amount { max-width: 22; }
    AccountDebtScreen #field-pin { max-width: 22; }
    AccountDebtScreen #debt-message { height: auto; padding: 0 1; color: $warning; }
    """

    def __init__(self, account_id: int):
        super().__init__()
        self.account_id = account_id
        self.account_number = ""
        self.kind = 0

    def compose_body(self) -> ComposeResult:
        yield Static("Loading...", id="debt-position", markup=False)
        table = DataTable(id="debt-history", cursor_type="row")
        table.add_columns("When", "What", "Change", "Balance", "Reason / receipt")
        yield table
        with Horizontal(id="debt-form"):
            yield LabeledField(KINDS[0][2], TextInput(id="amount", max_length=20), id="field-amount")
            yield LabeledField("Reason", TextInput(id="reason", max_length=200), id="field-reason")
            yield LabeledField("Payment password", TextInput(id="pin", password=True, max_length=200),
                               id="field-pin")
        yield Static("", id="debt-message", markup=False)

    def may_change(self) -> bool:
        from stron_tui.services.debt import PERMISSION

        return self.app.actor is not None and self.app.actor.can(PERMISSION)

    def on_mount(self) -> None:
        super().on_mount()
        if self.may_change():
            self.query_one("#amount", Input).focus()
            self._say(f"{KINDS[self.kind][1]} (F7 switches): amount, reason, payment password; Enter records.")
        else:
            self.query_one("#debt-form").display = False
            self.query_one("#debt-history", DataTable).focus()
            self._say("Changing debt needs the debt right (basedata.accounts.debt).")
        self._load()

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "switch":
            return self.may_change()
        return True

    def _say(self, text: str) -> None:
        self.query_one("#debt-message", Static).update(text)

    @work(thread=True, exclusive=True, group="debt-load")
    def _load(self) -> None:
        from stron_tui.services import debt
        from stron_tui.services.accounts import account_view

        ctx, actor = self.app.ctx, self.app.actor
        try:
            view = account_view(ctx, actor, self.account_id)
            history = debt.debt_history(ctx, actor, view.account_number)
        except StronError as error:
            self.app.call_from_thread(self.query_one("#debt-position", Static).update, str(error))
            return
        self.app.call_from_thread(self._show, view, history)

    def _show(self, view, history) -> None:
        from stron_tui.domain.clock import local_text

        self.account_number = view.account_number
        self.query_one(".screen-title", Static).update(
            f"Debt of account {view.account_number}: {view.customer['name']}")
        self.query_one("#debt-position", Static).update(printable(position_text(view), keep_newlines=True))
        table = self.query_one("#debt-history", DataTable)
        table.clear()
        zone = self.app.ctx.settings.zone
        for move in history:
            table.add_row(*plain_cells(local_text(move.created_at, zone) if move.created_at else "",
                                       move.kind_text, f"{move.amount:+,.2f}", f"{move.balance_after:,.2f}",
                                       move.reason))
        if not history:
            table.add_row(*plain_cells("", "no movements yet", "", "", ""))

    def action_back(self) -> None:
        self.leave_asking(lambda: self.dismiss(None))

    def action_switch(self) -> None:
        self.kind = (self.kind + 1) % len(KINDS)
        _, title, label = KINDS[self.kind]
        self.query_one("#field-amount").query_one("Label").update(label)
        self._say(f"{title} (F7 switches): amount, reason, payment password; Enter records.")
        self.query_one("#amount", Input).focus()

    @on(Input.Submitted, "#amount")
    def _to_reason(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted, "#reason")
    def _to_pin(self) -> None:
        self.query_one("#pin", Input).focus()

    @on(Input.Submitted, "#pin")
    def _record(self, event: Input.Submitted) -> None:
        if not self.account_number:
            return
        amount, reason = self.query_one("#amount", Input).value, self.query_one("#reason", Input).value
        self._change(KINDS[self.kind][0], amount, reason, event.value)

    @work(thread=True, exclusive=True, group="debt-change")
    def _change(self, kind: str, amount: str, reason: str, password: str) -> None:
        from stron_tui.services import debt

        try:
            moved = debt.change_debt(self.app.ctx, self.app.actor, self.account_number, kind, amount, reason,
                                     payment_password=password)
        except StronError as error:
            self.app.call_from_thread(self._refused, error)
            return
        self.app.call_from_thread(self._changed, moved)

    def _refused(self, error: StronError) -> None:
        self.query_one("#pin", Input).value = ""
        field = getattr(error, "field", None)
        if field in ("amount", "reason"):
            self.query_one(f"#field-{field}", LabeledField).show_error(str(error))
            self.query_one(f"#{field}", Input).focus()
            self._say("Nothing was changed; correct the marked field.")
        else:
            self.query_one("#field-pin", LabeledField).show_error(str(error))
            self._say("Nothing was changed.")

    def _changed(self, moved) -> None:
        for selector in ("#amount", "#reason", "#pin"):
            self.query_one(selector, Input).value = ""
        self._say(f"Debt {moved.amount:+,.2f}; balance now {moved.balance_after:,.2f}. Recorded with the reason, "
                  "audited.")
        self.query_one("#amount", Input).focus()
        self._load()
