"""ElastiCache IAM auth tokens: SigV4 query parameters, lifetime, caching and refresh."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.credentials import Credentials
from runtime_helpers import FakeClock

from cache_constructs.runtime.iam_auth import REFRESH_AFTER_SECONDS, ElastiCacheIAMProvider

CREDENTIALS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "session-tok")


def provider(clock=None, **kwargs):
    calls = []

    def credentials():
        calls.append(1)
        return CREDENTIALS

    options = {"user": "svc-user", "cache_name": "products-cache", "region": "eu-west-1"}
    options.update(kwargs)
    made = ElastiCacheIAMProvider(credentials=credentials, clock=clock or FakeClock(), **options)
    return made, calls


def parse(token):
    assert not token.startswith(("http://", "https://"))
    parts = urlsplit("http://" + token)
    return parts, {k: v[0] for k, v in parse_qs(parts.query).items()}


def test_token_is_a_presigned_connect_request():
    made, _ = provider()
    user, token = made.get_credentials()
    assert user == "svc-user"
    parts, query = parse(token)
    assert parts.netloc == "products-cache" and parts.path == "/"
    assert query["Action"] == "connect"
    assert query["User"] == "svc-user"
    assert "ResourceType" not in query
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Expires"] == "900"
    assert query["X-Amz-Credential"].startswith("AKIDEXAMPLE/")
    assert query["X-Amz-Credential"].endswith("/eu-west-1/elasticache/aws4_request")
    assert query["X-Amz-SignedHeaders"] == "host"
    assert query["X-Amz-Security-Token"] == "session-tok"
    assert len(query["X-Amz-Signature"]) == 64


def test_serverless_adds_resource_type():
    made, _ = provider(serverless=True)
    _, query = parse(made.get_credentials()[1])
    assert query["ResourceType"] == "ServerlessCache"


def test_token_is_cached_and_regenerated_before_it_expires():
    clock = FakeClock()
    made, calls = provider(clock=clock)
    first = made.get_credentials()[1]
    clock.advance(REFRESH_AFTER_SECONDS - 1)
    assert made.get_credentials()[1] == first
    assert len(calls) == 1
    clock.advance(1)  # 12 minutes: well before the 15-minute expiry
    second = made.get_credentials()[1]
    assert len(calls) == 2
    assert REFRESH_AFTER_SECONDS < 900
    _, query = parse(second)
    assert query["X-Amz-Expires"] == "900"


@pytest.mark.parametrize(("field", "value"), [("user", ""), ("cache_name", ""), ("region", "")])
def test_required_arguments(field, value):
    with pytest.raises(ValueError, match=field):
        provider(**{field: value})


def test_refresh_must_happen_before_expiry():
    with pytest.raises(ValueError, match="refresh_after_seconds"):
        provider(refresh_after_seconds=900)
