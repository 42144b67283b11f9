"""E-mail over SMTP (``smtplib``): plain text, UTF-8, optional STARTTLS or implicit TLS.

The message has ``From``, ``To``, ``Subject`` (UTF-8 encoded-words where needed), ``Date``,
a ``Message-ID`` made from our message id (``<id@domain>``: the same on every retry, so a
mail system that dedupes by Message-ID shows a retried message once) and
``Content-Language``.  An SMTP server accepting the message is not delivery:
``delivered`` is False.

Outcome mapping: connection refused / dropped, timeouts, 4xx replies (greylisting, mailbox
busy) -> TemporaryFailure; 5xx refusal of the recipient (550 no such user, 553 bad address)
or of the data -> CannotReach; authentication failure, refused sender, TLS failure ->
ChannelMisconfigured.

Settings ``[channels.email]``: ``host`` (required), ``port`` (default 587 with STARTTLS,
465 with ``ssl``, else 25), ``starttls`` (default true), ``ssl`` (implicit TLS, default
false), ``username``/``password`` (optional: log in when given), ``from_address``
(required), ``from_name`` (optional), ``ca_file`` (optional CA bundle to trust, e.g. a
self-signed relay), ``helo_name`` (optional name for EHLO; default the machine's FQDN),
``timeout``.
"""

from __future__ import annotations

import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

from .base import (
    CannotReach,
    Channel,
    ChannelConfigError,
    ChannelMisconfigured,
    OutgoingMessage,
    Recipient,
    SendResult,
    TemporaryFailure,
    as_bool,
)


def valid_email(address: str | None) -> bool:
    if not address or "@" not in address or any(c.isspace() for c in address):
        return False
    local, _, domain = address.rpartition("@")
    return bool(local) and "." in domain and not domain.startswith(".")


class EmailChannel(Channel):
    name = "email"

    def __init__(self, settings: dict):
        super().__init__(settings)
        self._require("host", "from_address")
        s = self.settings
        self.host = str(s["host"])
        self.ssl = as_bool(s.get("ssl", False))
        self.starttls = as_bool(s.get("starttls", not self.ssl)) and not self.ssl
        self.port = int(s.get("port") or (465 if self.ssl else 587 if self.starttls else 25))
        self.username = s.get("username") or None
        self._password = s.get("password") or ""
        self.from_address = str(s["from_address"])
        if not valid_email(self.from_address):
            raise ChannelConfigError("email: from_address is not an e-mail address")
        self.from_name = s.get("from_name") or ""
        self.ca_file = s.get("ca_file") or None
        self.helo_name = s.get("helo_name") or None

    def can_reach(self, recipient: Recipient) -> bool:
        return valid_email(recipient.email)

    def _tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    def build(self, message: OutgoingMessage) -> EmailMessage:
        mail = EmailMessage()
        domain = self.from_address.rpartition("@")[2]
        if self.from_name:
            mail["From"] = Address(self.from_name, addr_spec=self.from_address)
        else:
            mail["From"] = self.from_address
        mail["To"] = message.recipient.email or ""
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = f"<{message.id}@{domain}>"
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(message.text, charset="utf-8")
        mail["Content-Language"] = message.language  # after set_content, which clears Content-*
        return mail

    def _connect(self) -> smtplib.SMTP:
        if self.ssl:
            return smtplib.SMTP_SSL(
                self.host, self.port, local_hostname=self.helo_name, timeout=self.timeout, context=self._tls_context()
            )
        return smtplib.SMTP(self.host, self.port, local_hostname=self.helo_name, timeout=self.timeout)

    def send(self, message: OutgoingMessage) -> SendResult:
        if not self.can_reach(message.recipient):
            raise CannotReach("email: no valid address")
        mail = self.build(message)
        try:
            with self._connect() as smtp:
                if self.starttls:
                    smtp.starttls(context=self._tls_context())
                if self.username:
                    smtp.login(str(self.username), str(self._password))
                refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()), (550, b""))
            raise _by_code(code, f"email: recipient refused: {code} {_text(reply)}") from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise ChannelMisconfigured(f"email: login refused: {exc.smtp_code}") from exc
        except smtplib.SMTPSenderRefused as exc:
            if 400 <= exc.smtp_code < 500:
                raise TemporaryFailure(f"email: sender refused: {exc.smtp_code}") from exc
            raise ChannelMisconfigured(f"email: sender refused: {exc.smtp_code}") from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise ChannelMisconfigured(f"email: {exc} (STARTTLS or AUTH unsupported)") from exc
        except smtplib.SMTPResponseException as exc:  # SMTPDataError, HELO errors, ...
            detail = f"email: {exc.smtp_code} {_text(exc.smtp_error)}"
            raise _by_code(exc.smtp_code, detail) from exc
        except ssl.SSLError as exc:
            raise ChannelMisconfigured(f"email: TLS failed ({exc.reason})") from exc
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError) as exc:
            if isinstance(exc.__context__, TimeoutError):  # smtplib wraps a read timeout
                raise TemporaryFailure(f"email: timed out after {self.timeout:g}s") from exc
            raise TemporaryFailure(f"email: {type(exc).__name__}") from exc
        except TimeoutError as exc:
            raise TemporaryFailure(f"email: timed out after {self.timeout:g}s") from exc
        except smtplib.SMTPException as exc:
            raise TemporaryFailure(f"email: {type(exc).__name__}") from exc
        except OSError as exc:  # refused, unreachable, DNS
            raise TemporaryFailure(f"email: connection failed ({type(exc).__name__})") from exc
        if refused:  # only one recipient, so this is not reached; kept for safety
            code, reply = next(iter(refused.values()))
            raise _by_code(code, f"email: recipient refused: {code} {_text(reply)}")
        return SendResult(provider_id=mail["Message-ID"], delivered=False)


def _by_code(code: int, detail: str) -> Exception:
    if 400 <= code < 500:
        return TemporaryFailure(detail)
    return CannotReach(detail)


def _text(reply) -> str:
    if isinstance(reply, bytes):
        return reply.decode("utf-8", "replace")
    return str(reply)
