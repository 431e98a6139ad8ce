"""Web sessions of the staff pages: a signed cookie, an idle expiry the server checks, and the
CSRF token of every form.

The cookie holds the username, a fingerprint of the user's password hash (changing a password
ends every session of that user), the CSRF token and the pending flash messages, signed with
the server's secret (itsdangerous): ``ServerSettings.secret_key``, or when it is empty a key
made once and kept in the database, so every server process and every restart sign alike.
Its signed timestamp is the last time the user did something (opened a page, submitted a
form): the server refuses it when it is older than ``ServerSettings.session_minutes``, whatever
the browser keeps. Live updates (the console's stream and panel refreshes) do not count as
activity, so a console left alone still expires.

Visitors without an account get a session too, holding only the CSRF token of the login form.

CSRF protection is a synchronizer token: every form carries ``csrf_token``, which must equal
the session's; scripts send it as the ``X-CSRF-Token`` header. The cookie is HttpOnly and
SameSite=Lax (and Secure when the public address is https).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "guichet_session"
LANG_COOKIE = "guichet_lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
RESIGN_AFTER_SECONDS = 60.0
"""A session cookie is signed again (its idle clock restarted) at most this often."""


def password_fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


@dataclass
class WebSession:
    csrf: str
    username: str | None = None
    fingerprint: str = ""
    signed_at: float = 0.0
    """When the cookie was last signed (the user's last activity), epoch seconds."""
    flashes: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    expired: bool = False
    """True when the request carried a session that had expired (now replaced)."""
    dirty: bool = False

    def flash(self, kind: str, key: str, **values: Any) -> None:
        """A message for the next page: kind is success, error, warning or info."""
        self.flashes.append((kind, key, values))
        self.dirty = True

    def take_flashes(self) -> list[tuple[str, str, dict[str, Any]]]:
        out, self.flashes = self.flashes, []
        if out:
            self.dirty = True
        return out

    def check_csrf(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf, str(token))


class SessionCodec:
    """Reads and writes the session cookie of one server process."""

    def __init__(self, secret: str, idle_minutes: int, secure: bool) -> None:
        self.use_secret(secret)
        self.max_age = idle_minutes * 60
        self.secure = secure

    def use_secret(self, secret: str) -> None:
        """Signs with ``secret`` from now on (set at start-up, before the first request)."""
        self.serializer = URLSafeTimedSerializer(secret, salt="guichet.web.session")

    @staticmethod
    def fresh() -> WebSession:
        return WebSession(csrf=secrets.token_urlsafe(24), dirty=True)

    def load(self, request: Request) -> WebSession:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return self.fresh()
        try:
            data, signed = self.serializer.loads(raw, max_age=self.max_age, return_timestamp=True)
        except SignatureExpired:
            session = self.fresh()
            session.expired = True
            return session
        except BadSignature:
            return self.fresh()
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return self.fresh()
        flashes = [
            (str(f[0]), str(f[1]), dict(f[2]))
            for f in data.get("f", [])
            if isinstance(f, list) and len(f) == 3 and isinstance(f[2], dict)
        ]
        user = data.get("u")
        return WebSession(
            csrf=data["c"],
            username=user if isinstance(user, str) else None,
            fingerprint=str(data.get("p", "")),
            signed_at=signed.timestamp(),
            flashes=flashes,
        )

    def expires_at(self, session: WebSession) -> float:
        return session.signed_at + self.max_age

    def save(self, session: WebSession, response: Response, *, activity: bool = True) -> None:
        """Writes the cookie when the session changed, or (``activity``) when its idle clock
        should restart."""
        stale = time.time() - session.signed_at > RESIGN_AFTER_SECONDS
        if not (session.dirty or (activity and stale and session.username)):
            return
        payload: dict[str, Any] = {"c": session.csrf}
        if session.username:
            payload["u"] = session.username
            payload["p"] = session.fingerprint
        if session.flashes:
            payload["f"] = [[k, key, v] for k, key, v in session.flashes]
        response.set_cookie(
            COOKIE,
            self.serializer.dumps(payload),
            max_age=self.max_age,
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
