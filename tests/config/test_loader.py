"""Configuration files: precedence of sources and errors that name the file and the field."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.display import DisplaySettings
from config.kiosk import KioskSettings
from config.loader import ConfigError, load_model, load_settings
from config.server import ServerSettings
from config.site import SiteConfig

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "examples"


def write(tmp_path: Path, text: str, name: str = "conf.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("cls", "name"),
    [
        (ServerSettings, "server.toml"),
        (KioskSettings, "kiosk.toml"),
        (DisplaySettings, "display.toml"),
    ],
)
def test_every_example_file_loads(cls: type, name: str) -> None:
    settings = load_settings(cls, EXAMPLES / name)
    assert settings.role == name.removesuffix(".toml")


def test_example_site_has_four_services_and_five_counters() -> None:
    site = load_model(SiteConfig, EXAMPLES / "site-townhall.toml").to_domain()
    assert [s.prefix for s in site.services] == ["A", "B", "C", "D"]
    assert len(site.counters) == 5
    assert site.counter("3") is not None
    assert site.counter("3").services == ("passeports", "etat-civil")  # type: ignore[union-attr]


def test_environment_overrides_the_file_with_nested_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a kiosk file with a server URL WHEN GUICHET_SERVER__URL is set THEN it wins,
    while fields the environment does not name keep the file's values."""
    path = write(
        tmp_path,
        'site = "mairie"\ndevice_id = "k1"\nlong_wait_minutes = 20\n'
        '[server]\nurl = "http://file.example:8000"\ntoken = "from-file"\n',
    )
    monkeypatch.setenv("GUICHET_SERVER__URL", "http://env.example:9000")
    settings = load_settings(KioskSettings, path)
    assert str(settings.server.url) == "http://env.example:9000/"
    assert settings.server.token == "from-file"
    assert settings.long_wait_minutes == 20


def test_keyword_overrides_win_over_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, 'site = "mairie"\ndevice_id = "k1"\n')
    monkeypatch.setenv("GUICHET_DEVICE_ID", "from-env")
    assert load_settings(KioskSettings, path, device_id="explicit").device_id == "explicit"
    assert load_settings(KioskSettings, path).device_id == "from-env"


def test_bad_values_name_the_file_and_every_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'site = "Not An Id"\ndevice_id = "k1"\ncolour = "red"\n[printer]\npaper_mm = 70\n',
    )
    with pytest.raises(ConfigError) as err:
        load_settings(KioskSettings, path)
    text = str(err.value)
    assert all(line.startswith(f"{path}: field ") for line in err.value.problems)
    assert "'site'" in text
    assert "'printer.paper_mm'" in text
    assert "'colour': unknown field" in text


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "site = \n")
    with pytest.raises(ConfigError) as err:
        load_settings(KioskSettings, path)
    assert str(path) in str(err.value)
    assert "not valid TOML" in str(err.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(ServerSettings, tmp_path / "absent.toml")


def test_site_with_counter_on_unknown_service_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[site]\nid = "s"\nname = "S"\n'
        '[[services]]\nid = "a"\nprefix = "A"\nnames = { fr = "A" }\n'
        '[[counters]]\nid = "1"\nlabel = "G1"\nservices = ["b"]\n',
    )
    with pytest.raises(ConfigError, match="unknown service 'b'"):
        load_model(SiteConfig, path)


def test_overlapping_offline_ranges_are_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[site]\nid = "s"\nname = "S"\n'
        '[[services]]\nid = "a"\nprefix = "A"\nnames = { fr = "A" }\n'
        '[[devices]]\nid = "k1"\nrole = "kiosk"\noffline_range = [900, 950]\n'
        '[[devices]]\nid = "k2"\nrole = "kiosk"\noffline_range = [950, 999]\n',
    )
    with pytest.raises(ConfigError, match="overlap"):
        load_model(SiteConfig, path)


def test_bad_opening_hours_are_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[site]\nid = "s"\nname = "S"\n'
        '[[services]]\nid = "a"\nprefix = "A"\nnames = { fr = "A" }\n'
        'hours = { mon = ["12:00-09:00"] }\n',
    )
    with pytest.raises(ConfigError, match="ends before it starts"):
        load_model(SiteConfig, path)


def check_config(path: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "guichet", "check-config", str(path)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_check_config_exits_2_and_prints_file_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, 'role = "display"\nsite = "mairie"\nhistory = 0\n')
    result = check_config(path)
    assert result.returncode == 2
    assert f"{path}: field 'history'" in result.stderr
    assert f"{path}: field 'device_id': Field required" in result.stderr


def test_check_config_accepts_the_examples(tmp_path: Path) -> None:
    """GIVEN the example files, with the machine's paths (database folder, journal, site file)
    pointed into a temporary folder through the environment WHEN checked THEN all pass."""
    env = {
        "GUICHET_DATABASE_URL": f"sqlite:///{tmp_path}/guichet.db",
        "GUICHET_SITE_FILES": f'["{EXAMPLES / "site-townhall.toml"}"]',
        "GUICHET_JOURNAL_PATH": str(tmp_path / "journal.sqlite3"),
        "GUICHET_SITE_FILE": str(EXAMPLES / "site-townhall.toml"),
    }
    for name in ("server.toml", "kiosk.toml", "display.toml", "site-townhall.toml"):
        result = check_config(EXAMPLES / name, env)
        assert result.returncode == 0, result.stderr
        assert "OK" in result.stdout


def test_check_config_says_what_the_examples_lack_on_this_machine() -> None:
    """The example server file names /var/lib/guichet and /etc/guichet/site.toml: on a machine
    without them check-config says so, as the server would at start."""
    result = check_config(EXAMPLES / "server.toml")
    if Path("/etc/guichet/site.toml").exists():
        pytest.skip("this machine has /etc/guichet/site.toml")
    assert result.returncode == 2
    assert "field 'site_files': /etc/guichet/site.toml: file not found" in result.stderr


def test_check_config_refuses_a_file_without_role(tmp_path: Path) -> None:
    result = check_config(write(tmp_path, "port = 8000\n"))
    assert result.returncode == 2
    assert "field 'role'" in result.stderr


def test_a_service_in_an_unknown_category_is_refused(tmp_path: Path) -> None:
    from tests.sites import big_site

    site = big_site(tmp_path / "site.toml", 4, categories=True)
    assert len(load_model(SiteConfig, site).categories) == 4
    text = site.read_text(encoding="utf-8").replace('category = "famille"', 'category = "loisirs"')
    site.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_model(SiteConfig, site)
    assert "unknown category 'loisirs'" in str(err.value)
