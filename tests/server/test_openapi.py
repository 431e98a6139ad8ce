"""The OpenAPI document tells the truth: generated requests (schemathesis, property-based) get
only documented status codes, documented bodies, and never a server error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.server.conftest import start_server
from tests.server.helpers import ADMIN, SITE, Srv

SPEC = "/api/v1/openapi.json"


@pytest.fixture(scope="module")
def fuzz_srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Srv]:
    path: Path = tmp_path_factory.mktemp("fuzz")
    yield from start_server(f"sqlite:///{path}/guichet.db")


CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def fuzzer(op: Any, mode: GenerationMode, base_url: str, headers: dict[str, str]) -> Any:
    @hypothesis.given(case=op.as_strategy(mode))
    @hypothesis.settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        derandomize=True,
        database=None,
    )
    def fuzz(case: Any) -> None:
        case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)

    return fuzz


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_generated_requests_get_documented_answers(fuzz_srv: Srv, mode: GenerationMode) -> None:
    """GIVEN every operation but the endless stream (tests/server/test_stream.py) WHEN
    schemathesis generates valid (positive) or invalid (negative) requests THEN every answer is
    documented, shaped as documented, and invalid requests are refused with a 4xx."""
    schema = schemathesis.openapi.from_url(fuzz_srv.url + SPEC)
    # A body over ``max_body_bytes`` (thousands of generated events) is refused before it is
    # read, with the documented 413: a rejection too.
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    admin = {"Authorization": requests.auth._basic_auth_str(*ADMIN)}
    tried = []
    for result in schema.get_all_operations():
        op = result.ok()  # type: ignore[union-attr]  # an invalid schema raises here
        if op.path.endswith("/stream"):
            continue
        headers = fuzz_srv.device("kiosk-a") if op.path == "/api/v1/sync" else admin
        try:
            fuzzer(op, mode, fuzz_srv.url, headers)()
        except hypothesis.errors.Unsatisfiable:
            # No invalid request exists for an operation without inputs (/healthz).
            assert mode is GenerationMode.NEGATIVE and not op.path.startswith("/api/"), op.path
            continue
        tried.append(f"{op.method.upper()} {op.path}")
    assert len(tried) >= 9, tried


def test_every_operation_documents_its_errors(fuzz_srv: Srv) -> None:
    spec = fuzz_srv.http.get(fuzz_srv.url + SPEC, timeout=10).json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            codes = set(op["responses"])
            assert "200" in codes, (method, path)
            if path.startswith("/api/v1/sites/") or path == "/api/v1/sync":
                assert {"401", "403", "422"} <= codes, (method, path, codes)
            if path.startswith("/api/v1/sites/{site}/") and not path.endswith("/peers"):
                assert "404" in codes, (method, path, codes)  # unknown site, counter...
            for code in codes - {"200"}:
                schema_ref = op["responses"][code]["content"]["application/json"]["schema"]
                assert schema_ref == {"$ref": "#/components/schemas/ErrorBody"}, (path, code)
    assert set(spec["components"]["securitySchemes"]) == {"deviceToken", "userPassword"}
    assert "/api/v1/sites/{site}/counters/{counter}/{action}" in spec["paths"]
    assert SITE  # the fuzzed server holds the test site, so valid ids exist
