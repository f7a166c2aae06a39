"""CachePolicy rules that keep the consistency promise: a policy whose layers could serve what
nothing can correct is a ValueError at synth (and at cold start) naming the fields."""

from __future__ import annotations

import pytest

from cache_constructs.contract.policy import CachePolicy


def policy(**fields: object) -> CachePolicy:
    return CachePolicy(name="p", **fields)  # type: ignore[arg-type]


def test_dax_without_l2_is_refused() -> None:
    """Without L2 there is no fence: DAX's item cache would serve an overwritten or deleted
    item (defect 3) for its record TTL."""
    with pytest.raises(ValueError, match=r"layers includes 'dax' but not 'l2'.*dax_ttl_seconds"):
        policy(layers={"dax"}, dax_ttl_seconds=300)
    with pytest.raises(ValueError, match="'dax' but not 'l2'"):
        policy(layers={"client", "dax"}, client_ttl_seconds=5, dax_ttl_seconds=300)
    assert policy(layers={"l2", "dax"}, l2_ttl_seconds=60, dax_ttl_seconds=300).uses("dax")


def test_l1_without_l2_is_refused() -> None:
    """Write-through, stream invalidation and client tracking all reach L1 through L2."""
    with pytest.raises(ValueError, match="layers includes 'l1' but not 'l2'"):
        policy(layers={"l1"}, l1_ttl_seconds=5)
    with pytest.raises(ValueError, match="'l1' but not 'l2'"):
        CachePolicy.SEMI_STATIC.without_layers("l2", "dax")
    assert policy(layers={"l1", "l2"}, l1_ttl_seconds=5, l2_ttl_seconds=60).uses("l1")


def test_negative_ttl_needs_a_layer_that_is_invalidated_on_recreate() -> None:
    """A cached 404 is deleted by the recreate's write-through (even a refused one) and by its
    INSERT stream record, both through L2; without L2 nothing caches a 404 at all."""
    with pytest.raises(ValueError, match="negative_ttl_seconds"):
        policy(layers={"client"}, client_ttl_seconds=5, negative_ttl_seconds=5)
    with pytest.raises(ValueError, match=r"negative_ttl_seconds \(61\)"):
        policy(layers={"l2"}, l2_ttl_seconds=60, negative_ttl_seconds=61)
    assert policy(layers={"l2"}, l2_ttl_seconds=60, negative_ttl_seconds=60)


@pytest.mark.parametrize("name", ["static", "semi-static", "dynamic", "user-prefs"])
def test_named_policies_with_dax_or_l1_keep_l2(name: str) -> None:
    named = CachePolicy.named(name)
    assert named.uses("l2")


def test_dax_adds_nothing_to_max_staleness() -> None:
    """L2's fence refuses DAX answers older than what the stream or a write-through reported,
    so DAX's TTL is not part of the bound (it was, for a DAX-only policy, now refused)."""
    with_dax = CachePolicy.SEMI_STATIC.without_layers("api")
    without_dax = with_dax.without_layers("dax")
    assert with_dax.max_staleness_seconds(2) == without_dax.max_staleness_seconds(2) == 15 + 2
