"""Outgoing email over SMTP. Without an SMTP host, mails are written to the log instead."""

from __future__ import annotations

import asyncio
import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

from backend.settings import Settings

log = logging.getLogger("vev_iq.mail")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str
    attachments: tuple[Attachment, ...] = ()


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, mail: Mail) -> bool:
        """Send (or, without SMTP, log) the mail. False when the mail server failed: callers
        that must deliver (invoices) try again later."""
        if not self.settings.smtp_host:
            # Embedded default: the operator reads links (verification, reset) in the console.
            names = ", ".join(a.filename for a in mail.attachments)
            log.warning(
                "SMTP not configured; mail to %s: %s\n%s%s",
                mail.to,
                mail.subject,
                mail.body,
                f"\n(attachments not sent: {names})" if names else "",
            )
            return True
        try:
            await asyncio.to_thread(self._send_sync, mail)
        except (OSError, smtplib.SMTPException):
            # A mail server outage must not undo the account change that asked for the mail.
            log.exception("sending mail %r failed", mail.subject)
            return False
        return True

    def _send_sync(self, mail: Mail) -> None:
        s = self.settings
        message = EmailMessage()
        message["From"] = s.mail_from
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        for attachment in mail.attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            message.add_attachment(
                attachment.content,
                maintype=maintype,
                subtype=subtype or "octet-stream",
                filename=attachment.filename,
            )
        smtp_cls = smtplib.SMTP_SSL if s.smtp_ssl else smtplib.SMTP
        with smtp_cls(s.smtp_host, s.smtp_port, timeout=15) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password)
            smtp.send_message(message)
