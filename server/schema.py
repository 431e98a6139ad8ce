"""The server's tables (SQLAlchemy Core). Created and changed only by ``server.migrations``.

A change to a table here needs a new migration step there: databases in the field are at
older versions and are brought forward step by step.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("applied_at", sa.Float(53), nullable=False),
    # The oldest program (by the newest step it knows) that may serve the database once this
    # step is applied; 0 for an additive step (server/migrations.py). Added by ``migrate``
    # itself, not by a step, so a server that predates it runs beside one that has it.
    sa.Column("oldest_server", sa.Integer, nullable=True),
)

sites = sa.Table(
    "sites",
    metadata,
    sa.Column("id", sa.String(63), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    # SiteConfig as JSON (``SiteConfig.model_dump(mode="json")``).
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("config_version", sa.String(32), nullable=False),
    # The sequence number of the site's newest event (0: none yet).
    sa.Column("last_seq", sa.BigInteger, nullable=False, default=0),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("site", sa.String(63), sa.ForeignKey("sites.id"), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("id", sa.String(36), nullable=False, unique=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("hlc", sa.String(96), nullable=False),
    sa.Column("device", sa.String(128), nullable=False),
    sa.Column("wall_time", sa.Float(53), nullable=False),
    sa.Column("received_at", sa.Float(53), nullable=False),
    # When the event happened on the server's clock: its wall time corrected by the device's
    # clock error measured at the sync that brought it (NULL: not measured; its clock stands).
    sa.Column("occurred_at", sa.Float(53), nullable=True),
    # The stamp its author gave it, when the server re-stamped it at receipt (NULL: ``hlc`` is
    # the author's): a stamp that cannot be a time (docs/architecture.md, "Time").
    sa.Column("original_hlc", sa.String(96), nullable=True),
    sa.Column("ticket", sa.String(128), nullable=True),
    sa.Column("data", sa.JSON, nullable=False),
    # Its author's signature (tickets.signing; NULL for events stored unsigned).
    sa.Column("sig", sa.String(64), nullable=True),
    sa.Index("events_site_hlc", "site", "hlc"),
    sa.Index("events_site_ticket", "site", "ticket"),
)

ticket_tokens = sa.Table(
    "ticket_tokens",
    metadata,
    # The follow-my-ticket secret of a TicketIssued event.
    sa.Column("token", sa.String(128), primary_key=True),
    sa.Column("site", sa.String(63), sa.ForeignKey("sites.id"), nullable=False),
    sa.Column("ticket", sa.String(128), nullable=False),
)

numbering = sa.Table(
    "numbering",
    metadata,
    sa.Column("site", sa.String(63), sa.ForeignKey("sites.id"), primary_key=True),
    sa.Column("service", sa.String(63), primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("next_free", sa.Integer, nullable=False),
)

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("site", sa.String(63), sa.ForeignKey("sites.id"), nullable=False),
    sa.Column("service", sa.String(63), nullable=False),
    sa.Column("day", sa.String(10), nullable=False),
    sa.Column("device", sa.String(63), nullable=False),
    sa.Column("start", sa.Integer, nullable=False),
    sa.Column("end", sa.Integer, nullable=False),
    sa.Column("granted_at", sa.Float(53), nullable=False),
    # The device's id for the request (NULL: a device that sends none): the same request
    # again (its answer lost) is answered with the same block.
    sa.Column("request", sa.String(64), nullable=True),
    sa.PrimaryKeyConstraint("site", "service", "day", "start"),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    # sha256 (hex) of a user's API token (scripts: statistics exports); never the token.
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, index=True),
    sa.Column("created_at", sa.Float(53), nullable=False),
)

devices = sa.Table(
    "devices",
    metadata,
    sa.Column("site", sa.String(63), sa.ForeignKey("sites.id"), primary_key=True),
    sa.Column("id", sa.String(63), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    # sha256 (hex) of the device's bearer token; the token itself is never stored.
    sa.Column("token_hash", sa.String(64), nullable=True, unique=True),
    sa.Column("revoked", sa.Boolean, nullable=False, default=False),
    sa.Column("health", sa.JSON, nullable=True),
    sa.Column("last_seen", sa.Float(53), nullable=True),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    # argon2id hash.
    sa.Column("password_hash", sa.Text, nullable=False),
    # agent, manager or admin.
    sa.Column("role", sa.String(16), nullable=False),
    # Site ids this user works for (an admin works for every site).
    sa.Column("sites", sa.JSON, nullable=False),
)

site_files = sa.Table(
    "site_files",
    metadata,
    # The site file a site was last loaded from at start-up (``ServerSettings.site_files``):
    # a file is loaded again only when its content changed, so edits made on the
    # administration pages survive restarts.
    sa.Column("site", sa.String(63), sa.ForeignKey("sites.id"), primary_key=True),
    sa.Column("path", sa.Text, nullable=False),
    # sha256 (hex) of the file's bytes.
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("loaded_at", sa.Float(53), nullable=False),
)

server_keys = sa.Table(
    "server_keys",
    metadata,
    # Secrets every server process of the database shares, made once: "web_session" signs the
    # web pages' session cookies when the settings give no ``secret_key``.
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float(53), nullable=False),
)

appointments = sa.Table(
    "appointments",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("site", sa.String(63), sa.ForeignKey("sites.id"), nullable=False),
    sa.Column("service", sa.String(63), nullable=False),
    # When the slot starts (seconds since the epoch) and its site-local day (ISO date).
    sa.Column("starts_at", sa.BigInteger, nullable=False),
    sa.Column("day", sa.String(10), nullable=False),
    # Which of the slot's parallel places the appointment holds (0 .. parallel - 1); NULL once
    # cancelled. The unique constraint below is what makes a slot impossible to overbook, by
    # any number of server processes: two bookings of one place cannot both commit.
    sa.Column("seat", sa.Integer, nullable=True),
    # Short code (to type at the kiosk or on the public pages) and the secret of the link.
    sa.Column("code", sa.String(16), nullable=False),
    sa.Column("token", sa.String(64), nullable=False, unique=True),
    # booked, cancelled, checked_in.
    sa.Column("status", sa.String(16), nullable=False),
    # web, console, kiosk or api.
    sa.Column("channel", sa.String(16), nullable=False),
    # What the messages need, nothing more (each optional).
    sa.Column("name", sa.Text, nullable=True),
    sa.Column("email", sa.Text, nullable=True),
    sa.Column("phone", sa.Text, nullable=True),
    sa.Column("lang", sa.String(8), nullable=False),
    # Reception's note for the counter agent.
    sa.Column("note", sa.Text, nullable=False, default=""),
    # The ticket of its check-in.
    sa.Column("ticket", sa.String(128), nullable=True),
    sa.Column("created_at", sa.Float(53), nullable=False),
    sa.Column("updated_at", sa.Float(53), nullable=False),
    # When the reminder of the day before was sent (NULL: not yet); one process sends it.
    sa.Column("reminded_at", sa.Float(53), nullable=True),
    # When the person was told the appointment runs late (NULL: not yet); one process tells.
    sa.Column("late_notice_at", sa.Float(53), nullable=True),
    # What they chose then: "wait" or "rebook" (NULL: nothing yet).
    sa.Column("late_choice", sa.String(8), nullable=True),
    sa.UniqueConstraint("site", "service", "starts_at", "seat", name="appointments_one_per_seat"),
    sa.UniqueConstraint("site", "code", name="appointments_site_code"),
    sa.CheckConstraint("seat >= 0", name="appointments_seat_positive"),
    sa.Index("appointments_site_day", "site", "day"),
)

# "How was your visit?": one answer per ticket (the follow page or the counter's tablet), the last
# one kept. Nothing personal: the ticket's id, its service and day, the answer and where from.
feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("site", sa.String(63), sa.ForeignKey("sites.id"), primary_key=True),
    sa.Column("ticket", sa.String(128), primary_key=True),
    sa.Column("service", sa.String(63), nullable=False),
    sa.Column("day", sa.String(10), nullable=False),
    # 1 not good, 2 so-so, 3 good.
    sa.Column("score", sa.SmallInteger, nullable=False),
    # phone (the follow page) or counter (the tablet at the counter).
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("at", sa.Float(53), nullable=False),
    sa.Index("feedback_site_day", "site", "day"),
)


first_free = sa.Table(
    "first_free",
    metadata,
    # A service's first free appointment slot as the server first saw it on a site-local day
    # (the booking delay, day by day: docs/statistics.md "Appointments").
    sa.Column("site", sa.String(63), sa.ForeignKey("sites.id"), primary_key=True),
    sa.Column("service", sa.String(63), primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),
    # The slot's start (seconds since the epoch); NULL: no free slot within the horizon.
    sa.Column("start", sa.BigInteger, nullable=True),
    sa.Column("seen_at", sa.Float(53), nullable=False),
)


# A walk-in's contact, left on the follow page to be told when few people are ahead: the one
# message's recipient, deleted when the ticket ends (called, served, no-show, cancelled: in the
# transaction that stores that event, ``server.store.forget_contacts``).
ticket_contacts = sa.Table(
    "ticket_contacts",
    metadata,
    sa.Column("site", sa.String(63), sa.ForeignKey("sites.id"), primary_key=True),
    sa.Column("ticket", sa.String(128), primary_key=True),
    sa.Column("email", sa.Text, nullable=True),
    sa.Column("phone", sa.Text, nullable=True),
    sa.Column("lang", sa.String(8), nullable=False),
    sa.Column("created_at", sa.Float(53), nullable=False),
    # When the message went (NULL: not yet); one process sends it. The contact is blanked then.
    sa.Column("notified_at", sa.Float(53), nullable=True),
)
