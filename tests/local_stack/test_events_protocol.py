"""The push-invalidation contract: segment encoding, channels, messages, publish bodies."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from cache_constructs.contract import push as protocol
from cache_constructs.product import push as product_push

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "web" / "test" / "channel-vectors.json").read_text()
)
AT = datetime(2026, 12, 2, 2, 29, 50, 123456, tzinfo=UTC)


@pytest.mark.parametrize("vector", VECTORS["products"], ids=lambda v: v["id"][:12])
def test_product_channels_match_the_vectors_the_browser_client_is_tested_against(vector):
    assert product_push.product_channel(vector["id"]) == vector["channel"]


@pytest.mark.parametrize("vector", VECTORS["categories"], ids=lambda v: v["name"][:12])
def test_category_channels_match_the_shared_vectors(vector):
    assert product_push.category_channel(vector["name"]) == vector["channel"]


def test_segment_is_the_first_32_hex_digits_of_sha256():
    # Computed independently of the module: `printf p1 | sha256sum | cut -c1-32`.
    assert protocol.channel_segment("p1") == "f64551fcd6f07823cb87971cfb914464"
    assert protocol.channel_segment("a b") == hashlib.sha256(b"a b").hexdigest()[:32]


@pytest.mark.parametrize(
    "identifier", ["under_score", "with space", "x" * 64, "-leading-dash", "trailing_"]
)
def test_every_valid_id_becomes_a_segment_appsync_accepts(identifier):
    channel = product_push.category_channel(identifier)
    assert protocol.channel_segments(channel, allow_wildcard=False)[2] == protocol.channel_segment(
        identifier
    )


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: product_push.product_channel("bad id"), "product_id"),
        (lambda: product_push.product_channel("x" * 65), "product_id"),
        (lambda: product_push.product_key(""), "product_id"),
        (lambda: product_push.category_channel("bad/cat"), "category"),
        (lambda: product_push.category_key("é"), "category"),
    ],
)
def test_ids_outside_the_api_patterns_are_refused_naming_the_field(call, field):
    with pytest.raises(ValueError, match=field):
        call()


@pytest.mark.parametrize(
    ("path", "wildcard", "error"),
    [
        ("", False, "non-empty"),
        ("/ns/a_b", False, "segment 'a_b'"),
        ("/ns/-a", False, "segment '-a'"),
        ("/ns/" + "a" * 51, False, "1-50 characters"),
        ("/a/b/c/d/e/f", False, "at most 5"),
        ("/ns/*", False, "subscriptions only"),
        ("/*", True, "no namespace"),
    ],
)
def test_channel_paths_follow_appsync_segment_rules(path, wildcard, error):
    with pytest.raises(ValueError, match=error):
        protocol.channel_segments(path, allow_wildcard=wildcard)


def test_a_wildcard_subscription_path_is_accepted():
    assert protocol.channel_segments("/ns/product/*", allow_wildcard=True) == [
        "ns",
        "product",
        "*",
    ]
    assert protocol.channel_segments("/a/b/c/d/" + "e" * 50, allow_wildcard=False)[-1] == "e" * 50


def test_one_change_publishes_to_the_product_and_each_category_it_touches():
    requests = product_push.publish_requests(
        product_id="p1", categories=["toys", "books", "toys"], version=3, at=AT
    )
    assert [r.channel for r in requests] == [
        product_push.product_channel("p1"),
        product_push.category_channel("books"),
        product_push.category_channel("toys"),
    ]
    product_event = json.loads(requests[0].events[0])
    assert product_event == {
        "type": "invalidate",
        "key": "product:p1",
        "version": 3,
        "at": "2026-12-02T02:29:50.123Z",
    }
    assert [json.loads(r.events[0]) for r in requests[1:]] == [
        {"type": "invalidate", "key": "category:books", "version": None, "at": product_event["at"]},
        {"type": "invalidate", "key": "category:toys", "version": None, "at": product_event["at"]},
    ]


def test_the_publish_body_is_what_appsync_post_event_takes():
    request = product_push.publish_requests(product_id="p1", categories=[], version=None, at=AT)[0]
    body = json.loads(request.to_json())
    assert body == {"channel": product_push.product_channel("p1"), "events": [request.events[0]]}
    assert isinstance(body["events"][0], str)  # a JSON document inside a string


def test_at_is_converted_to_utc():
    local = AT.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert protocol.iso_utc(local) == "2026-12-02T02:29:50.123Z"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"at": datetime(2026, 1, 1)}, "at"),  # naive: whose midnight?
        ({"version": 0}, "version"),
        ({"version": True}, "version"),
        ({"version": "3"}, "version"),
    ],
)
def test_bad_message_fields_are_refused_by_name(kwargs, field):
    arguments = {"product_id": "p1", "categories": ["books"], "version": 2, "at": AT, **kwargs}
    with pytest.raises(ValueError, match=field):
        product_push.publish_requests(**arguments)


@pytest.mark.parametrize(
    ("event_name", "stale_through", "expected"),
    [("INSERT", 0, 1), ("MODIFY", 4, 5), ("REMOVE", 7, None)],
)
def test_version_after_a_stream_change(event_name, stale_through, expected):
    assert product_push.version_after(event_name, stale_through) == expected


@pytest.mark.parametrize(
    ("event_name", "stale_through", "field"),
    [("UPDATE", 1, "event_name"), ("MODIFY", -1, "stale_through"), ("MODIFY", True, "stale")],
)
def test_version_after_refuses_what_no_stream_sends(event_name, stale_through, field):
    with pytest.raises(ValueError, match=field):
        product_push.version_after(event_name, stale_through)


def test_a_publish_request_holds_one_to_five_events():
    channel = product_push.product_channel("p1")
    with pytest.raises(ValueError, match="1-5"):
        protocol.PublishRequest(channel, ())
    with pytest.raises(ValueError, match="1-5"):
        protocol.PublishRequest(channel, ("{}",) * 6)
    with pytest.raises(ValueError, match="segment"):
        protocol.PublishRequest("/invalidations/product/a_b", ("{}",))


def test_an_event_over_240_kb_is_refused():
    with pytest.raises(ValueError, match="240"):
        protocol.encode_event({"pad": "x" * protocol.MAX_EVENT_BYTES})
