"""Tokens to the customer: SMS and e-mail through an outbox, delivered with retries.

Sending never holds up a sale. A message is a row in `message_outbox`, written in the token's own
transaction (vending.issue_token calls `queue_for_token` just before commit) or by a reprint; a sender
(`stron-tui send-messages`, or the loop inside `serve-api`) delivers due rows:

* each row is claimed by moving its next attempt forward (a lease) in one UPDATE that only one sender can
  win, so two senders never deliver the same row; a sender that dies mid-send leaves the row to be
  retried when the lease ends;
* a refusal by the gateway or mail server (4xx, a rejected recipient) fails the row with the reason; a
  server that is down, errs (5xx) or hangs past the timeout is retried after 30 s, 60 s, 120 s ... (at
  most an hour apart) until `message_max_attempts`, then failed with the last reason;
* `dedupe_key` (one per token and channel; per reprint request) makes a message exist once.

Customers consent per channel (`notify_sms` with an E.164 phone, `notify_email` with a valid address);
`notify_auto` sends every token unasked; otherwise a cashier (the receipt screen) or a partner (the API
vend's `send_token`) asks for it. The text is the utility's template (settings `message_template`).
"""

from __future__ import annotations

import json
import re
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from urllib.parse import quote_plus

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from stron_tui.db.models import Customer, OutboxMessage
from stron_tui.errors import ValidationError
from stron_tui.domain.clock import utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.domain.receipt import Receipt
from stron_tui.domain.text import printable
from stron_tui.domain.tokens import grouped

LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=1)
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def render(template: str, values: dict[str, str]) -> str:
    """The template with {name} filled in from `values`; an unknown {name} stays as written (a template is
    text the utility edits, never code: no attribute look-ups, no format specs)."""
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), template)


def message_values(ctx: AppContext, receipt: Receipt) -> dict[str, str]:
    tokens = [*receipt.key_change_tokens, receipt.token] if receipt.token else list(receipt.key_change_tokens)
    return {
        "utility": ctx.settings.utility_name, "token": " / ".join(grouped(token) for token in tokens if token),
        "meter": receipt.meter_number, "units": "" if receipt.units is None else str(receipt.units),
        "unit": receipt.unit, "amount": "" if receipt.paid_amount is None else str(receipt.paid_amount),
        "currency": receipt.paid_currency or receipt.currency, "receipt": receipt.receipt_number,
        "customer": receipt.customer_name, "kind": receipt.title,
    }


@dataclass(frozen=True)
class Recipient:
    customer_id: int
    phone: str
    email: str
    notify_sms: bool
    notify_email: bool
    notify_auto: bool

    def channels(self) -> list[tuple[str, str]]:
        found = []
        if self.notify_sms and self.phone:
            found.append(("sms", self.phone))
        if self.notify_email and self.email:
            found.append(("email", self.email))
        return found


def _recipient(session: Session, customer_id: int | None) -> Recipient | None:
    if customer_id is None:
        return None
    row = session.execute(select(Customer.id, Customer.phone, Customer.email, Customer.notify_sms,
                                 Customer.notify_email, Customer.notify_auto)
                          .where(Customer.id == customer_id)).first()
    return Recipient(*row) if row else None


def _rows(ctx: AppContext, recipient: Recipient, receipt: Receipt, key: str, now: datetime) -> list[dict]:
    values = message_values(ctx, receipt)
    template = ctx.settings.message_template if receipt.kind == "vend" else ctx.settings.message_management_template
    body = render(template, values)[:2000]
    subject = render(ctx.settings.message_subject, values)[:200]
    return [dict(created_at=now, channel=channel, recipient=address, subject=subject if channel == "email" else "",
                 body=body, customer_id=recipient.customer_id, receipt_number=receipt.receipt_number,
                 dedupe_key=f"{key}:{channel}"[:100], status="queued", attempts=0, next_attempt_at=now,
                 last_error="")
            for channel, address in recipient.channels()]


def queue_for_token(ctx: AppContext, session: Session, recipient: Recipient | None, receipt: Receipt, *,
                    requested: bool) -> int:
    """In the token's transaction: queue it for the customer's consented channels when the customer wants
    every token (`notify_auto`) or someone asked (`requested`). Returns the messages queued.

    `recipient` is the customer as the token's own read of its facts found them (None: no customer), so a
    token to a customer who wants no message costs no statement here.
    """
    if recipient is None or not (requested or recipient.notify_auto):
        return 0
    rows = _rows(ctx, recipient, receipt, f"{receipt.kind}:{receipt.receipt_number}", utcnow())
    if rows:
        session.connection().execute(insert(OutboxMessage.__table__), rows)
    return len(rows)


def send_receipt(ctx: AppContext, actor: Actor, receipt_number: str) -> int:
    """Queue a past token (a reprint) for its customer, on the cashier's or partner's request. Refused
    with a clear reason when the customer has no consented channel. Returns the messages queued."""
    from stron_tui.services import receipts

    actor.require("topup.reprint")
    with ctx.db.session() as session:
        receipt = receipts.find_receipt(ctx, session, actor, receipt_number)
        customer_id = session.scalar(select(Customer.id).where(Customer.code == receipt.customer_code)) \
            if receipt.customer_code else None
        recipient = _recipient(session, customer_id)
        if recipient is None or not recipient.channels():
            raise ValidationError(f"Customer {receipt.customer_code or '(none)'} has not agreed to SMS or e-mail "
                                  "delivery (Customer Library: phone or e-mail, and the consent).", field="customer")
        rows = _rows(ctx, recipient, receipt, f"reprint:{receipt.receipt_number}:{uuid.uuid4().hex[:12]}", utcnow())
        session.connection().execute(insert(OutboxMessage.__table__), rows)
        return len(rows)


# ---------------------------------------------------------------- delivery


class Refused(Exception):
    """The gateway or mail server refused the message: retrying will not help."""


class Unavailable(Exception):
    """The gateway or mail server could not be reached, erred or hung: retry later."""


def _send_email(ctx: AppContext, recipient: str, subject: str, body: str) -> None:
    settings = ctx.settings
    if not settings.smtp_host:
        raise Unavailable("no SMTP server is configured (smtp_host)")
    message = EmailMessage()
    message["From"] = settings.smtp_from or settings.smtp_username or f"tokens@{settings.smtp_host}"
    message["To"] = recipient
    message["Subject"] = subject
    message.set_content(body)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.message_timeout_seconds) as smtp:
            smtp.ehlo()
            if settings.smtp_starttls:
                if not smtp.has_extn("starttls"):
                    raise Unavailable("the SMTP server offers no STARTTLS (smtp_starttls is on)")
                smtp.starttls(context=ssl.create_default_context(cafile=settings.smtp_ca_file or None))
                smtp.ehlo()
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        raise Refused(f"the mail server refused {recipient}: {_smtp_reason(error.recipients)}") from None
    except smtplib.SMTPAuthenticationError as error:
        raise Unavailable(f"the mail server refused the login: {error.smtp_code}") from None
    except smtplib.SMTPResponseException as error:
        text = f"the mail server answered {error.smtp_code} {error.smtp_error.decode(errors='replace')[:120]}"
        raise (Refused(text) if 500 <= error.smtp_code < 600 else Unavailable(text)) from None
    except (OSError, smtplib.SMTPException) as error:
        raise Unavailable(f"the mail server could not be reached: {type(error).__name__} {error}") from None


def _smtp_reason(recipients: dict) -> str:
    for code, text in recipients.values():
        return f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"[:160]
    return "refused"


def _gateway_body(ctx: AppContext, phone: str, text: str) -> str:
    kind = ctx.settings.sms_gateway_content_type.lower()
    if "json" in kind:
        escape = lambda value: json.dumps(value)[1:-1]  # noqa: E731 - inside a JSON string literal
    elif "x-www-form-urlencoded" in kind:
        escape = quote_plus
    else:
        escape = str
    return render(ctx.settings.sms_gateway_body, {"phone": escape(phone), "text": escape(text)})


def _send_sms(ctx: AppContext, phone: str, text: str) -> None:
    import httpx

    settings = ctx.settings
    if not settings.sms_gateway_url:
        raise Unavailable("no SMS gateway is configured (sms_gateway_url)")
    headers = {"Content-Type": settings.sms_gateway_content_type}
    if settings.sms_gateway_authorization:
        headers["Authorization"] = settings.sms_gateway_authorization.get_secret_value()
    try:
        response = httpx.post(settings.sms_gateway_url, content=_gateway_body(ctx, phone, text).encode(),
                              headers=headers, timeout=settings.message_timeout_seconds)
    except httpx.TimeoutException:
        raise Unavailable(f"the SMS gateway did not answer within {settings.message_timeout_seconds} s") from None
    except httpx.HTTPError as error:
        raise Unavailable(f"the SMS gateway could not be reached: {type(error).__name__}") from None
    if 200 <= response.status_code < 300:
        return
    reason = f"the SMS gateway answered {response.status_code}: {printable(response.text)[:160]}"
    if response.status_code in (408, 429) or response.status_code >= 500:
        raise Unavailable(reason)
    raise Refused(reason)


def _backoff(ctx: AppContext, attempts: int) -> timedelta:
    return min(timedelta(seconds=ctx.settings.message_retry_seconds) * (2 ** max(0, attempts - 1)), MAX_BACKOFF)


@dataclass(frozen=True)
class DeliveryRun:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def deliver_due(ctx: AppContext, *, now: datetime | None = None, limit: int = 100) -> DeliveryRun:
    """Deliver the queued messages whose time has come; returns what happened to them."""
    now = now or utcnow()
    table = OutboxMessage.__table__
    with ctx.db.read_session() as session:
        due = session.execute(select(OutboxMessage.id).where(OutboxMessage.status == "queued",
                                                             OutboxMessage.next_attempt_at <= now)
                              .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)).scalars().all()
    sent = retrying = failed = 0
    for message_id in due:
        with ctx.db.session() as session:
            claimed = session.execute(
                update(table).where(table.c.id == message_id, table.c.status == "queued",
                                    table.c.next_attempt_at <= now)
                .values(next_attempt_at=now + LEASE, attempts=table.c.attempts + 1))
            if claimed.rowcount != 1:
                continue  # another sender has it
            row = session.get(OutboxMessage, message_id)
            channel, recipient, subject, body, attempts = row.channel, row.recipient, row.subject, row.body, \
                row.attempts
        try:
            if channel == "email":
                _send_email(ctx, recipient, subject, body)
            else:
                _send_sms(ctx, recipient, body)
            outcome = {"status": "sent", "sent_at": utcnow(), "last_error": ""}
            sent += 1
        except Refused as error:
            outcome = {"status": "failed", "last_error": str(error)[:400]}
            failed += 1
        except Unavailable as error:
            if attempts >= ctx.settings.message_max_attempts:
                outcome = {"status": "failed", "last_error": f"gave up after {attempts} attempts: {error}"[:400]}
                failed += 1
            else:
                outcome = {"last_error": str(error)[:400], "next_attempt_at": utcnow() + _backoff(ctx, attempts)}
                retrying += 1
        with ctx.db.session() as session:
            session.execute(update(table).where(table.c.id == message_id).values(**outcome))
    return DeliveryRun(sent, retrying, failed)


def run_sender(ctx: AppContext, stop, *, interval: float = 5.0) -> None:
    """Deliver due messages every `interval` seconds until `stop` (a threading.Event) is set. Errors of one
    round (a database restart) are logged and the next round goes on."""
    import logging

    log = logging.getLogger("stron_tui.messages")
    while not stop.is_set():
        try:
            deliver_due(ctx)
        except Exception as error:  # noqa: BLE001 - the loop must outlive one bad round
            log.error("message delivery round failed: %s", type(error).__name__)
        stop.wait(interval)
