"""CachePolicy: named data classes, validation of custom policies, the runtime JSON contract."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from cache_constructs.contract.policy import LAYERS, NAMED_POLICIES, CachePolicy
from cache_constructs.product.routes import (
    CREATE_PRODUCT,
    GET_PRODUCT,
    LIST_PRODUCTS,
    policy_for_route,
)

GUIDE_CLASSES = (
    "static",
    "semi-static",
    "dynamic",
    "real-time",
    "critical",
    "session",
    "user-prefs",
)


def custom(**changes: object) -> CachePolicy:
    """A valid custom policy with some fields changed."""
    base: dict[str, object] = {
        "name": "custom",
        "layers": {"client", "api", "l1", "l2", "dax"},
        "client_ttl_seconds": 10,
        "api_ttl_seconds": 10,
        "l1_ttl_seconds": 5,
        "l2_ttl_seconds": 60,
        "dax_ttl_seconds": 30,
        "swr_seconds": 10,
        "negative_ttl_seconds": 5,
        "jitter": 0.1,
    }
    base.update(changes)
    return CachePolicy(**base)  # type: ignore[arg-type]


def test_every_data_class_of_the_guide_has_a_named_policy() -> None:
    assert set(NAMED_POLICIES) == set(GUIDE_CLASSES)
    assert CachePolicy.named("static") is CachePolicy.STATIC
    assert CachePolicy.named("semi-static") is CachePolicy.SEMI_STATIC
    assert CachePolicy.named("dynamic") is CachePolicy.DYNAMIC
    assert CachePolicy.named("real-time") is CachePolicy.REAL_TIME
    assert CachePolicy.named("critical") is CachePolicy.CRITICAL
    assert CachePolicy.named("session") is CachePolicy.SESSION
    assert CachePolicy.named("user-prefs") is CachePolicy.USER_PREFS


def test_unknown_policy_name_lists_the_allowed_names() -> None:
    with pytest.raises(ValueError, match=r"policy name must be one of .*semi-static"):
        CachePolicy.named("semistatic")


def test_policies_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        CachePolicy.DYNAMIC.l1_ttl_seconds = 999  # type: ignore[misc]


def test_critical_reads_the_origin_only_and_is_never_stored() -> None:
    policy = CachePolicy.CRITICAL
    assert policy.layers == frozenset()
    assert policy.cache_control == "no-store"
    assert (policy.l1_ttl_seconds, policy.l2_ttl_seconds, policy.dax_ttl_seconds) == (0, 0, 0)
    assert policy.api_ttl_seconds == 0


@pytest.mark.parametrize("policy", [CachePolicy.SESSION, CachePolicy.USER_PREFS])
def test_per_user_classes_are_private_and_never_in_shared_caches(policy: CachePolicy) -> None:
    assert policy.visibility == "private"
    assert not policy.layers & {"api", "l1"}
    assert policy.api_ttl_seconds == 0
    assert policy.l1_ttl_seconds == 0
    assert policy.cache_control.startswith("private") or policy.cache_control == "no-store"


def test_session_is_not_stored_by_clients() -> None:
    assert CachePolicy.SESSION.cache_control == "no-store"
    assert CachePolicy.SESSION.layers == frozenset({"l2"})


def test_cache_control_values() -> None:
    assert CachePolicy.SEMI_STATIC.cache_control == (
        "public, max-age=60, stale-while-revalidate=300"
    )
    assert CachePolicy.DYNAMIC.cache_control == "public, max-age=5, stale-while-revalidate=30"
    assert CachePolicy.USER_PREFS.cache_control == "private, max-age=60"
    # No client layer: clients may keep the body but must revalidate with the ETag.
    assert CachePolicy.REAL_TIME.cache_control == "public, no-cache"


@pytest.mark.parametrize("name", GUIDE_CLASSES)
def test_named_policies_keep_their_own_rules(name: str) -> None:
    policy = CachePolicy.named(name)
    assert 0 <= policy.api_ttl_seconds <= 3600
    assert 0 <= policy.jitter <= 0.5
    if {"l1", "l2"} <= policy.layers:
        assert policy.l1_ttl_seconds <= policy.l2_ttl_seconds
    # Rebuilding from its own fields re-runs validation.
    assert dataclasses.replace(policy) == policy


def test_runtime_json_is_the_documented_contract() -> None:
    payload = json.loads(CachePolicy.SEMI_STATIC.to_runtime_json())
    assert payload == {
        "name": "semi-static",
        "layers": ["client", "api", "l1", "l2", "dax"],
        "client_ttl_seconds": 60,
        "api_ttl_seconds": 300,
        "l1_ttl_seconds": 15,
        "l2_ttl_seconds": 3600,
        "dax_ttl_seconds": 300,
        "swr_seconds": 300,
        "negative_ttl_seconds": 30,
        "jitter": 0.1,
        "visibility": "public",
        "no_store": False,
    }


@pytest.mark.parametrize("name", GUIDE_CLASSES)
def test_runtime_json_types(name: str) -> None:
    payload = json.loads(CachePolicy.named(name).to_runtime_json())
    for key in (*TTL_FIELDS, "swr_seconds", "negative_ttl_seconds"):
        assert type(payload[key]) is int
    assert type(payload["jitter"]) is float
    assert payload["layers"] == [layer for layer in LAYERS if layer in payload["layers"]]
    assert payload["name"] == name


def test_runtime_json_is_stable() -> None:
    # Same policy, same string: the env var does not change between synths.
    policy = custom(layers=["dax", "l2", "l1", "api", "client"])
    assert policy.to_runtime_json() == custom().to_runtime_json()
    assert json.loads(policy.to_runtime_json())["layers"] == ["client", "api", "l1", "l2", "dax"]


def test_max_staleness_adds_l1_ttl_stream_lag_and_api_ttl() -> None:
    lag = 2
    # Item route: the API Gateway layer is off by default.
    assert policy_for_route(GET_PRODUCT).max_staleness_seconds(lag) == 15 + 2
    assert CachePolicy.SEMI_STATIC.max_staleness_seconds(lag) == 15 + 2 + 300
    assert CachePolicy.REAL_TIME.max_staleness_seconds(lag) == 2
    assert CachePolicy.CRITICAL.max_staleness_seconds(lag) == 0


def test_a_tracked_l1_adds_nothing_to_max_staleness() -> None:
    item = policy_for_route(GET_PRODUCT)
    assert item.max_staleness_seconds(2, l1_tracked=True) == 2
    assert item.max_staleness_seconds(2, l1_tracked=False) == 2 + item.l1_ttl_seconds


def test_without_layers_zeroes_their_ttls() -> None:
    policy = CachePolicy.SEMI_STATIC.without_layers("api", "l1")
    assert policy.layers == frozenset({"client", "l2", "dax"})
    assert policy.api_ttl_seconds == 0
    assert policy.l1_ttl_seconds == 0
    assert policy.l2_ttl_seconds == CachePolicy.SEMI_STATIC.l2_ttl_seconds
    with pytest.raises(ValueError, match="layers must be a subset"):
        CachePolicy.SEMI_STATIC.without_layers("cdn")


def test_with_changes_validates() -> None:
    assert CachePolicy.DYNAMIC.with_changes(l1_ttl_seconds=2).l1_ttl_seconds == 2
    with pytest.raises(ValueError, match="api_ttl_seconds"):
        CachePolicy.DYNAMIC.with_changes(api_ttl_seconds=4000)


def test_route_defaults() -> None:
    item = policy_for_route(GET_PRODUCT)
    assert item.name == "semi-static"
    assert "api" not in item.layers and item.api_ttl_seconds == 0
    listing = policy_for_route(LIST_PRODUCTS)
    assert listing == CachePolicy.DYNAMIC
    assert listing.api_ttl_seconds == 30
    # A caller's policy replaces the default, still without the API cache on the item route.
    assert "api" not in policy_for_route(GET_PRODUCT, CachePolicy.STATIC).layers
    with pytest.raises(ValueError, match="not cached"):
        policy_for_route(CREATE_PRODUCT)


# --- validation: one test per rule ------------------------------------------------------


@pytest.mark.parametrize("name", ["", "Semi", "1st", "with space", "a" * 64, None])
def test_name_rule(name: object) -> None:
    with pytest.raises(ValueError, match="name must match"):
        custom(name=name)


def test_layers_rule() -> None:
    with pytest.raises(ValueError, match=r"layers must be a subset of .*unknown: \['cdn'\]"):
        custom(layers={"client", "api", "l1", "l2", "dax", "cdn"})


@pytest.mark.parametrize(
    "field",
    [
        "client_ttl_seconds",
        "api_ttl_seconds",
        "l1_ttl_seconds",
        "l2_ttl_seconds",
        "dax_ttl_seconds",
        "swr_seconds",
        "negative_ttl_seconds",
    ],
)
@pytest.mark.parametrize("value", [-1, 1.5, True, "10"])
def test_ttls_are_non_negative_integers(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"{field} must be a non-negative integer"):
        custom(**{field: value})


@pytest.mark.parametrize("api_ttl", [3601, 86400])
def test_api_ttl_rule(api_ttl: int) -> None:
    with pytest.raises(ValueError, match="api_ttl_seconds must be between 0 and 3600"):
        custom(api_ttl_seconds=api_ttl)


def test_api_ttl_bounds_are_inclusive() -> None:
    assert custom(api_ttl_seconds=3600).api_ttl_seconds == 3600


@pytest.mark.parametrize(
    ("layer", "field"),
    [
        ("client", "client_ttl_seconds"),
        ("api", "api_ttl_seconds"),
        ("l1", "l1_ttl_seconds"),
        ("l2", "l2_ttl_seconds"),
        ("dax", "dax_ttl_seconds"),
    ],
)
def test_listed_layer_needs_a_ttl(layer: str, field: str) -> None:
    with pytest.raises(ValueError, match=f"{field} must be > 0 because layers includes '{layer}'"):
        custom(**{field: 0})


@pytest.mark.parametrize(
    ("layer", "field"),
    [("client", "client_ttl_seconds"), ("api", "api_ttl_seconds"), ("dax", "dax_ttl_seconds")],
)
def test_unlisted_layer_must_have_no_ttl(layer: str, field: str) -> None:
    layers = set(LAYERS) - {layer}
    with pytest.raises(ValueError, match=f"{field} must be 0 because layers does not include"):
        custom(layers=layers)


def test_l1_ttl_not_longer_than_l2_ttl() -> None:
    with pytest.raises(ValueError, match=r"l1_ttl_seconds \(61\) must be <= l2_ttl_seconds \(60\)"):
        custom(l1_ttl_seconds=61)
    assert custom(l1_ttl_seconds=60).l1_ttl_seconds == 60


def test_negative_ttl_not_longer_than_the_cache_ttl() -> None:
    with pytest.raises(ValueError, match="negative_ttl_seconds"):
        custom(negative_ttl_seconds=61)


@pytest.mark.parametrize("jitter", [-0.01, 0.51, 1, True, "0.1", None])
def test_jitter_rule(jitter: object) -> None:
    with pytest.raises(ValueError, match=r"jitter must be a number between 0 and 0\.5"):
        custom(jitter=jitter)


@pytest.mark.parametrize("jitter", [0, 0.0, 0.5])
def test_jitter_bounds_are_inclusive(jitter: float) -> None:
    assert custom(jitter=jitter).jitter == jitter


def test_visibility_rule() -> None:
    with pytest.raises(ValueError, match="visibility must be one of"):
        custom(visibility="shared")


@pytest.mark.parametrize("shared_layer", ["api", "l1"])
def test_private_data_never_in_shared_layers(shared_layer: str) -> None:
    layers = {"client", "l2", "dax", shared_layer}
    ttls = {
        "api_ttl_seconds": 10 if shared_layer == "api" else 0,
        "l1_ttl_seconds": 5 if shared_layer == "l1" else 0,
    }
    with pytest.raises(ValueError, match="must not include 'api' or 'l1' when visibility"):
        custom(layers=layers, visibility="private", **ttls)


@pytest.mark.parametrize("layer", ["client", "api"])
def test_no_store_excludes_client_and_api(layer: str) -> None:
    only = {"l2", layer}
    ttls = {
        "client_ttl_seconds": 10 if layer == "client" else 0,
        "api_ttl_seconds": 10 if layer == "api" else 0,
    }
    no_l1_dax = {"l1_ttl_seconds": 0, "dax_ttl_seconds": 0}
    with pytest.raises(ValueError, match="must not include 'client' or 'api' when no_store"):
        custom(layers=only, no_store=True, **ttls, **no_l1_dax)
    # Without the layer, the same policy is fine and says no-store.
    policy = custom(
        layers={"l2"}, no_store=True, client_ttl_seconds=0, api_ttl_seconds=0, **no_l1_dax
    )
    assert policy.cache_control == "no-store"


# --- the contract with the runtime, and properties of every valid policy --------------------


@pytest.mark.parametrize("name", GUIDE_CLASSES)
def test_every_named_policy_round_trips_through_its_runtime_json(name: str) -> None:
    policy = CachePolicy.named(name)
    parsed = CachePolicy.from_runtime_json(policy.to_runtime_json())
    assert parsed == policy
    assert parsed.cache_control == policy.cache_control


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("{", "CACHE_POLICY is not valid JSON"),
        ("[]", "must be a JSON object"),
        ('{"name": "x"}', "missing ['layers']"),
        ('{"name": "x", "layers": [], "ttl": 1}', "unknown fields ['ttl']"),
        ('{"name": "x", "layers": "l2"}', "layers must be a list"),
        ('{"name": "x", "layers": ["l2"]}', "l2_ttl_seconds must be > 0"),
    ],
)
def test_bad_runtime_json_names_the_variable_and_field(raw: str, field: str) -> None:
    with pytest.raises(ValueError, match="CACHE_POLICY") as error:
        CachePolicy.from_runtime_json(raw)
    assert field in str(error.value)


@st.composite
def policy_fields(draw: st.DrawFn) -> dict[str, object]:
    """Fields that are mostly consistent (a TTL exactly for each listed layer), sometimes not."""
    layers = draw(st.frozensets(st.sampled_from(LAYERS)))
    fields: dict[str, object] = {"name": "prop", "layers": layers}
    for layer, field in zip(LAYERS, TTL_FIELDS, strict=True):
        upper = 4000 if layer == "api" else 100_000
        listed = st.integers(1, upper) if layer in layers else st.just(0)
        fields[field] = draw(
            st.one_of(listed, st.integers(-1, upper)) if draw(st.booleans()) else listed
        )
    fields["swr_seconds"] = draw(st.integers(0, 1000))
    fields["negative_ttl_seconds"] = draw(st.integers(0, 1000))
    fields["jitter"] = draw(st.floats(min_value=-0.1, max_value=0.6, allow_nan=False))
    fields["visibility"] = draw(st.sampled_from(["public", "private"]))
    fields["no_store"] = draw(st.booleans())
    return fields


TTL_FIELDS = (
    "client_ttl_seconds",
    "api_ttl_seconds",
    "l1_ttl_seconds",
    "l2_ttl_seconds",
    "dax_ttl_seconds",
)


@settings(max_examples=400, deadline=None)
@given(fields=policy_fields())
def test_any_accepted_policy_keeps_the_invariants(fields: dict[str, object]) -> None:
    try:
        policy = CachePolicy(**fields)  # type: ignore[arg-type]
    except ValueError:
        event("rejected")
        return
    event("accepted")
    assert 0 <= policy.api_ttl_seconds <= 3600
    assert 0 <= policy.jitter <= 0.5
    for layer, field in zip(LAYERS, TTL_FIELDS, strict=True):
        assert (layer in policy.layers) == (getattr(policy, field) > 0)
    if {"l1", "l2"} <= policy.layers:
        assert policy.l1_ttl_seconds <= policy.l2_ttl_seconds
    if policy.visibility == "private":
        assert not policy.layers & {"api", "l1"}
        assert not policy.cache_control.startswith("public")
    if policy.no_store:
        assert policy.cache_control == "no-store"
        assert not policy.layers & {"client", "api"}
    payload = json.loads(policy.to_runtime_json())
    assert payload["layers"] == policy.ordered_layers
    assert policy.max_staleness_seconds(3) >= policy.l1_ttl_seconds
