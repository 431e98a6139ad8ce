"""guichet site load, guichet user add, guichet server's refusals; schema migrations."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from config.server import ServerSettings
from guichet.cli import main
from server import migrations, schema, store
from server.auth import authenticate_user, token_hash
from server.db import create_db_engine
from server.run import ServerThread

EXAMPLE_SITE = Path(__file__).resolve().parents[2] / "config" / "examples" / "site-townhall.toml"


def server_toml(tmp_path: Path, database_url: str | None = None) -> Path:
    url = database_url or f"sqlite:///{tmp_path}/guichet.db"
    path = tmp_path / "server.toml"
    path.write_text(f'role = "server"\ndatabase_url = "{url}"\n', encoding="utf-8")
    return path


def test_site_load_writes_new_tokens_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = server_toml(tmp_path)
    tokens_file = tmp_path / "secrets" / "tokens.toml"
    assert (
        main(
            [
                "site",
                "load",
                str(EXAMPLE_SITE),
                "--config",
                str(config),
                "--token-file",
                str(tokens_file),
            ]
        )
        == 0
    )
    tokens = tomllib.loads(tokens_file.read_text())["tokens"]
    assert set(tokens) == {"kiosk-entree", "board-salle"}
    assert tokens_file.stat().st_mode & 0o777 == 0o600
    out = capsys.readouterr().out
    assert tokens["kiosk-entree"] not in out
    engine = create_db_engine(f"sqlite:///{tmp_path}/guichet.db")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, token_hash FROM devices")).all()
    stored = {r.id: r.token_hash for r in rows}
    engine.dispose()
    assert stored == {dev: token_hash(tok) for dev, tok in tokens.items()}
    # loading again keeps the tokens and says so
    assert main(["site", "load", str(EXAMPLE_SITE), "--config", str(config)]) == 0
    assert "every device already has a token" in capsys.readouterr().out
    # the token works against a server on that database
    with ServerThread(ServerSettings(database_url=f"sqlite:///{tmp_path}/guichet.db")) as srv:
        r = requests.post(
            f"{srv.url}/api/v1/sync",
            headers={"Authorization": f"Bearer {tokens['board-salle']}"},
            json={"device": "board-salle"},
            timeout=10,
        )
    assert r.status_code == 200


def test_site_load_prints_tokens_without_a_token_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["site", "load", str(EXAMPLE_SITE), "--config", str(server_toml(tmp_path))]) == 0
    out = capsys.readouterr().out
    printed = tomllib.loads(out[out.index("[tokens]") :])["tokens"]
    assert set(printed) == {"kiosk-entree", "board-salle"}


def test_site_load_of_a_bad_file_names_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "site.toml"
    bad.write_text('[site]\nid = "Bad Id"\nname = "x"\n', encoding="utf-8")
    assert main(["site", "load", str(bad), "--config", str(server_toml(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "site.id" in err


def test_user_add_reads_the_password_from_stdin_or_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = server_toml(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
    assert (
        main(
            ["user", "add", "alice", "--role", "agent", "--site", "mairie", "--config", str(config)]
        )
        == 0
    )
    secret = tmp_path / "pw"
    secret.write_text("another password\n", encoding="utf-8")
    assert (
        main(
            [
                "user",
                "add",
                "bob",
                "--role",
                "manager",
                "--site",
                "mairie",
                "--site",
                "annexe",
                "--config",
                str(config),
                "--password-file",
                str(secret),
            ]
        )
        == 0
    )
    engine = create_db_engine(f"sqlite:///{tmp_path}/guichet.db")
    alice = authenticate_user(engine, "alice", "a long password")
    bob = authenticate_user(engine, "bob", "another password")
    assert authenticate_user(engine, "alice", "a long passwor") is None
    engine.dispose()
    assert alice is not None and (alice.role, alice.sites) == ("agent", ("mairie",))
    assert bob is not None and (bob.role, bob.sites) == ("manager", ("mairie", "annexe"))
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["user", "add", "carol", "--role", "agent", "--config", str(config)]) == 2
    assert "at least 8 characters" in capsys.readouterr().err


def test_server_refuses_several_workers_on_sqlite_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = server_toml(tmp_path)
    assert main(["server", "--config", str(config), "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert "field 'workers'" in err and "need PostgreSQL" in err and str(config) in err
    assert main(["server", "--config", str(config), "--workers", "0"]) == 2
    assert "field 'workers': Input should be greater than or equal to 1" in capsys.readouterr().err
    assert not (tmp_path / "guichet.db").exists()  # refused before touching the database


def test_several_workers_with_an_unreachable_database_fail_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pg = server_toml(tmp_path, "postgresql://postgres@127.0.0.1:1/none")
    assert main(["server", "--config", str(pg), "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert f"{pg}: field 'database_url': PostgreSQL cannot be used: " in err


def test_migrations_apply_once_and_record_their_version(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path}/m.db")
    assert migrations.migrate(engine) == migrations.STEPS[-1].version
    assert migrations.migrate(engine) == migrations.STEPS[-1].version
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT version FROM schema_version")).scalars().all()
        mode = conn.execute(sa.text("PRAGMA journal_mode")).scalar_one()
        fk = conn.execute(sa.text("PRAGMA foreign_keys")).scalar_one()
    engine.dispose()
    assert rows == [s.version for s in migrations.STEPS]
    assert (mode, fk) == ("wal", 1)


def test_migrations_on_postgres(postgres_url: str) -> None:
    engine = create_db_engine(postgres_url)
    assert migrations.migrate(engine) == migrations.STEPS[-1].version
    assert migrations.migrate(engine) == migrations.STEPS[-1].version
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    engine.dispose()
    assert {"sites", "events", "numbering", "leases", "devices", "users"} <= tables


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_a_database_of_version_2_gets_the_events_corrected_times(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """GIVEN a database at schema version 2 (events without ``occurred_at``) holding an event
    WHEN the server starts (migrations) THEN the column is there, the old event has none, and
    its clock stands for its time."""
    url = (
        f"sqlite:///{tmp_path}/m.db"
        if database == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    engine = create_db_engine(url)
    migrations.migrate(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE events DROP COLUMN occurred_at"))
        conn.execute(sa.text("DELETE FROM schema_version WHERE version >= 3"))
        conn.execute(
            sa.text(
                "INSERT INTO sites (id, name, config, config_version, last_seq) "
                "VALUES ('s', 'S', '{}', 'v', 1)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO events (site, seq, id, kind, hlc, device, wall_time, received_at, "
                "ticket, data) VALUES ('s', 1, 'e1', 'CounterOpened', "
                "'001763900000000-000000-board', 'board', 5.0, 6.0, NULL, '{\"counter\": \"1\"}')"
            )
        )
    assert migrations.migrate(engine) == migrations.STEPS[-1].version
    with engine.connect() as conn:
        row = conn.execute(sa.select(schema.events)).one()
    engine.dispose()
    assert row.occurred_at is None and row.original_hlc is None
    assert store.row_event(row).at == 1_763_900_000.0
