"""Outgoing mail over SMTP (aiosmtplib): the password reset and e-mail verification links.

Mail is optional: without SMTP_HOST the server sends nothing, and the routes
that would send say so (`Mailer.enabled` is False). The texts are built by
pure functions, so what a user receives is decided in one place and can be
read by a test off a real SMTP server.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import quote

import aiosmtplib

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to deliver; `host` None turns mail off."""

    host: str | None
    port: int
    user: str | None
    password: str | None
    starttls: bool
    sender: str
    timeout_s: float


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


def link(public_url: str, page: str, token: str) -> str:
    """The web app's page with the token in the fragment.

    A fragment never reaches a server log or a Referer header, so a mailed
    token is not left behind in proxies' logs when the link is opened.
    """
    return f"{public_url.rstrip('/')}{page}#token={quote(token, safe='')}"


def password_reset_mail(to: str, username: str, url: str, expiry_s: int) -> Mail:
    minutes = max(1, expiry_s // 60)
    return Mail(
        to=to,
        subject="Reset your ClassQuiz password",
        text=(
            f"Hello {username},\n\n"
            "someone (hopefully you) asked to reset the password of your ClassQuiz account.\n"
            f"Open this link within {minutes} minutes to choose a new one:\n\n{url}\n\n"
            "The link works once. If you did not ask for it, ignore this mail: "
            "your password stays as it is.\n"
        ),
    )


def verification_mail(to: str, username: str, url: str, expiry_s: int) -> Mail:
    hours = max(1, expiry_s // 3600)
    return Mail(
        to=to,
        subject="Confirm your e-mail address for ClassQuiz",
        text=(
            f"Hello {username},\n\n"
            "please confirm that this address belongs to your ClassQuiz account "
            f"by opening this link within {hours} hours:\n\n{url}\n\n"
            "If you did not create an account, ignore this mail.\n"
        ),
    )


class Mailer:
    """Sends one mail per call over a fresh SMTP connection (mail is rare here)."""

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config

    @property
    def enabled(self) -> bool:
        return bool(self._config.host)

    def message(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._config.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Message-ID"] = make_msgid(domain="classquiz")
        message.set_content(mail.text)
        return message

    async def send(self, mail: Mail) -> None:
        """Deliver `mail`; raises what the SMTP server or the network says."""
        config = self._config
        if not config.host:
            raise RuntimeError("mail is not configured (SMTP_HOST is unset)")
        await aiosmtplib.send(
            self.message(mail),
            hostname=config.host,
            port=config.port,
            username=config.user,
            password=config.password,
            start_tls=config.starttls,
            timeout=config.timeout_s,
        )
        log.info("mail sent: %s", mail.subject)
