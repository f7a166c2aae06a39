"""Call a handler like Lambda does and read its API Gateway proxy response."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass
class HttpResult:
    status: int
    headers: dict[str, str]
    body: str
    raw: dict[str, Any]

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        return json.loads(self.body)


def call(handler: Any, event: dict[str, Any], context: Any) -> HttpResult:
    """Invoke `handler` and normalise single- and multi-value response headers."""
    response = handler(event, context)
    headers = {name.lower(): str(value) for name, value in (response.get("headers") or {}).items()}
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = ", ".join(str(value) for value in values)
    assert response.get("isBase64Encoded") in (False, None)
    return HttpResult(
        status=response["statusCode"],
        headers=headers,
        body=response.get("body") or "",
        raw=response,
    )
