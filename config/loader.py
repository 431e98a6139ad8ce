"""Reading configuration files, with errors that name the file and the field."""

from __future__ import annotations

import contextvars
import os
import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

_current_file: contextvars.ContextVar[Path | None] = contextvars.ContextVar(
    "guichet_config_file", default=None
)


class ConfigError(Exception):
    """A configuration file that cannot be used. ``problems`` holds one line per error,
    each naming the file and the field."""

    def __init__(self, path: Path | None, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(problems))


MAX_FILE_BYTES = 1_000_000
"""Largest configuration or site file read (bytes): a site with hundreds of devices is a few
tens of kilobytes."""
MAX_TEXT = 4096
"""Longest text any configuration field takes, unless the field says less (characters)."""
MAX_DEPTH = 32
"""Deepest nesting of arrays and tables in a configuration file."""

STRICT = ConfigDict(extra="forbid", allow_inf_nan=False, str_max_length=MAX_TEXT)
"""Configuration of every settings table: unknown fields, infinite or NaN numbers and texts
longer than ``MAX_TEXT`` are errors."""


class GuichetSettings(BaseSettings):
    """Base of every process's settings: TOML file, then environment (which wins)."""

    model_config = SettingsConfigDict(
        env_prefix="GUICHET_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
        allow_inf_nan=False,
        str_max_length=MAX_TEXT,
    )

    def prerequisites(self) -> list[str]:
        """What the process needs on this machine beyond valid fields (folders, files), one
        line per thing missing, each naming the field. ``check-config`` and the process's
        start-up both say them."""
        return []

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _current_file.get()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


S = TypeVar("S", bound=GuichetSettings)
M = TypeVar("M", bound=BaseModel)


def _too_deep(text: str) -> bool:
    """Whether brackets (outside strings and comments) nest deeper than ``MAX_DEPTH``:
    checked before parsing, whose recursion a hostile file could exhaust."""
    depth = 0
    quote = ""
    escaped = False
    comment = False
    for ch in text:
        if comment:
            comment = ch != "\n"
        elif quote:
            if escaped:
                escaped = False
            elif ch == "\\" and quote == '"':
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            comment = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif ch in "]}":
            depth = max(0, depth - 1)
    return False


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML file at ``path``; every way it cannot be read is a ``ConfigError`` naming it."""

    def fail(why: str) -> ConfigError:
        return ConfigError(path, [f"{path}: {why}"])

    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise fail("file not found") from None
    except IsADirectoryError:
        raise fail("is a folder, not a file") from None
    except PermissionError:
        raise fail("permission denied") from None
    except OSError as exc:
        raise fail(f"cannot be read: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise fail(f"larger than {MAX_FILE_BYTES:,} bytes: not a configuration file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise fail(f"line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x})") from None
    if _too_deep(text):
        raise fail(f"arrays or tables nested more than {MAX_DEPTH} deep")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise fail(f"not valid TOML: {exc}") from None
    except RecursionError:
        raise fail(f"arrays or tables nested more than {MAX_DEPTH} deep") from None


def describe(path: Path | None, exc: ValidationError) -> list[str]:
    where = str(path) if path else "<settings>"
    out = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        out.append(f"{where}: field '{field}': {msg}")
    return out


def load_settings(cls: type[S], path: Path | str | None, **overrides: Any) -> S:
    """Builds ``cls`` from the TOML file ``path`` (if any), the environment and ``overrides``."""
    file = Path(path) if path is not None else None
    if file is not None:
        read_toml(file)  # syntax errors and missing files, reported with the file name
    token = _current_file.set(file)
    try:
        return cls(**overrides)
    except ValidationError as exc:
        raise ConfigError(file, describe(file, exc)) from None
    finally:
        _current_file.reset(token)


def _require_role(cls: type[GuichetSettings], file: Path, data: dict[str, Any]) -> None:
    """A process's file must say which process it configures (``role``), as check-config
    requires: an empty file, or another process's, is not taken for this one's."""
    field = cls.model_fields.get("role")
    expected = field.default if field is not None else None
    if not isinstance(expected, str):
        return
    role = data.get("role")
    if role is None:
        raise ConfigError(
            file, [f"{file}: field 'role': missing (this file must say role = \"{expected}\")"]
        )
    if role != expected:
        raise ConfigError(
            file, [f"{file}: field 'role': {role!r} here, but this command needs {expected!r}"]
        )


def writable_folder(field: str, path: Path) -> list[str]:
    """The problem (if any) with making the file ``path`` of ``field``: its folder must exist
    and be writable by this user."""
    folder = path.parent
    if not folder.is_dir():
        return [
            f"field '{field}': folder {folder} does not exist (create it, owned by the user "
            "the process runs as)"
        ]
    if not os.access(folder, os.W_OK | os.X_OK):
        return [f"field '{field}': folder {folder} is not writable by this user"]
    return []


def loadable(field: str, path: Path, cls: type[BaseModel]) -> list[str]:
    """The problems of the TOML file ``path`` of ``field`` read as ``cls``."""
    try:
        load_model(cls, path)
    except ConfigError as exc:
        return [f"field '{field}': {line}" for line in exc.problems]
    return []


def load_ready(cls: type[S], path: Path | str | None, **overrides: Any) -> S:
    """``load_settings``, then a ``ConfigError`` when the process's prerequisites are not met:
    what every process calls at start, so it fails with the lines check-config shows. The
    file must name the process (``role``), as check-config requires."""
    if path is not None:
        _require_role(cls, Path(path), read_toml(Path(path)))
    settings = load_settings(cls, path, **overrides)
    missing = settings.prerequisites()
    if missing:
        where = str(path) if path is not None else "<settings>"
        raise ConfigError(Path(path) if path else None, [f"{where}: {m}" for m in missing])
    return settings


def load_model(cls: type[M], path: Path | str) -> M:
    """Builds a plain model (no environment) from a TOML file, e.g. a site description."""
    file = Path(path)
    data = read_toml(file)
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(file, describe(file, exc)) from None
