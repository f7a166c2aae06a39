"""The L2 envelope format and key layout (docs/architecture.md)."""

from __future__ import annotations

import pytest
from redis.cluster import key_slot

from cache_constructs.contract.keys import (
    GENERATION_RANDOM_BITS,
    bumped_at_ms,
    generation_floor,
    generation_key,
    item_keys,
    page_keys,
)
from cache_constructs.runtime import envelope
from cache_constructs.runtime.codec import Rendered


def test_envelope_round_trip():
    value = Rendered(b'{"a":"x\\ny|z"}\n', '"abc"', 7)
    raw = envelope.encode(value, 1234)
    assert raw == b'7|1234|"abc"\n{"a":"x\\ny|z"}\n'
    decoded = envelope.decode(raw)
    assert decoded == (value, 1234)
    assert decoded.version == 7


def test_negative_envelope():
    raw = envelope.encode(None, 99)
    assert raw == b"-1|99|\n"
    decoded = envelope.decode(raw)
    assert decoded == (None, 99) and decoded.version == envelope.NOT_FOUND_VERSION


@pytest.mark.parametrize("raw", [b"", b"1|2|e", b"x|2|e\nbody"])
def test_malformed(raw):
    with pytest.raises(ValueError):
        envelope.decode(raw)
    assert envelope.decode_or_none(raw) is None


def test_item_keys_share_a_slot():
    keys = item_keys("prod-1")
    assert keys == ("pc:{p:prod-1}:v", "pc:{p:prod-1}:t", "pc:{p:prod-1}:l")
    assert len({key_slot(k.encode()) for k in keys}) == 1


def test_list_keys_share_a_slot():
    gen = generation_key("home garden")
    page = page_keys("home garden", 5, 20, None)
    assert gen == "pc:{c:home garden}:g"
    assert page == ("pc:{c:home garden}:L:5:20:", "pc:{c:home garden}:l:5:20:")
    assert page_keys("c", 1, 10, "abc").value == "pc:{c:c}:L:1:10:abc"
    assert len({key_slot(k.encode()) for k in (gen, *page)}) == 1


def test_a_generation_says_when_it_began():
    now_ms = 1_800_000_000_123
    floor = generation_floor(now_ms, 1023)
    assert bumped_at_ms(floor) == now_ms and bumped_at_ms(floor + 1) == now_ms + 1
    assert floor % (1 << GENERATION_RANDOM_BITS) == 1023
    assert generation_floor(now_ms, 1 << GENERATION_RANDOM_BITS) == generation_floor(now_ms, 0)
    assert floor < 2**53  # exact in Lua's doubles
