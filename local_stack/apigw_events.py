"""API Gateway REST API (v1) Lambda proxy integration: HTTP request -> event, result -> response.

Shapes follow the proxy integration reference: `resource`, `path`, `httpMethod`, `headers` and
`multiValueHeaders`, `queryStringParameters` and `multiValueQueryStringParameters`,
`pathParameters`, `stageVariables`, `requestContext` (requestId, identity, stage,
resourcePath...), `body` and `isBase64Encoded` (bodies that are not text arrive base64-encoded,
as with `binaryMediaTypes: ["*/*"]`). A result that is not a valid proxy response becomes the
502 API Gateway answers with.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl, unquote

ACCOUNT_ID = "123456789012"
API_ID = "local"
_TEXT_TYPES = ("application/json", "application/xml", "application/x-www-form-urlencoded")


@dataclass
class HttpRequest:
    """What the HTTP front read off the socket."""

    method: str
    raw_path: str
    """The path as sent (percent-encoded), without the query string."""
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str = "127.0.0.1"
    host: str = "localhost"
    port: int = 80


@dataclass
class HttpResponse:
    """What the HTTP front writes back."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


def path_segments(raw_path: str) -> list[str]:
    """Decoded path segments; `/products/a%20b/` -> ["products", "a b"]."""
    return [unquote(part) for part in raw_path.strip("/").split("/") if part != ""]


def is_text(content_type: str | None) -> bool:
    """Whether API Gateway passes a body of this type through as text (not base64)."""
    if not content_type:
        return True
    media_type = content_type.split(";", 1)[0].strip().lower()
    return (
        media_type.startswith("text/")
        or media_type in _TEXT_TYPES
        or media_type.endswith(("+json", "+xml"))
    )


def build_proxy_event(
    request: HttpRequest,
    *,
    resource: str,
    path_parameters: dict[str, str],
    stage: str,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The event API Gateway's Lambda proxy integration sends for `request`."""
    request_id = request_id or str(uuid.uuid4())
    now = time.time()
    multi_headers: dict[str, list[str]] = {}
    for name, value in request.headers:
        multi_headers.setdefault(name, []).append(value)
    multi_headers.setdefault("X-Forwarded-For", [request.source_ip])
    multi_headers.setdefault("X-Forwarded-Port", [str(request.port)])
    multi_headers.setdefault("X-Forwarded-Proto", ["http"])
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(request.query, keep_blank_values=True):
        multi_query.setdefault(name, []).append(value)
    content_type = next(
        (value for name, value in request.headers if name.lower() == "content-type"), None
    )
    body: str | None = None
    is_base64 = False
    if request.body:
        try:
            body = request.body.decode("utf-8") if is_text(content_type) else None
        except UnicodeDecodeError:
            body = None
        if body is None:
            body, is_base64 = base64.b64encode(request.body).decode("ascii"), True
    path = "/" + "/".join(path_segments(request.raw_path))
    user_agent = multi_headers.get("User-Agent", [None])[-1]
    return {
        "resource": resource,
        "path": path,
        "httpMethod": request.method,
        "headers": {name: values[-1] for name, values in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": (
            {name: values[-1] for name, values in multi_query.items()} if multi_query else None
        ),
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "resourceId": resource,
            "resourcePath": resource,
            "httpMethod": request.method,
            "extendedRequestId": request_id,
            "requestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            # The path as the client called it: local URLs carry no stage prefix (like a
            # custom domain), so Location headers built from it resolve on localhost.
            "path": path,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainName": request.host,
            "domainPrefix": request.host.split(".", 1)[0],
            "identity": {
                "sourceIp": request.source_ip,
                "userAgent": user_agent,
                "accountId": None,
                "apiKey": None,
                "apiKeyId": None,
                "caller": None,
                "accessKey": None,
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "principalOrgId": None,
                "user": None,
                "userArn": None,
                "clientCert": None,
            },
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


class MalformedProxyResponse(ValueError):
    """The handler's result is not a proxy response; API Gateway answers 502."""


def proxy_response(result: Any) -> HttpResponse:
    """Translate a handler's proxy result into an HTTP response, as API Gateway does."""
    if not isinstance(result, dict):
        raise MalformedProxyResponse(f"result is a {type(result).__name__}, not an object")
    status = result.get("statusCode")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedProxyResponse(f"statusCode {status!r} is not an HTTP status")
    headers: list[tuple[str, str]] = []
    for name, values in (result.get("multiValueHeaders") or {}).items():
        if not isinstance(values, list):
            raise MalformedProxyResponse(f"multiValueHeaders[{name!r}] is not a list")
        headers.extend((str(name), str(value)) for value in values)
    for name, value in (result.get("headers") or {}).items():
        if (str(name), str(value)) not in headers:
            headers.append((str(name), str(value)))
    body = result.get("body")
    if body is None:
        payload = b""
    elif not isinstance(body, str):
        raise MalformedProxyResponse("body is not a string")
    elif result.get("isBase64Encoded"):
        try:
            payload = base64.b64decode(body, validate=True)
        except binascii.Error as exc:
            raise MalformedProxyResponse("isBase64Encoded body is not base64") from exc
    else:
        payload = body.encode("utf-8")
    if status == 304 or status == 204:
        payload = b""  # no body on these, whatever the handler sent
    if not any(name.lower() == "date" for name, _ in headers):
        headers.append(("Date", formatdate(usegmt=True)))
    return HttpResponse(status=status, headers=headers, body=payload)


def gateway_response(
    status: int, body: dict[str, Any], *, extra_headers: list[tuple[str, str]] | None = None
) -> HttpResponse:
    """A response the gateway itself produces (no function involved): JSON, no caching."""
    return HttpResponse(
        status=status,
        headers=[
            ("Content-Type", "application/json"),
            ("Date", formatdate(usegmt=True)),
            *(extra_headers or []),
        ],
        body=json.dumps(body).encode(),
    )
