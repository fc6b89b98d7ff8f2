"""Mail delivery from the outbox: logged by default, sent over SMTP when SMTP_URL is set."""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit
from uuid import UUID, uuid4

import anyio
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from agentpress.db.pools import Connect
from agentpress.models.outbox import EmailKind
from agentpress.repositories import outbox
from agentpress.services.crypto import Encryptor, encryptor, outbox_body
from agentpress.services.polling import poll
from agentpress.settings import Settings

log = logging.getLogger("agentpress.services.mail")

MAX_ATTEMPTS = 10  # with the doubling backoff, about three hours of retries
BATCH_SIZE = 20

# smtplib's timeout bounds each blocking operation, not the whole send; the slowest send that still
# succeeds takes every one of them to the limit: connect, EHLO, STARTTLS and its handshake, EHLO again,
# AUTH (up to three round trips with LOGIN), MAIL FROM, RCPT TO, DATA, the message and its end, QUIT.
SMTP_TIMEOUT_SECONDS = 10.0
SMTP_OPERATIONS = 13
# A message's lease outlives its slowest send, plus the decryption and the database round trips around
# it, so that no other process (or worker) takes it and sends it again while it is still going out.
LEASE_SECONDS = SMTP_TIMEOUT_SECONDS * SMTP_OPERATIONS + 20


@dataclass(frozen=True)
class Mail:
    to_email: str
    subject: str
    body: str
    kind: str
    # The outbox row's id: a retry of the same message carries the same Message-ID (message_id), so a
    # receiver that got the first attempt after all can tell the second is the same message.
    email_id: UUID


class MailSender(Protocol):
    async def send(self, mail: Mail) -> None: ...


async def queue_email(
    conn: AsyncConnection[Any], settings: Settings, *, kind: EmailKind, to_email: str, subject: str, body: str
) -> None:
    """Put a message in the outbox, its body encrypted: bodies carry single-use links."""
    email_id = uuid4()  # made here, so that the ciphertext can be bound to its row before the insert
    sealed = encryptor(settings).encrypt(body, binding=outbox_body(email_id))
    await outbox.create_outbox_email(
        conn, email_id=email_id, kind=kind, to_email=to_email, subject=subject, body=sealed
    )


# A link in a body: what a reader of the log must not be able to follow (reset, verification, invitation).
_LINK = re.compile(r"\bhttps?://\S+")
REDACTED_LINK = "[link redacted: MAIL_LOG_LINKS=true shows it]"


class LogSender:
    """The default without SMTP_URL: the message goes to the log, its links redacted unless `show_links`."""

    def __init__(self, *, show_links: bool = False) -> None:
        self.show_links = show_links

    async def send(self, mail: Mail) -> None:
        body = mail.body if self.show_links else _LINK.sub(REDACTED_LINK, mail.body)
        log.info(
            "mail to %s: %s",
            mail.to_email,
            mail.subject,
            extra={"to_email": mail.to_email, "subject": mail.subject, "body": body, "kind": mail.kind},
        )


def message_id(email_id: UUID, mail_from: str) -> str:
    """The Message-ID of an outbox message, the same at every attempt: its row id at the sender's domain."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "agentpress.local"
    return f"<{email_id}@{domain}>"


class PlaintextRefused(Exception):
    """The SMTP server offers no TLS and SMTP_ALLOW_PLAINTEXT is off."""


class SmtpSender:
    """Sends through the server in SMTP_URL: smtps://, or smtp://user:password@host:port with STARTTLS, which the
    server must offer unless `allow_plaintext` (a local relay): bodies carry links that sign in."""

    def __init__(self, smtp_url: str, mail_from: str, *, allow_plaintext: bool = False) -> None:
        url = urlsplit(smtp_url)
        self.allow_plaintext = allow_plaintext
        self.use_tls = url.scheme == "smtps"
        self.host = url.hostname or "localhost"
        self.port = url.port or (465 if self.use_tls else 25)
        self.username = unquote(url.username) if url.username else None
        self.password = unquote(url.password) if url.password else None
        self.mail_from = mail_from

    async def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"] = self.mail_from
        message["To"] = mail.to_email
        # Header injection and malformed headers: a subject is one line.
        message["Subject"] = " ".join(mail.subject.split())
        message["Message-ID"] = message_id(mail.email_id, self.mail_from)
        message.set_content(mail.body)
        # smtplib blocks; a worker thread keeps the event loop serving requests.
        await anyio.to_thread.run_sync(self._send_blocking, message)

    def _send_blocking(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.use_tls:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS)
        with smtp:
            smtp.ehlo()
            if not self.use_tls and smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
            elif not self.use_tls and not self.allow_plaintext:
                # Before the password and the message: neither goes out in the clear.
                raise PlaintextRefused(
                    f"the SMTP server {self.host}:{self.port} offers no STARTTLS: refused to send without TLS "
                    "(use smtps://, or set SMTP_ALLOW_PLAINTEXT=true for a relay on a trusted network)"
                )
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


def create_sender(settings: Settings) -> MailSender:
    if settings.smtp_url:
        return SmtpSender(settings.smtp_url, settings.mail_from, allow_plaintext=settings.smtp_allow_plaintext)
    if settings.mail_log_links:
        log.warning("SMTP_URL is unset: mail is written to the log, with its single-use links (MAIL_LOG_LINKS)")
    else:
        log.warning("SMTP_URL is unset: mail is written to the log, its links redacted; set SMTP_URL in production")
    return LogSender(show_links=settings.mail_log_links)


async def deliver_pending(connect: Connect, sender: MailSender, decryptor: Encryptor) -> int:
    """Send the outbox's due messages, oldest first; returns how many were sent.

    Each message is leased by one statement, sent with no transaction open and no connection held (a send
    may take up to the lease), then marked; a failure leaves it to its backoff, and nothing one message does
    stops the others.
    """
    sent = 0
    for _ in range(BATCH_SIZE):
        async with connect() as conn:
            email = await outbox.claim_next_email(conn, max_attempts=MAX_ATTEMPTS, lease_seconds=LEASE_SECONDS)
        if email is None:
            break
        body = decryptor.decrypt(email.body, binding=outbox_body(email.id))
        if body is None:
            # Encrypted under a key that is gone, or copied from another message: it can never be sent.
            error = "the body does not decrypt with APP_SECRET_KEY (or APP_PREVIOUS_SECRET_KEYS) for this message"
            async with connect() as conn:
                await outbox.abandon_email(conn, email_id=email.id, error=error, max_attempts=MAX_ATTEMPTS)
            continue
        try:
            await sender.send(Mail(email.to_email, email.subject, body, email.kind, email.id))
        except Exception as exc:  # any failure is this message's, never the loop's
            log.warning("mail to %s failed: %s", email.to_email, exc, extra={"email_id": str(email.id)})
            async with connect() as conn:
                await outbox.mark_email_failed(conn, email_id=email.id, error=str(exc)[:1000] or type(exc).__name__)
            continue
        async with connect() as conn:
            await outbox.mark_email_sent(conn, email_id=email.id)
        sent += 1
    return sent


async def run_outbox_loop(pool: AsyncConnectionPool[Any], settings: Settings) -> None:
    """Deliver the outbox every OUTBOX_POLL_SECONDS until cancelled."""
    sender, decryptor = create_sender(settings), encryptor(settings)

    async def deliver() -> bool:
        await deliver_pending(pool.connection, sender, decryptor)
        return False

    await poll("outbox delivery", deliver, every=settings.outbox_poll_seconds, log=log)
