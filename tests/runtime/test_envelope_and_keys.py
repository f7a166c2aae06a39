"""The L2 envelope format and key layout (docs/architecture.md)."""

from __future__ import annotations

import pytest
from redis.cluster import key_slot

from cache_constructs.contract.keys import generation_key, item_keys, page_key
from cache_constructs.runtime import envelope


def test_envelope_round_trip():
    raw = envelope.encode(7, 1234, '"abc"', b'{"a":"x\\ny|z"}\n')
    assert raw == b'7|1234|"abc"\n{"a":"x\\ny|z"}\n'
    decoded = envelope.decode(raw)
    assert decoded == (7, 1234, '"abc"', b'{"a":"x\\ny|z"}\n')
    assert not decoded.not_found


def test_negative_envelope():
    raw = envelope.encode_not_found(99)
    assert raw == b"-1|99|\n"
    decoded = envelope.decode(raw)
    assert decoded.not_found and decoded.body == b"" and decoded.etag == ""


@pytest.mark.parametrize("raw", [b"", b"1|2|e", b"x|2|e\nbody"])
def test_malformed(raw):
    with pytest.raises(ValueError):
        envelope.decode(raw)


def test_item_keys_share_a_slot():
    keys = item_keys("prod-1")
    assert keys == ("pc:{p:prod-1}:v", "pc:{p:prod-1}:t", "pc:{p:prod-1}:l")
    assert len({key_slot(k.encode()) for k in keys}) == 1


def test_list_keys_share_a_slot():
    gen = generation_key("home garden")
    page = page_key("home garden", 5, 20, None)
    assert gen == "pc:{c:home garden}:g"
    assert page == "pc:{c:home garden}:L:5:20:"
    assert page_key("c", 1, 10, "abc") == "pc:{c:c}:L:1:10:abc"
    assert key_slot(gen.encode()) == key_slot(page.encode())
