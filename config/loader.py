"""Reading configuration files, with errors that name the file and the field."""

from __future__ import annotations

import contextvars
import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
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


class GuichetSettings(BaseSettings):
    """Base of every process's settings: TOML file, then environment (which wins)."""

    model_config = SettingsConfigDict(
        env_prefix="GUICHET_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

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


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(path, [f"{path}: file not found"]) from None
    except PermissionError:
        raise ConfigError(path, [f"{path}: permission denied"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [f"{path}: not valid TOML: {exc}"]) from None


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


def load_model(cls: type[M], path: Path | str) -> M:
    """Builds a plain model (no environment) from a TOML file, e.g. a site description."""
    file = Path(path)
    data = read_toml(file)
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(file, describe(file, exc)) from None
