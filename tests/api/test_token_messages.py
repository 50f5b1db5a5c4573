"""Tokens to the customer: the outbox written with the sale, delivered to a real SMTP server and an HTTP
gateway on loopback, with retries; consent and the partner's "last three tokens"."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import func, select, update

from stron_tui.db.models import Customer, OutboxMessage, Vend
from stron_tui.errors import ValidationError
from stron_tui.services import libraries, messages
from stron_tui.domain.clock import utcnow

aiosmtpd = pytest.importorskip("aiosmtpd")
from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content.decode()))
        return "250 OK"


def _authenticator(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=(auth_data.login, auth_data.password) == (b"tokens", b"mail-secret"))


@pytest.fixture
def smtp_server():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), authenticator=_authenticator,
                            auth_require_tls=False)
    controller.start()
    yield controller, mailbox
    controller.stop()


class Gateway:
    """An SMS gateway on loopback: answers `status` (or sleeps `hang` seconds first) and records bodies."""

    def __init__(self, port: int):
        self.port = port
        self.status = 200
        self.hang = 0.0
        self.bodies: list[tuple[dict, bytes]] = []
        self.server = None

    def start(self):
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if gateway.hang:
                    time.sleep(gateway.hang)
                gateway.bodies.append((dict(self.headers), body))
                self.send_response(gateway.status)
                self.end_headers()
                self.wfile.write(b"invalid destination" if gateway.status == 400 else b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def gateway():
    made = Gateway(free_port())
    yield made
    made.stop()


def configure(ctx, **settings):
    ctx.settings = ctx.settings.with_overrides(**settings)


def consent(ctx, meter_serial: str, *, sms=False, email=False, auto=False, phone="+2348035550100"):
    with ctx.db.session() as session:
        session.execute(update(Customer).where(Customer.code == f"C{meter_serial}").values(
            phone=phone, email="ngozi@example.com", notify_sms=sms, notify_email=email, notify_auto=auto))


def vend(api, key, meter, **extra):
    response = httpx.post(f"{api.url}/api/v1/vends", timeout=30,
                          json={"meter_number": meter, "value": "10", **extra},
                          headers={"Authorization": f"Bearer {key}", "Idempotency-Key": f"sale-{time.time_ns()}"})
    assert response.status_code == 200, response.text
    return response.json()


def outbox(ctx) -> list[OutboxMessage]:
    with ctx.db.read_session() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def later(minutes: float = 10):
    return utcnow() + timedelta(minutes=minutes)


def test_an_email_goes_to_a_real_smtp_server_with_the_grouped_token(ctx, world, meter, api, admin_key, smtp_server):
    controller, mailbox = smtp_server
    configure(ctx, smtp_host="127.0.0.1", smtp_port=controller.port, smtp_starttls=False, smtp_username="tokens",
              smtp_password="mail-secret", smtp_from="tokens@utility.example")
    consent(ctx, "4700000001", email=True, auto=True)
    sold = vend(api, admin_key, meter)
    [queued] = outbox(ctx)
    assert (queued.status, queued.channel, queued.receipt_number) == ("queued", "email", sold["receipt_number"])
    assert messages.deliver_due(ctx) == messages.DeliveryRun(sent=1)
    [(recipients, text)] = mailbox.messages
    assert recipients == ["ngozi@example.com"]
    assert sold["token_grouped"] in text and sold["receipt_number"] in text and "50.0 kWh" in text
    assert outbox(ctx)[0].status == "sent"
    assert messages.deliver_due(ctx, now=later()) == messages.DeliveryRun()  # nothing goes twice
    assert len(mailbox.messages) == 1


def test_a_wrong_smtp_password_is_retried_not_lost(ctx, world, meter, api, admin_key, smtp_server):
    controller, mailbox = smtp_server
    configure(ctx, smtp_host="127.0.0.1", smtp_port=controller.port, smtp_starttls=False, smtp_username="tokens",
              smtp_password="wrong", message_timeout_seconds=2)
    consent(ctx, "4700000001", email=True, auto=True)
    vend(api, admin_key, meter)
    assert messages.deliver_due(ctx).retrying == 1
    row = outbox(ctx)[0]
    assert row.status == "queued" and row.last_error.startswith("the mail server") and not mailbox.messages


def test_starttls_with_a_verified_certificate_and_auth(ctx, world, meter, api, admin_key, tmp_path):
    import ssl
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(str(cert), str(key))
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), authenticator=_authenticator,
                            tls_context=server_tls, require_starttls=True)
    controller.start()
    try:
        configure(ctx, smtp_host="127.0.0.1", smtp_port=controller.port, smtp_starttls=True, smtp_ca_file=str(cert),
                  smtp_username="tokens", smtp_password="mail-secret")
        consent(ctx, "4700000001", email=True, auto=True)
        sold = vend(api, admin_key, meter)
        assert messages.deliver_due(ctx) == messages.DeliveryRun(sent=1)
        assert sold["token_grouped"] in mailbox.messages[0][1]
    finally:
        controller.stop()


def test_starttls_required_but_not_offered_is_not_sent_in_clear(ctx, world, meter, api, admin_key, smtp_server):
    controller, mailbox = smtp_server
    configure(ctx, smtp_host="127.0.0.1", smtp_port=controller.port, smtp_starttls=True)
    consent(ctx, "4700000001", email=True, auto=True)
    vend(api, admin_key, meter)
    assert messages.deliver_due(ctx).retrying == 1
    assert "STARTTLS" in outbox(ctx)[0].last_error and not mailbox.messages


def test_sms_through_the_gateway_down_then_up_is_delivered_once(ctx, world, meter, api, admin_key, gateway):
    configure(ctx, sms_gateway_url=f"http://127.0.0.1:{gateway.port}/send", sms_gateway_authorization="Bearer gw",
              message_template="{utility} token {token} meter {meter} receipt {receipt}")
    consent(ctx, "4700000001", sms=True, auto=True)
    sold = vend(api, admin_key, meter)
    assert messages.deliver_due(ctx) == messages.DeliveryRun(retrying=1)  # the gateway is down
    row = outbox(ctx)[0]
    assert row.status == "queued" and row.attempts == 1 and "could not be reached" in row.last_error
    assert messages.deliver_due(ctx) == messages.DeliveryRun()  # not due yet: backoff
    gateway.start()
    assert messages.deliver_due(ctx, now=later()) == messages.DeliveryRun(sent=1)
    assert messages.deliver_due(ctx, now=later(120)) == messages.DeliveryRun()
    [(headers, body)] = gateway.bodies
    sent = json.loads(body)
    assert sent["to"] == "+2348035550100" and sold["token_grouped"] in sent["message"]
    assert headers["Authorization"] == "Bearer gw"
    assert outbox(ctx)[0].status == "sent"


def test_a_refusing_gateway_fails_the_message_with_its_reason_and_the_sale_stands(ctx, world, meter, api,
                                                                                  admin_key, gateway):
    gateway.status = 400
    gateway.start()
    configure(ctx, sms_gateway_url=f"http://127.0.0.1:{gateway.port}/send")
    consent(ctx, "4700000001", sms=True, auto=True)
    sold = vend(api, admin_key, meter)
    assert messages.deliver_due(ctx) == messages.DeliveryRun(failed=1)
    row = outbox(ctx)[0]
    assert row.status == "failed" and "400" in row.last_error and "invalid destination" in row.last_error
    assert messages.deliver_due(ctx, now=later(120)) == messages.DeliveryRun()  # a refusal is not retried
    with ctx.db.read_session() as session:
        assert session.scalar(select(Vend.receipt_number)) == sold["receipt_number"]


def test_a_hanging_gateway_times_out_and_is_retried_then_given_up(ctx, world, meter, api, admin_key, gateway):
    gateway.hang = 3
    gateway.start()
    configure(ctx, sms_gateway_url=f"http://127.0.0.1:{gateway.port}/send", message_timeout_seconds=1,
              message_max_attempts=2)
    consent(ctx, "4700000001", sms=True, auto=True)
    vend(api, admin_key, meter)
    assert messages.deliver_due(ctx).retrying == 1
    assert "did not answer within 1 s" in outbox(ctx)[0].last_error
    assert messages.deliver_due(ctx, now=later()).failed == 1
    row = outbox(ctx)[0]
    assert row.status == "failed" and "gave up after 2 attempts" in row.last_error


def test_without_auto_only_the_flag_or_a_reprint_sends(ctx, world, meter, api, admin_key):
    consent(ctx, "4700000001", sms=True)
    vend(api, admin_key, meter)
    assert outbox(ctx) == []
    sold = vend(api, admin_key, meter, send_token=True)
    assert [row.receipt_number for row in outbox(ctx)] == [sold["receipt_number"]]
    again = httpx.post(f"{api.url}/api/v1/receipts/{sold['receipt_number']}/send",
                       headers={"Authorization": f"Bearer {admin_key}"})
    assert again.json() == {"queued": 1}
    assert len(outbox(ctx)) == 2


def test_no_consent_means_nothing_is_sent_even_when_asked(ctx, world, meter, api, admin_key):
    sold = vend(api, admin_key, meter, send_token=True)
    assert outbox(ctx) == []
    refused = httpx.post(f"{api.url}/api/v1/receipts/{sold['receipt_number']}/send",
                         headers={"Authorization": f"Bearer {admin_key}"})
    assert refused.status_code == 422 and "not agreed" in refused.json()["detail"]
    assert outbox(ctx) == []


def test_consent_needs_a_valid_phone_or_address(ctx, admin, world):
    with pytest.raises(ValidationError) as no_phone:
        libraries.create(ctx, admin, "customers", {"code": "C77", "name": "A", "notify_sms": "y"})
    assert no_phone.value.field == "notify_sms"
    with pytest.raises(ValidationError) as bad_phone:
        libraries.create(ctx, admin, "customers", {"code": "C77", "name": "A", "phone": "0803 555", "notify_sms": "y"})
    assert bad_phone.value.field == "phone"
    with ctx.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Customer).where(Customer.code == "C77")) == 0


def test_last_three_tokens_for_a_customer_are_scoped_to_the_caller(ctx, world, meter, api, admin_key, vendor_key):
    sold = [vend(api, admin_key, meter) for _ in range(4)]
    mine = httpx.get(f"{api.url}/api/v1/customers/c4700000001/last-tokens",
                     headers={"Authorization": f"Bearer {admin_key}"}).json()
    assert [row["token"] for row in mine] == [row["token"] for row in reversed(sold[1:])]
    other = httpx.get(f"{api.url}/api/v1/customers/C4700000001/last-tokens",
                      headers={"Authorization": f"Bearer {vendor_key}"})
    assert other.status_code == 200 and other.json() == []


def test_a_management_token_uses_its_own_template(ctx, world, meter, api, admin_key):
    consent(ctx, "4700000001", sms=True, auto=True)
    response = httpx.post(f"{api.url}/api/v1/meters/{meter}/clear-tamper", json={"reason": "seal broken"},
                          headers={"Authorization": f"Bearer {admin_key}", "Idempotency-Key": "tamper-0001"})
    issued = response.json()
    [row] = outbox(ctx)
    assert row.body == (f"{ctx.settings.utility_name}: {issued['title']} token {issued['token_grouped']} for meter "
                        f"{meter}, receipt {issued['receipt_number']}.")
