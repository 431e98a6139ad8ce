"""Files no process can use: every command says why in one line naming the file, exit 2, and
check-config says what the process would then die on, in the same words."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from config.display import DisplaySettings
from config.loader import MAX_DEPTH, ConfigError, load_model, load_settings, read_toml
from config.server import ServerSettings
from config.site import SiteConfig
from guichet.cli import main
from tests.conftest import PG_ADMIN_URL

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "examples"
SITE = EXAMPLES / "site-townhall.toml"


def bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Each kind of unusable file and the words its message must hold."""
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(b'role = "server"\npublic_url = "http://mairie-\xe9vry.fr"\n')
    deep = tmp_path / "deep.toml"
    deep.write_text('role = "server"\nx = ' + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    huge = tmp_path / "huge.toml"
    huge.write_text('role = "server"\n# ' + "x" * 2_000_000 + "\n", encoding="utf-8")
    return {
        "folder": (folder, "is a folder, not a file"),
        "latin1": (latin1, "line 2: not UTF-8 text (byte 0xe9)"),
        "deep": (deep, f"nested more than {MAX_DEPTH} deep"),
        "huge": (huge, "not a configuration file"),
    }


COMMANDS = [
    ["check-config", "{f}"],
    ["server", "--config", "{f}"],
    ["kiosk", "--config", "{f}"],
    ["display", "--config", "{f}"],
    ["doctor", "--config", "{f}"],
    ["printer", "test", "--config", "{f}"],
    ["site", "load", "{f}"],
    ["simulate", "--config", "{f}"],
    ["user", "add", "x", "--role", "agent", "--config", "{f}", "--password-file", "{pw}"],
]


def test_every_command_refuses_an_unusable_file_with_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    password = tmp_path / "password"
    password.write_text("a good password\n", encoding="utf-8")
    for kind, (path, words) in bad_files(tmp_path).items():
        for command in COMMANDS:
            argv = [a.format(f=path, pw=password) for a in command]
            assert main(argv) == 2, (kind, argv)
            said = capsys.readouterr()
            # the doctor reports on stdout, one line per check
            err = said.out if argv[0] == "doctor" else said.err
            assert f"{path}: " in err and words in err, (kind, argv, err)


def test_the_command_line_prints_no_traceback(tmp_path: Path) -> None:
    path, _ = bad_files(tmp_path)["deep"]
    result = subprocess.run(
        [sys.executable, "-m", "guichet", "server", "--config", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"{path}: arrays or tables nested more than {MAX_DEPTH} deep"


def test_nesting_within_the_limit_and_brackets_in_strings_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    path.write_text(
        'a = "[[[[" # ]]]]\nb = ' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\nc = '{{{{'\n",
        encoding="utf-8",
    )
    assert read_toml(path)["a"] == "[[[["


@pytest.mark.parametrize("text", ["", "port = 8000\n", 'role = "kiosk"\n'])
def test_the_server_refuses_a_file_that_is_not_a_server_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    path = tmp_path / "server.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["server", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{path}: field 'role': ")
    assert main(["check-config", str(path)]) == 2


# ---- bounds ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("max_clock_skew_seconds = inf", "max_clock_skew_seconds"),
        ("max_clock_skew_seconds = nan", "max_clock_skew_seconds"),
        ("session_minutes = 1000000000000000", "session_minutes"),
        (f'secret_key = "{"s" * 20_000}"', "secret_key"),
        ("max_body_bytes = 10000000000", "max_body_bytes"),
    ],
)
def test_server_numbers_and_sizes_are_bounded(tmp_path: Path, line: str, field: str) -> None:
    path = tmp_path / "server.toml"
    path.write_text(f'role = "server"\n{line}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(ServerSettings, path)
    assert f"field '{field}'" in str(caught.value)


def test_a_huge_board_message_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "display.toml"
    path.write_text(
        f'role = "display"\nsite = "s"\ndevice_id = "b"\nmessage = "{"x" * 500_000}"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="field 'message': String should have at most 500"):
        load_settings(DisplaySettings, path)


def test_a_huge_site_name_is_refused(tmp_path: Path) -> None:
    text = SITE.read_text(encoding="utf-8")
    start = text.index("name = ", text.index("[site]"))
    end = text.index("\n", start)
    path = tmp_path / "site.toml"
    path.write_text(text[:start] + f'name = "{"N" * 100_000}"' + text[end:], encoding="utf-8")
    with pytest.raises(ConfigError, match=r"field 'site\.name': String should have at most 200"):
        load_model(SiteConfig, path)


# ---- what the process needs beyond its fields -----------------------------------------------
def check_then_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], role: str, text: str
) -> tuple[Path, str]:
    """Writes ``role``'s file; returns it and check-config's errors, after checking that the
    process started on it says the same lines; both exit 2."""
    path = tmp_path / f"{role}.toml"
    path.write_text(f'role = "{role}"\n{text}', encoding="utf-8")
    assert main(["check-config", str(path)]) == 2
    checked = capsys.readouterr()
    assert "not checked: " in checked.out  # says what it could not check
    assert main([role, "--config", str(path)]) == 2
    started = capsys.readouterr().err
    assert started == checked.err
    return path, started


def test_missing_sqlite_folder_and_workers_on_sqlite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = f'database_url = "sqlite:///{tmp_path}/nowhere/g.db"\nworkers = 2\n'
    path, err = check_then_start(tmp_path, capsys, "server", text)
    assert f"{path}: field 'workers': 2 workers need PostgreSQL" in err
    assert f"{path}: field 'database_url': folder {tmp_path}/nowhere does not exist" in err


def test_missing_or_malformed_site_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[site]\nid = 'x'\n", encoding="utf-8")
    text = (
        f'database_url = "sqlite:///{tmp_path}/g.db"\n'
        f'site_files = ["{tmp_path}/absent.toml", "{broken}"]\n'
    )
    _, err = check_then_start(tmp_path, capsys, "server", text)
    assert f"field 'site_files': {tmp_path}/absent.toml: file not found" in err
    assert f"field 'site_files': {broken}: field 'site.name': Field required" in err


def test_postgresql_database_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    text = f'database_url = "{base}/guichet_no_such_database"\n'
    path, err = check_then_start(tmp_path, capsys, "server", text)
    if "does not exist" not in err:
        pytest.skip(f"PostgreSQL at {base} did not answer: {err}")
    assert f"{path}: field 'database_url': PostgreSQL cannot be used: " in err


def test_postgresql_unreachable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    text = f'database_url = "postgresql://x@127.0.0.1:{port}/guichet"\n'
    path, err = check_then_start(tmp_path, capsys, "server", text)
    assert f"{path}: field 'database_url': PostgreSQL cannot be used: " in err
    assert "refused" in err


@pytest.mark.parametrize("role", ["display", "kiosk"])
def test_device_journal_folder_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], role: str
) -> None:
    text = f'site = "s"\ndevice_id = "d"\njournal_path = "{tmp_path}/gone/journal.sqlite3"\n'
    path, err = check_then_start(tmp_path, capsys, role, text)
    assert err == f"{path}: field 'journal_path': folder {tmp_path}/gone does not exist " + (
        "(create it, owned by the user the process runs as)\n"
    )
