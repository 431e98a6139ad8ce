"""Messages about an appointment: confirmation, change, reminder, cancellation, by e-mail
(SMTP, with an ``.ics`` calendar attachment) and by text message (an HTTP gateway).

What is sent holds what the person needs and nothing more: the service, the date and time, the
place, the short code and the link to move or cancel. Messages go out from a worker thread
after the booking is stored: a mail server or gateway that is down or slow never fails nor
delays a booking; it is logged (``log``), with the appointment's id and never its contact.

Text-message gateway protocol (``[messages] sms_url``): one HTTP POST per message, JSON
``{"to": "+33612345678", "from": "<sms_sender>", "text": "..."}`` (or the same fields
form-encoded), ``Authorization: Bearer <sms_token>`` when a token is set; any 2xx answer is
success.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from enum import StrEnum
from typing import Protocol

import icalendar
import requests

from config.messages import MessageSettings, SmsBody, SmtpSecurity
from server.appointments.booking import Appointment
from server.sites import LoadedSite
from tickets.i18n import Catalog, base_language, catalog_languages

log = logging.getLogger(__name__)


class Kind(StrEnum):
    BOOKED = "booked"
    MOVED = "moved"
    REMINDER = "reminder"
    CANCELLED = "cancelled"
    LATE = "late"
    """A checked-in appointment runs late (``server.appointments.punctuality``)."""
    TURN = "turn"
    """A walk-in's turn is near (``server.stepout``)."""


class MessageError(Exception):
    """A message that could not be handed over (names the channel, never the recipient)."""


def _lang(appt: Appointment) -> str:
    """The language the person booked in, when the pages have it; else French."""
    return lang_of(appt.lang)


def lang_of(lang: str) -> str:
    """``lang`` when the pages (and so the messages) have it; else French."""
    found = base_language(lang or "")
    return found if found in catalog_languages("web") else "fr"


def notice_text(lang: str, kind: Kind, **facts: object) -> str:
    """A short notice (``Kind.LATE``, ``Kind.TURN``): the heading, then its one line."""
    t = Catalog("web", lang_of(lang)).gettext
    heading = t("message.heading").format(subject=t(f"message.subject.{kind.value}"))
    return heading + "\n" + t(f"message.{kind.value}").format(**facts)


def _texts(appt: Appointment) -> Catalog:
    """The messages' texts: the web pages' catalog (keys ``message.*``), docs/web.md."""
    return Catalog("web", _lang(appt))


def _facts(loaded: LoadedSite, appt: Appointment) -> dict[str, str]:
    service = loaded.site.service(appt.service)
    local = loaded.site.local(appt.starts_at)
    return {
        "service": service.name(_lang(appt)) if service else appt.service,
        "date": local.strftime("%d/%m/%Y"),
        "time": local.strftime("%H:%M"),
        "site": loaded.site.name,
        "code": appt.display_code,
    }


def text_of(loaded: LoadedSite, appt: Appointment, kind: Kind, public_url: str) -> str:
    """The body of the message (the text message is the same, shorter lines)."""
    t = _texts(appt).gettext
    facts = _facts(loaded, appt)
    out = [t("message.heading").format(subject=t(f"message.subject.{kind.value}"))]
    out.append(t("message.when").format(**facts))
    out.append(t("message.where").format(**facts))
    if kind is Kind.CANCELLED:
        out.append(t("message.cancelled").format(link=f"{public_url}/book/{loaded.id}"))
    else:
        out.append(t("message.code").format(**facts))
        out.append(t("message.manage").format(link=f"{public_url}/a/{appt.token}"))
    return "\n".join(out)


def calendar_of(loaded: LoadedSite, appt: Appointment, kind: Kind, sequence: int) -> bytes:
    """An iCalendar file of the appointment: a request (an event to add or update), or its
    cancellation; one UID per appointment so calendars replace the same event, and a
    ``sequence`` that grows with each change (seconds since it was booked)."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Guichet//appointments//FR")
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if kind is Kind.CANCELLED else "REQUEST")
    event = icalendar.Event()
    facts = _facts(loaded, appt)
    service = loaded.site.service(appt.service)
    minutes = service.appointments.duration_minutes if service and service.appointments else 15
    start = loaded.site.local(appt.starts_at)
    event.add("uid", f"{appt.id}@guichet")
    event.add("sequence", sequence)
    event.add("dtstamp", datetime.now(loaded.site.tz))
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=minutes))
    event.add("summary", f"{facts['service']} — {facts['site']}")
    event.add("location", loaded.site.name)
    event.add("description", f"Code {facts['code']}")
    event.add("status", "CANCELLED" if kind is Kind.CANCELLED else "CONFIRMED")
    cal.add_component(event)
    return cal.to_ical()


class MailSender(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class SmsGateway(Protocol):
    """Sends one text message; raises MessageError when the gateway refuses or is away."""

    def send(self, to: str, text: str) -> None: ...


class SmtpSender:
    def __init__(self, settings: MessageSettings) -> None:
        self.settings = settings

    def send(self, message: EmailMessage) -> None:
        s = self.settings
        try:
            if s.smtp_security is SmtpSecurity.TLS:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.smtp_host, s.smtp_port, timeout=s.timeout_seconds
                )
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.timeout_seconds)
            with smtp:
                if s.smtp_security is SmtpSecurity.STARTTLS:
                    smtp.starttls(context=ssl.create_default_context())
                if s.smtp_username:
                    smtp.login(s.smtp_username, s.smtp_password)
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise MessageError(f"SMTP {s.smtp_host}:{s.smtp_port}: {exc}") from None


class HttpSmsGateway:
    def __init__(self, settings: MessageSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.session = session or requests.Session()

    def send(self, to: str, text: str) -> None:
        s = self.settings
        fields = {"to": to, "from": s.sms_sender, "text": text}
        headers = {"Authorization": f"Bearer {s.sms_token}"} if s.sms_token else {}
        body = {"json": fields} if s.sms_body is SmsBody.JSON else {"data": fields}
        try:
            r = self.session.post(
                s.sms_url,
                headers=headers,
                timeout=s.timeout_seconds,
                **body,  # type: ignore[arg-type]
            )
        except requests.RequestException as exc:
            raise MessageError(f"SMS gateway: {type(exc).__name__}") from None
        if not 200 <= r.status_code < 300:
            raise MessageError(f"SMS gateway answered {r.status_code}")


def phone_number(text: str) -> str:
    """A phone number as gateways take it: digits with a leading +; a French national number
    (0X XX XX XX XX) becomes +33…"""
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.strip().startswith("+"):
        return "+" + digits
    if len(digits) == 10 and digits.startswith("0"):
        return "+33" + digits[1:]
    return digits


class Messenger:
    """Sends the messages of appointments from one worker thread."""

    def __init__(
        self,
        settings: MessageSettings,
        public_url: str,
        *,
        mail: MailSender | None = None,
        sms: SmsGateway | None = None,
    ) -> None:
        self.settings = settings
        self.public_url = public_url.rstrip("/")
        self.mail = mail or (SmtpSender(settings) if settings.smtp_host else None)
        self.sms = sms or (HttpSmsGateway(settings) if settings.sms_url else None)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="guichet-messages")
        self._lock = threading.Lock()
        self.sent = 0
        self.failed = 0

    @property
    def enabled(self) -> bool:
        return self.mail is not None or self.sms is not None

    def tell(self, loaded: LoadedSite, appt: Appointment, kind: Kind) -> Future[None] | None:
        """Queues the messages of ``kind`` for ``appt`` (e-mail and/or text message, as the
        person gave); returns the future of their sending, None when there is nothing to send."""
        jobs: list[Callable[[], None]] = []
        if self.mail is not None and appt.email:
            jobs.append(lambda: self._email(loaded, appt, kind))
        if self.sms is not None and appt.phone:
            jobs.append(lambda: self._sms(loaded, appt, kind))
        if not jobs:
            return None
        return self._pool.submit(self._run, f"appointment {appt.id}", kind, jobs)

    def notice(
        self,
        loaded: LoadedSite,
        ref: str,
        kind: Kind,
        to: tuple[str | None, str | None],
        lang: str,
        **facts: object,
    ) -> Future[None] | None:
        """Queues a short notice (no calendar) of ``kind`` to ``to`` (e-mail, phone; either
        may be None); ``ref`` names it in the log (an id, never the contact)."""
        email, phone = to
        text = notice_text(lang, kind, **facts)
        jobs: list[Callable[[], None]] = []
        if self.mail is not None and email:
            subject = Catalog("web", lang_of(lang)).gettext(f"message.subject.{kind.value}")
            msg = EmailMessage()
            msg["Subject"] = f"{subject} — {loaded.site.name}"
            msg["From"] = self.settings.mail_from
            msg["To"] = email
            msg["Date"] = format_datetime(datetime.now(loaded.site.tz))
            msg["Message-ID"] = make_msgid(domain="guichet")
            msg.set_content(text)
            mail = self.mail
            jobs.append(lambda: mail.send(msg))
        if self.sms is not None and phone:
            sms, number = self.sms, phone_number(phone)
            jobs.append(lambda: sms.send(number, text))
        if not jobs:
            return None
        return self._pool.submit(self._run, ref, kind, jobs)

    def _run(self, ref: str, kind: Kind, jobs: list[Callable[[], None]]) -> None:
        for job in jobs:
            try:
                job()
            except MessageError as exc:
                with self._lock:
                    self.failed += 1
                log.warning("%s: %s message not sent: %s", ref, kind, exc)
            else:
                with self._lock:
                    self.sent += 1

    def email_of(self, loaded: LoadedSite, appt: Appointment, kind: Kind) -> EmailMessage:
        assert appt.email is not None
        subject = _texts(appt).gettext(f"message.subject.{kind.value}")
        msg = EmailMessage()
        msg["Subject"] = f"{subject} — {loaded.site.name}"
        msg["From"] = self.settings.mail_from
        msg["To"] = appt.email
        msg["Date"] = format_datetime(datetime.now(loaded.site.tz))
        msg["Message-ID"] = make_msgid(domain="guichet")
        msg.set_content(text_of(loaded, appt, kind, self.public_url))
        method = "CANCEL" if kind is Kind.CANCELLED else "REQUEST"
        msg.add_attachment(
            calendar_of(loaded, appt, kind, sequence=int(appt.updated_at - appt.created_at)),
            maintype="text",
            subtype="calendar",
            filename="rendez-vous.ics",
            params={"method": method},
        )
        return msg

    def _email(self, loaded: LoadedSite, appt: Appointment, kind: Kind) -> None:
        assert self.mail is not None
        self.mail.send(self.email_of(loaded, appt, kind))

    def _sms(self, loaded: LoadedSite, appt: Appointment, kind: Kind) -> None:
        assert self.sms is not None and appt.phone is not None
        self.sms.send(phone_number(appt.phone), text_of(loaded, appt, kind, self.public_url))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
