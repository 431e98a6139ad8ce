"""Settings of the messages the server sends about appointments (``[messages]`` of the
server's file): e-mail over SMTP, text messages through an HTTP gateway."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class SmtpSecurity(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


class SmsBody(StrEnum):
    JSON = "json"
    FORM = "form"


class MessageSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    smtp_host: str = Field(default="", max_length=253)
    """SMTP server for e-mail; empty: no e-mail is sent."""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    """Its TCP port (25, 587 with starttls, 465 with tls)."""
    smtp_security: SmtpSecurity = SmtpSecurity.NONE
    """``none``, ``starttls`` or ``tls`` (implicit TLS)."""
    smtp_username: str = Field(default="", max_length=256)
    """Login on the SMTP server; empty: none."""
    smtp_password: str = Field(default="", max_length=256)
    """Its password."""
    mail_from: str = Field(default="guichet@localhost", max_length=254)
    """Sender address of the e-mails."""
    sms_url: str = Field(default="", max_length=2000)
    """The SMS gateway's URL (HTTP POST of one message); empty: no text message is sent."""
    sms_token: str = Field(default="", max_length=512)
    """Sent as ``Authorization: Bearer <token>`` to the gateway; empty: no header."""
    sms_sender: str = Field(default="", max_length=32)
    """Sender name or number the gateway shows (field ``from``)."""
    sms_body: SmsBody = SmsBody.JSON
    """How the message is posted: ``json`` ({"to", "from", "text"}) or ``form`` (the same
    fields, form-encoded)."""
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    """How long one SMTP or gateway exchange may take (seconds)."""
    reminder_hour: int = Field(default=17, ge=0, le=23)
    """Hour (site time) from which the reminders of the next day's appointments are sent."""
    notice_seconds: float = Field(default=20.0, gt=0, le=600)
    """How often each server process looks for appointments running late and walk-ins whose
    turn is near, to tell them (seconds)."""
