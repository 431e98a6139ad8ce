"""Who is calling: devices by bearer token, people by username and password.

Devices (kiosks, boards) send ``Authorization: Bearer <token>``; the token is random
(``secrets``) and only its sha256 is stored. Agents, managers and admins use HTTP Basic on the
API; the web pages reuse ``verify_password``, ``hash_password`` and ``get_user`` for their own
login. Missing or wrong credentials give 401; valid credentials for another site or a role that
may not do the action give 403.

What each role may do:

=========  ===============================================================================
kiosk      sync, issue tickets, read its site's queue and stream
display    sync, counter actions, read its site's queue and stream
agent      counter actions, issue tickets, read queue and stream, on the user's sites
manager    what an agent may, plus statistics
admin      everything, on the user's sites (services, counters, devices, statistics)
superadmin everything, on every site, present and future
=========  ===============================================================================

An administrator works for the sites they were given, as agents and managers do: a town hall's
IT can make the administrator of one town hall without giving them the prefecture's. The
all-sites role is separate and takes no site, so no list of sites is ever ignored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.engine import Connection, Engine

from server import db, schema
from server.errors import ApiError
from server.ratelimit import TokenBuckets

_hasher = PasswordHasher()


class UserRole(StrEnum):
    AGENT = "agent"
    MANAGER = "manager"
    ADMIN = "admin"
    SUPERADMIN = "superadmin"


class Permission(StrEnum):
    SYNC = "sync"
    ISSUE = "issue"
    COUNTER = "counter"
    READ = "read"
    STATS = "stats"


_ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "kiosk": frozenset({Permission.SYNC, Permission.ISSUE, Permission.READ}),
    "display": frozenset({Permission.SYNC, Permission.COUNTER, Permission.READ}),
    "agent": frozenset({Permission.ISSUE, Permission.COUNTER, Permission.READ}),
    "manager": frozenset({Permission.ISSUE, Permission.COUNTER, Permission.READ, Permission.STATS}),
    "admin": frozenset(Permission),
    "superadmin": frozenset(Permission),
}


@dataclass(frozen=True)
class User:
    username: str
    role: UserRole
    sites: tuple[str, ...]


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a device of one site, or a user."""

    kind: str
    """"device" or "user"."""
    name: str
    """Device id or username."""
    role: str
    """kiosk, display, agent, manager or admin."""
    sites: tuple[str, ...]
    """Sites this caller works for; empty for a superadmin, who works for all."""
    last_seen: float | None = None
    scopes: frozenset[Permission] | None = None
    """What this caller may do at most, whatever its role (an API token: read only); None:
    what its role may."""

    @property
    def event_device(self) -> str:
        """The ``device`` of events this caller makes through the server."""
        return self.name if self.kind == "device" else f"agent:{self.name}"

    def may(self, permission: Permission, site: str) -> bool:
        if permission not in _ROLE_PERMISSIONS.get(self.role, frozenset()):
            return False
        if self.scopes is not None and permission not in self.scopes:
            return False
        return self.role == UserRole.SUPERADMIN or site in self.sites

    def require(self, permission: Permission, site: str) -> None:
        if not self.may(permission, site):
            raise ApiError(
                403,
                "forbidden",
                f"{self.kind} {self.name!r} ({self.role}) may not {permission.value} "
                f"on site {site!r}",
            )


# ---- passwords ----------------------------------------------------------------------------
def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def get_user(engine: Engine, username: str) -> tuple[User, str] | None:
    """The user and their password hash, or None."""
    with db.read(engine) as conn:
        row = conn.execute(
            sa.select(schema.users).where(schema.users.c.username == username)
        ).first()
    if row is None:
        return None
    return User(row.username, UserRole(row.role), tuple(row.sites or ())), row.password_hash


def authenticate_user(engine: Engine, username: str, password: str) -> User | None:
    """The user when the password is right, else None (also for an unknown user)."""
    plausible = 0 < len(username) <= 64 and username.isprintable()
    found = get_user(engine, username) if plausible else None
    if found is None:
        # Same cost as a wrong password, so timing does not tell which usernames exist.
        verify_password(_dummy_hash(), password)
        return None
    user, stored = found
    if _verified_recently(username, password, stored):
        return user
    if not verify_password(stored, password):
        return None
    _remember(username, password, stored)
    return user


@cache
def _dummy_hash() -> str:
    return _hasher.hash("not a password of anybody")


# argon2 costs tens of milliseconds by design; an agent's console polls the API with HTTP
# Basic, so a successful check is remembered for a short while (keyed by a hash of the
# credentials and the stored hash: a password change invalidates it).
_RECENT_SECONDS = 300.0
_recent: OrderedDict[str, float] = OrderedDict()
_recent_lock = threading.Lock()


def _recent_key(username: str, password: str, stored: str) -> str:
    return hashlib.sha256(f"{username}\0{password}\0{stored}".encode()).hexdigest()


def _verified_recently(username: str, password: str, stored: str) -> bool:
    key = _recent_key(username, password, stored)
    with _recent_lock:
        at = _recent.get(key)
        return at is not None and time.monotonic() - at < _RECENT_SECONDS


def _remember(username: str, password: str, stored: str) -> None:
    with _recent_lock:
        _recent[_recent_key(username, password, stored)] = time.monotonic()
        while len(_recent) > 1024:
            _recent.popitem(last=False)


def create_user(
    engine: Engine, username: str, password: str, role: UserRole | str, sites: list[str]
) -> None:
    """Creates a user, or replaces the password, role and sites of an existing one."""
    if len(password) < 8:
        raise ValueError("a password has at least 8 characters")
    store_user(engine, username, hash_password(password), role, sites)


def store_user(
    engine: Engine, username: str, password_hash: str, role: UserRole | str, sites: list[str]
) -> None:
    """Creates or updates a user whose password is already hashed (``hash_password``)."""
    role = UserRole(role)
    if not 0 < len(username) <= 64 or not username.isprintable() or ":" in username:
        raise ValueError("a username has 1 to 64 printable characters, no colon")
    if role == UserRole.SUPERADMIN and sites:
        raise ValueError("a superadmin works for every site: give no site")
    if role == UserRole.ADMIN and not sites:
        raise ValueError(
            "an admin works for the sites given (--site SITE, once per site); "
            "the administrator of every site is role superadmin"
        )
    values: dict[str, Any] = {
        "password_hash": password_hash,
        "role": role.value,
        "sites": list(sites),
    }
    with engine.begin() as conn:
        done = conn.execute(
            sa.update(schema.users).where(schema.users.c.username == username).values(**values)
        )
        if done.rowcount == 0:
            conn.execute(sa.insert(schema.users).values(username=username, **values))


# ---- device tokens ------------------------------------------------------------------------
def new_device_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_d, _s = schema.devices, schema.sites
_DEVICE_BY_TOKEN = db.DriverQuery(
    sa.select(
        _d.c.site,
        _d.c.id,
        _d.c.role,
        _d.c.revoked,
        _d.c.last_seen,
        _d.c.token_hash,
        _s.c.config_version,
        _s.c.last_seq,
    )
    .join(_s, _s.c.id == _d.c.site)
    .where(_d.c.token_hash == sa.bindparam("token_hash"))
)


@dataclass(frozen=True)
class DeviceSession:
    """A device found by its token, with its site's configuration version and last seq
    (read in the same query: an idle sync needs nothing more)."""

    principal: Principal
    config_version: str
    last_seq: int


def device_session(engine: Engine | Connection, token: str) -> DeviceSession | None:
    """The device of ``token`` (None: unknown or revoked), read with ``engine``'s own
    connection or on the caller's ``Connection``."""
    digest = token_hash(token)
    if isinstance(engine, Connection):
        rows = _DEVICE_BY_TOKEN.rows(engine, {"token_hash": digest})
    else:
        with db.read(engine) as conn:
            rows = _DEVICE_BY_TOKEN.rows(conn, {"token_hash": digest})
    row = rows[0] if rows else None
    if row is None or row.revoked or not hmac.compare_digest(row.token_hash, digest):
        return None
    who = Principal("device", row.id, row.role, (row.site,), row.last_seen)
    return DeviceSession(who, row.config_version, int(row.last_seq))


def device_for_token(engine: Engine, token: str) -> Principal | None:
    found = device_session(engine, token)
    return found.principal if found is not None else None


# ---- the Authorization header -------------------------------------------------------------
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="guichet", Basic realm="guichet"'}


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers=_CHALLENGE)


def principal_from_header(
    engine: Engine,
    header: str | None,
    failures: TokenBuckets | None = None,
    client: str = "",
) -> Principal:
    """The caller named by an ``Authorization`` header, or a 401 ``ApiError``.

    With ``failures``, HTTP Basic is checked only while ``client`` (its address) has failed
    sign-ins left in that budget (the one the login form spends), and each failure spends one:
    over it, 429 without looking at the password."""
    if not header:
        raise unauthorized("credentials required (a device token or a user's password)")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        device = device_for_token(engine, value)
        if device is None:
            raise unauthorized("unknown or revoked device token")
        return device
    if scheme.lower() == "basic" and value:
        if failures is not None and not failures.has(client):
            wait = failures.retry_after(client)
            raise ApiError(
                429,
                "rate_limited",
                f"too many failed sign-ins from this address: try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        user = _basic_user(engine, value)
        if user is None:
            if failures is not None:
                failures.allow(client)
            raise unauthorized("wrong username or password")
        return Principal("user", user.username, user.role.value, user.sites)
    raise unauthorized("unsupported Authorization scheme (use Bearer or Basic)")


def _basic_user(engine: Engine, value: str) -> User | None:
    """The user of HTTP Basic credentials ``value`` (base64), None when malformed or wrong."""
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    if not sep:
        return None
    return authenticate_user(engine, username, password)


def device_session_from_header(engine: Engine | Connection, header: str | None) -> DeviceSession:
    """The device named by a Bearer token (401 when unknown). Other credentials get 403
    without being checked: a password is never verified where it could not be used (nor
    guessed there, outside the failed sign-ins' budget)."""
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        found = device_session(engine, value.strip())
        if found is None:
            raise unauthorized("unknown or revoked device token")
        return found
    if not header:
        raise unauthorized("a device token is required")
    raise ApiError(403, "forbidden", "only devices do this (a device token)")
