"""The configuration reference (docs/configuration.md), generated from the models themselves.

Every field's documentation is the docstring written under it in the model, so the reference
can never drift from the code: ``python -m config.reference > docs/configuration.md``, and a
test checks the committed file is current.
"""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap
import types
import typing
from enum import Enum
from functools import cache

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from config.loader import MAX_DEPTH, MAX_FILE_BYTES, MAX_TEXT


@cache
def _docstrings(cls: type) -> dict[str, str]:
    """Field name -> the docstring written under it, for ``cls`` and its bases."""
    out: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass is object or not issubclass(klass, BaseModel) or klass is BaseModel:
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, after in zip(body, [*body[1:], None], strict=True):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                out[node.target.id] = " ".join(inspect.cleandoc(after.value.value).split())
    return out


def _models_in(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += _models_in(arg)
    return found


def _type_name(annotation: object) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if origin is typing.Literal:
        return " \\| ".join(repr(a).replace("'", '"') for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join(_type_name(a) for a in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if annotation is type(None):
        return "none"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " \\| ".join(f'"{m.value}"' for m in annotation)
    return getattr(annotation, "__name__", str(annotation))


def _default(field: typing.Any) -> str:
    if field.default is not PydanticUndefined:
        value = field.default
    elif field.default_factory is not None:
        try:
            value = field.default_factory()
        except TypeError:
            return "(computed)"
    else:
        return "**required**"
    if isinstance(value, BaseModel):
        return "(see below)"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{value}`".replace("True", "true").replace("False", "false").replace("None", "—")


def rows(model: type[BaseModel], prefix: str = "") -> list[str]:
    docs = _docstrings(model)
    out: list[str] = []
    nested: list[tuple[str, type[BaseModel]]] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        out.append(
            f"| `{key}` | {_type_name(field.annotation)} | {_default(field)} "
            f"| {docs.get(name, '')} |"
        )
        for sub in _models_in(field.annotation):
            nested.append(
                (
                    f"{key}."
                    if len(_models_in(field.annotation)) == 1
                    else f"{key}.({sub.__name__}).",
                    sub,
                )
            )
    for sub_prefix, sub in nested:
        out += rows(sub, sub_prefix)
    return out


def reference() -> str:
    from config.display import DisplaySettings
    from config.kiosk import KioskSettings
    from config.server import ServerSettings
    from config.site import CounterConfig, DeviceConfig, ServiceConfig, SiteInfo

    sections: list[tuple[str, str, list[tuple[str, type[BaseModel]]]]] = [
        ("Server", "`guichet server --config server.toml`", [("", ServerSettings)]),
        ("Kiosk", "`guichet kiosk --config kiosk.toml`", [("", KioskSettings)]),
        ("Display board", "`guichet display --config display.toml`", [("", DisplaySettings)]),
        (
            "Site",
            "`guichet site load site.toml`: tables `[site]`, `[[services]]`, "
            "`[[counters]]`, `[[devices]]`",
            [
                ("site.", SiteInfo),
                ("services[].", ServiceConfig),
                ("counters[].", CounterConfig),
                ("devices[].", DeviceConfig),
            ],
        ),
    ]
    out = [
        "# Configuration reference",
        "",
        "Generated from the configuration models by `python -m config.reference`; do not edit.",
        "Files are TOML. For the server, kiosk and board, every key can also be set in the",
        "environment as `GUICHET_<KEY>`, nested keys joined by `__` (`GUICHET_SERVER__URL`);",
        "the environment wins over the file. `guichet check-config FILE` validates any file and",
        "names the file and the field of each problem. Examples: `config/examples/`.",
        "",
        "A process's file must say which process it configures (`role`). A file is UTF-8 text",
        f"of at most {MAX_FILE_BYTES:,} bytes, nested at most {MAX_DEPTH} deep; a text field",
        f"holds at most {MAX_TEXT:,} characters unless its own limit is lower, and numbers are",
        "finite (no `inf` or `nan`). Beyond the fields, `check-config` checks what the process",
        "needs at start and each process refuses to start without, in the same words: the",
        "database answers (PostgreSQL) or its folder exists (SQLite), `workers` above 1 only",
        "on PostgreSQL, the `site_files` / `site_file` are valid site files, the folder of a",
        "device's `journal_path` exists and is writable, a board's `logo` exists. It says what",
        "it could not check (ports, other machines, another user's rights). Every command exits",
        "2 on a file it cannot use.",
    ]
    for title, intro, models in sections:
        out += [
            "",
            f"## {title}",
            "",
            intro,
            "",
            "| key | type | default | meaning |",
            "|---|---|---|---|",
        ]
        for prefix, model in models:
            out += rows(model, prefix)
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(reference())
