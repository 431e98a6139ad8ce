"""Users' API tokens: read-only access for scripts (open-data jobs, BI tools) to the queue and
the statistics exports, without a password in the script.

A token is issued to a manager or an admin, of some sites or of every site (``guichet user
token NAME``), shown once and stored only as its sha256. It is sent as ``Authorization:
Bearer gq_…``; the caller is its user, with the user's sites, but may only read
(``Permission.READ`` and ``Permission.STATS``): no counter action, no ticket. A user whose
role drops below manager, or who is deleted, loses their tokens' access at once; ``--revoke``
deletes them.
"""

from __future__ import annotations

import secrets
import time

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server import db, schema
from server.auth import Permission, Principal, UserRole, get_user, token_hash, unauthorized

PREFIX = "gq_"
"""Marks a user's API token (device tokens never start with it)."""
ROLES = frozenset({UserRole.MANAGER, UserRole.ADMIN, UserRole.SUPERADMIN})
SCOPES = frozenset({Permission.READ, Permission.STATS})


def bearer_token(header: str | None) -> str | None:
    """The API token of an ``Authorization`` header, or None (another kind of credentials)."""
    scheme, _, value = (header or "").partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value.startswith(PREFIX):
        return value
    return None


def create(engine: Engine, username: str) -> str:
    """A new token for a manager or admin (ValueError for anyone else)."""
    found = get_user(engine, username)
    if found is None:
        raise ValueError("no such user")
    if found[0].role not in ROLES:
        raise ValueError(f"API tokens are for managers and admins, not {found[0].role.value}s")
    token = PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(schema.api_tokens).values(
                token_hash=token_hash(token), username=username, created_at=time.time()
            )
        )
    return token


def revoke(engine: Engine, username: str) -> int:
    """Deletes every token of the user; returns how many there were."""
    with engine.begin() as conn:
        done = conn.execute(
            sa.delete(schema.api_tokens).where(schema.api_tokens.c.username == username)
        )
    return int(done.rowcount or 0)


def principal(engine: Engine, token: str) -> Principal:
    """The read-only caller of a token (a 401 ``ApiError`` for an unknown or revoked one)."""
    t = schema.api_tokens
    with db.read(engine) as conn:
        username = conn.execute(
            sa.select(t.c.username).where(t.c.token_hash == token_hash(token))
        ).scalar()
    found = get_user(engine, username) if username is not None else None
    if found is None or found[0].role not in ROLES:
        raise unauthorized("unknown or revoked API token")
    user = found[0]
    return Principal("user", user.username, user.role.value, user.sites, scopes=SCOPES)
