"""Worker: time repeated reads of one cached product (python -m bench.scenarios.hit_path_worker).

Modes:
- `ours`: every figure of ours in one process, interleaved read by read, so a burst of load
  on the shared machine lands on all of them alike: the bare Powertools resolver answering a
  constant body, the "Powertools floor" (that resolver wrapped by `api_entry`, the very
  Logger/Metrics wiring of the read handler), the read handler's L1 hit and L2 hit, the
  cache API's (`runtime.items.read`) L1 and L2 hit, and a raw redis-py GET + json.loads of
  the same product JSON. The read handler finds its runtime through `get_runtime()`; the
  worker installs the L1-on or the L1-off runtime (`set_runtime`) before each call.
- `peer`: naive or dogpile, each read paired with the raw GET + decode.
Events are API Gateway REST proxy events with the headers API Gateway passes on (the
resolver and the handler both read them).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import redis

from bench.peers import PeerSettings, make_peer
from bench.peers.ours import handler_environment, lambda_context, rest_event
from bench.stats import percentiles_ms
from bench.workers import Channel, serve

WARMUP = 300

API_GATEWAY_HEADERS = {
    "Accept": "application/json",
    "Accept-Encoding": "gzip, deflate, br",
    "CloudFront-Forwarded-Proto": "https",
    "CloudFront-Is-Desktop-Viewer": "true",
    "CloudFront-Is-Mobile-Viewer": "false",
    "CloudFront-Is-SmartTV-Viewer": "false",
    "CloudFront-Is-Tablet-Viewer": "false",
    "CloudFront-Viewer-Country": "IE",
    "Host": "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) bench",
    "Via": "2.0 0123456789abcdef0123456789abcdef.cloudfront.net (CloudFront)",
    "X-Amz-Cf-Id": "Qm9vZ2llLWJlbmNoLWNsb3VkZnJvbnQtaWQtMDEyMzQ1Njc4OQ==",
    "X-Amzn-Trace-Id": "Root=1-67890abc-0123456789abcdef01234567",
    "X-Forwarded-For": "203.0.113.7, 198.51.100.23",
    "X-Forwarded-Port": "443",
    "X-Forwarded-Proto": "https",
}
"""What API Gateway REST puts in front of a browser's GET (no request Cache-Control)."""


def api_gateway_event(product_id: str) -> dict[str, Any]:
    """A GET /products/{id} proxy event with the headers of a real API Gateway request."""
    event = rest_event("GET", product_id)
    event["headers"] = dict(API_GATEWAY_HEADERS)
    event["multiValueHeaders"] = {name: [value] for name, value in API_GATEWAY_HEADERS.items()}
    return event


def measure(read: Any, raw_read: Any, samples: int) -> dict[str, Any]:
    """Time `read` and the raw GET + decode alternately (a peer)."""
    series = interleaved({"read": read, "raw": raw_read}, samples)
    raw = {k: v for k, v in series["raw"].items() if k != "_s"}
    return {**{k: v for k, v in series["read"].items() if k != "_s"}, "raw": raw}


def interleaved(reads: dict[str, Callable[[], str]], samples: int) -> dict[str, dict[str, Any]]:
    """Time every read of `reads` once per round, `samples` rounds, the order rotating each
    round (no read always follows the same one); percentiles, raw timings and sources."""
    names = list(reads)
    for _ in range(WARMUP):
        for name in names:
            reads[name]()
    timings: dict[str, list[float]] = {name: [] for name in names}
    sources: dict[str, Counter[str]] = {name: Counter() for name in names}
    clock = time.perf_counter
    for round_ in range(samples):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            read = reads[name]
            start = clock()
            outcome = read()
            timings[name].append(clock() - start)
            sources[name][outcome] += 1
    return {
        name: {**percentiles_ms(timings[name]), "sources": dict(sources[name]), "_s": timings[name]}
        for name in names
    }


def _x_cache(response: dict[str, Any]) -> str:
    headers = response.get("multiValueHeaders") or {}
    values = headers.get("X-Cache") or [(response.get("headers") or {}).get("X-Cache", "")]
    if int(response["statusCode"]) != 200:
        raise RuntimeError(f"read returned {response['statusCode']}: {response.get('body')}")
    return str(values[0])


def ours(params: dict[str, Any], raw_read: Callable[[], str]) -> dict[str, Any]:
    settings = PeerSettings.from_json(params["settings"])
    without_l1 = PeerSettings.from_json(params["settings_without_l1"])
    os.environ.update(handler_environment(settings))
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

    from cache_constructs.product.domain.codec import PRODUCT_CODEC
    from cache_constructs.product.handlers import read_handler
    from cache_constructs.product.handlers.api import ITEM_PATH, api_entry
    from cache_constructs.product.handlers.service_runtime import set_runtime
    from cache_constructs.runtime.config import load_config
    from cache_constructs.runtime.runtime import build_runtime

    with_l1 = build_runtime(load_config(handler_environment(settings)), codec=PRODUCT_CODEC)
    l2_only = build_runtime(load_config(handler_environment(without_l1)), codec=PRODUCT_CODEC)
    product_id = params["product_id"]
    body = json.dumps(params["value"], separators=(",", ":"))

    resolver = APIGatewayRestResolver()

    @resolver.get(ITEM_PATH)
    def constant(product_id: str) -> Response:
        return Response(status_code=200, content_type="application/json", body=body)

    floor_handler = api_entry(resolver, trace_handler=False, batch_metrics=True)
    event, context = api_gateway_event(product_id), lambda_context("read")

    def bare() -> str:
        _x_cache(resolver.resolve(event, context))
        return "constant"

    def floor() -> str:
        _x_cache(floor_handler(event, context))
        return "constant"

    def handler_with(runtime: Any) -> Callable[[], str]:
        def read() -> str:
            set_runtime(runtime)  # the handler's get_runtime() now returns it (a lock, ~0.1 us)
            return _x_cache(read_handler.handler(event, context))

        return read

    def api_with(runtime: Any) -> Callable[[], str]:
        def read() -> str:
            return str(runtime.items.read(product_id).x_cache)

        return read

    reads = {
        "bare_resolver": bare,
        "floor": floor,
        "l1_hit_handler": handler_with(with_l1),
        "l2_hit_handler": handler_with(l2_only),
        "l1_hit_api": api_with(with_l1),
        "l2_hit_api": api_with(l2_only),
        "raw": raw_read,
    }
    return interleaved(reads, int(params["samples"]))


def task(params: dict[str, Any], _channel: Channel) -> dict[str, Any]:
    settings = PeerSettings.from_json(params["settings"])
    raw_key = f"raw:{params['product_id']}"
    client = redis.Redis.from_url(settings.redis_url)
    client.set(raw_key, json.dumps(params["value"]))

    def raw_read() -> str:
        json.loads(client.get(raw_key))  # type: ignore[arg-type]
        return "raw"

    if params["mode"] == "ours":
        return ours(params, raw_read)  # each series keeps its timings ("_s") for the parent

    peer = make_peer(params["peer"], settings)

    def peer_read() -> str:
        result = peer.read(params["product_id"])
        if result.status != 200:
            raise RuntimeError(f"{params['peer']}: read returned {result.status}")
        return result.source

    return measure(peer_read, raw_read, int(params["samples"]))


if __name__ == "__main__":
    serve(task)
