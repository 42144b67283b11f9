"""E-mail: a real SMTP server (aiosmtpd) on loopback receives the message; STARTTLS and AUTH
run against a self-signed certificate made for the test."""

from __future__ import annotations

import socket
import ssl
import time
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from queue_app.notify.channels.base import (
    CannotReach,
    ChannelConfigError,
    ChannelMisconfigured,
    Recipient,
    TemporaryFailure,
)
from queue_app.notify.channels.email import EmailChannel
from tests.support.loopback import free_port, self_signed_certificate

FROM = "queue@hanbit-clinic.example"


class Mailbox:
    """aiosmtpd handler: refuses two special recipients, keeps every accepted message."""

    def __init__(self):
        self.envelopes = []
        self.helo_names = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if address.startswith("busy@"):
            return "451 4.2.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.helo_names.append(session.host_name)
        return "250 2.0.0 Ok: queued"

    def only_message(self):
        assert len(self.envelopes) == 1
        envelope = self.envelopes[0]
        return envelope, message_from_bytes(envelope.original_content, policy=policy.default)


@pytest.fixture
def smtp_server():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, mailbox
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, and the files holding it."""
    cert_file, key_file = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    return str(cert_file), str(key_file)


@pytest.fixture
def tls_smtp_server(certificate):
    """STARTTLS required, AUTH LOGIN/PLAIN with user "clinic" / password "hunter2"."""
    cert_file, key_file = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"clinic" and auth_data.password == b"hunter2"
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535

    mailbox = Mailbox()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield controller, mailbox
    finally:
        controller.stop()


def plain_channel(controller, **extra):
    return EmailChannel(
        {
            "host": controller.hostname,
            "port": controller.port,
            "starttls": False,
            "from_address": FROM,
            "from_name": "한빛가정의원",
            "timeout": 5,
            "helo_name": "reception.clinic.test",
            **extra,
        }
    )


def test_delivers_utf8_korean(smtp_server, make_message):
    controller, mailbox = smtp_server
    message = make_message(Recipient(email="patient@example.org"))
    result = plain_channel(controller).send(message)

    assert result.delivered is False
    assert result.provider_id == f"<{message.id}@hanbit-clinic.example>"
    envelope, mail = mailbox.only_message()
    assert envelope.mail_from == FROM
    assert mailbox.helo_names == ["reception.clinic.test"]
    assert envelope.rcpt_tos == ["patient@example.org"]
    assert mail["To"] == "patient@example.org"
    assert mail["Subject"] == "한빛가정의원: 진료 차례입니다"
    assert mail["From"].addresses[0].display_name == "한빛가정의원"
    assert mail["From"].addresses[0].addr_spec == FROM
    assert mail["Message-ID"] == f"<{message.id}@hanbit-clinic.example>"
    assert mail["Content-Language"] == "ko"
    assert mail.get_content_type() == "text/plain"
    assert mail.get_content_charset() == "utf-8"
    assert mail.get_content().strip() == "A-007번 환자님, 2번 진료실로 들어오세요."


def test_delivers_utf8_russian(smtp_server, make_message):
    controller, mailbox = smtp_server
    text = "Пациент A-007, пройдите, пожалуйста, в кабинет №2. Ссылка: https://q.example/t/x"
    message = make_message(
        Recipient(email="ivan@example.org"), language="ru", text=text, subject="Клиника Ханбит: ваша очередь"
    )
    plain_channel(controller).send(message)
    _, mail = mailbox.only_message()
    assert mail["Subject"] == "Клиника Ханбит: ваша очередь"
    assert mail.get_content().strip() == text


def test_starttls_and_login(tls_smtp_server, certificate, make_message):
    controller, mailbox = tls_smtp_server
    email = EmailChannel(
        {
            "host": "127.0.0.1",
            "port": controller.port,
            "starttls": True,
            "username": "clinic",
            "password": "hunter2",
            "from_address": FROM,
            "ca_file": certificate[0],
            "timeout": 5,
        }
    )
    email.send(make_message(Recipient(email="patient@example.org")))
    envelope, mail = mailbox.only_message()
    assert mail["Subject"] == "한빛가정의원: 진료 차례입니다"


def test_wrong_password_is_misconfiguration(tls_smtp_server, certificate, make_message):
    controller, _ = tls_smtp_server
    email = EmailChannel(
        {
            "host": "127.0.0.1",
            "port": controller.port,
            "starttls": True,
            "username": "clinic",
            "password": "wrong",
            "from_address": FROM,
            "ca_file": certificate[0],
            "timeout": 5,
        }
    )
    with pytest.raises(ChannelMisconfigured, match="login refused") as info:
        email.send(make_message(Recipient(email="patient@example.org")))
    assert "wrong" not in str(info.value)


def test_untrusted_certificate_is_misconfiguration(tls_smtp_server, make_message):
    controller, _ = tls_smtp_server
    email = EmailChannel(
        {"host": "127.0.0.1", "port": controller.port, "starttls": True, "from_address": FROM, "timeout": 5}
    )
    with pytest.raises(ChannelMisconfigured, match="TLS"):
        email.send(make_message(Recipient(email="patient@example.org")))


def test_unknown_recipient_cannot_be_reached(smtp_server, make_message):
    controller, mailbox = smtp_server
    with pytest.raises(CannotReach, match="550"):
        plain_channel(controller).send(make_message(Recipient(email="nobody@example.org")))
    assert mailbox.envelopes == []


def test_greylisting_is_temporary(smtp_server, make_message):
    controller, _ = smtp_server
    with pytest.raises(TemporaryFailure, match="451"):
        plain_channel(controller).send(make_message(Recipient(email="busy@example.org")))


def test_connection_refused_is_temporary(closed_port, make_message):
    email = EmailChannel(
        {"host": "127.0.0.1", "port": closed_port, "starttls": False, "from_address": FROM, "timeout": 1}
    )
    with pytest.raises(TemporaryFailure):
        email.send(make_message(Recipient(email="patient@example.org")))


def test_silent_server_times_out(make_message):
    """A server that accepts the connection but never greets: the timeout applies."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        email = EmailChannel(
            {
                "host": "127.0.0.1",
                "port": listener.getsockname()[1],
                "starttls": False,
                "from_address": FROM,
                "timeout": 0.3,
            }
        )
        started = time.monotonic()
        with pytest.raises(TemporaryFailure, match="timed out"):
            email.send(make_message(Recipient(email="patient@example.org")))
        assert time.monotonic() - started < 2


def test_can_reach_and_settings():
    email = EmailChannel({"host": "smtp.example", "from_address": FROM})
    assert email.port == 587 and email.starttls
    assert EmailChannel({"host": "smtp.example", "from_address": FROM, "ssl": True}).port == 465
    assert email.can_reach(Recipient(email="a@example.org"))
    assert not email.can_reach(Recipient(email="not-an-address"))
    assert not email.can_reach(Recipient(phone="+821012345678"))
    with pytest.raises(ChannelConfigError):
        EmailChannel({"host": "smtp.example"})
    with pytest.raises(ChannelConfigError):
        EmailChannel({"host": "smtp.example", "from_address": "nope"})
