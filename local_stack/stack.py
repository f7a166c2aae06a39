"""The supervisor: start every part in order, publish `stack.json`, stop everything in 5 s.

Start order: redis-server (unless REDIS_URL names one), moto server, the product table, the
push channel (events server, the Lambda Invoke API stand-in), the function workers (cold starts
in parallel), the stream poller, the HTTP front, the seed data; then `<state_dir>/stack.json`
is written atomically: its appearance is the readiness event. Stop runs in reverse and
removes `stack.json`.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from cache_constructs.contract.policy import CachePolicy
from cache_constructs.contract.stream import STREAM_EVENT_NAMES
from cache_constructs.product.routes import PRODUCT_ROUTES
from cache_constructs.product.table_schema import ITEM_PK_PREFIX, PARTITION_KEY
from local_stack.dead_letter import DeadLetterFile
from local_stack.dynamodb_emulator import DynamoDBEmulator
from local_stack.events_server import EventsServer
from local_stack.functions import PUBLISHER, function_specs, local_function_name, route_policies
from local_stack.http_front import ApiFront, FrontServer
from local_stack.lambda_invoke_server import LambdaInvokeServer
from local_stack.lambda_worker import LambdaWorker
from local_stack.processes import free_port
from local_stack.redis_process import RedisProcess, ping
from local_stack.seed import CATEGORIES, seed_products
from local_stack.stream_poller import EventSourceSettings, StreamPoller
from local_stack.web_assets import build_web_assets
from local_stack.web_server import WebServer

log = logging.getLogger("local_stack")

STACK_FILE = "stack.json"
WEB_DIR = Path(__file__).resolve().parent.parent / "web"
DEAD_LETTER_FILE = "stream-dlq.jsonl"


@dataclass
class StackOptions:
    """Everything `python -m local_stack` can be told (see `__main__` for the flags)."""

    state_dir: Path = Path(".local")
    host: str = "127.0.0.1"
    port: int = 8080
    """API port; 0 picks a free one."""
    region: str = "us-east-1"
    table_name: str = "products-local"
    redis_url: str | None = None
    """An existing Redis; None starts a redis-server of our own on a free port."""
    dynamodb_port: int = 0
    """moto server port; 0 picks a free one."""
    seed: int = 0
    l1_ttl_seconds: int | None = None
    stream_lag_seconds: int = 2
    """The invalidation lag budgeted in max_staleness (poll interval + delivery, rounded up)."""
    event_source: EventSourceSettings = field(default_factory=EventSourceSettings)


class LocalStack:
    """Owns every child; `start()` then `stop()` (also after a failed start)."""

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.state_dir = options.state_dir.resolve()
        self.redis: RedisProcess | None = None
        self.emulator: DynamoDBEmulator | None = None
        self.workers: dict[str, LambdaWorker] = {}
        self.poller: StreamPoller | None = None
        self.front: FrontServer | None = None
        self.events: EventsServer | None = None
        self.lambda_api: LambdaInvokeServer | None = None
        self.web: WebServer | None = None
        self.info: dict[str, Any] = {}

    @property
    def stack_file(self) -> Path:
        return self.state_dir / STACK_FILE

    def start(self) -> dict[str, Any]:
        """Start every part; return what `stack.json` holds."""
        options = self.options
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.stack_file.unlink(missing_ok=True)
        # Bind the API port first: a port in use fails in a second, not after every start.
        api = ApiFront(self._invoke)
        try:
            self.front = FrontServer(api, host=options.host, port=options.port)
        except OSError as exc:
            raise RuntimeError(
                f"cannot listen on {options.host}:{options.port} ({exc.strerror}): "
                "set PORT or --port to a free port"
            ) from None
        api_port = self.front.server_port
        if options.host not in ("127.0.0.1", "localhost", "::1"):
            log.warning(
                "listening on %s: the write routes have no authorization locally", options.host
            )

        # Ports and URLs first, so the functions' cold starts (the slowest part) overlap
        # with starting redis-server and moto: handlers connect lazily, on first use.
        redis_url = options.redis_url
        if redis_url is None:
            self.redis = RedisProcess(port=free_port(), state_dir=self.state_dir)
            redis_url = self.redis.url
        self.emulator = DynamoDBEmulator(
            port=options.dynamodb_port or free_port(),
            region=options.region,
            state_dir=self.state_dir,
        )
        policies = route_policies(l1_ttl_seconds=options.l1_ttl_seconds)
        # The push channel first: the stream function hands every change it applies to the
        # publisher function (an asynchronous invoke), which publishes it to the events server.
        self.events = EventsServer(host=_client_host(options.host))
        self.events.start()
        self.lambda_api = LambdaInvokeServer({}, host=_client_host(options.host))
        self.lambda_api.start()
        specs = function_specs(
            table_name=options.table_name,
            region=options.region,
            dynamodb_endpoint=self.emulator.endpoint,
            redis_url=redis_url,
            policies=policies,
            events_publish_url=self.events.publish_url,
            lambda_endpoint_url=self.lambda_api.url,
        )
        for name, spec in specs.items():
            self.workers[name] = LambdaWorker(spec, log_path=self.state_dir / f"{name}.log")
            self.workers[name].start()
        self.lambda_api.register(local_function_name(PUBLISHER), self.workers[PUBLISHER].invoke)

        if self.redis is not None:
            self.redis.start()
        elif not ping(redis_url):
            log.warning(
                "REDIS_URL %s does not answer yet: requests will bypass L2", _redacted(redis_url)
            )
        log.info("redis at %s", _redacted(redis_url))
        self.emulator.start()
        stream_arn = self.emulator.create_product_table(options.table_name)
        log.info(
            "table %s at %s, stream %s", options.table_name, self.emulator.endpoint, stream_arn
        )
        for worker in self.workers.values():
            worker.wait_ready()
        log.info("functions ready: %s", ", ".join(self.workers))

        self.poller = StreamPoller(
            streams_client=self.emulator.client("dynamodbstreams"),
            stream_arn=stream_arn,
            invoke=lambda event: self.workers["stream"].invoke(event),
            dead_letters=DeadLetterFile(self.state_dir / DEAD_LETTER_FILE),
            function_name="local-stream",
            settings=options.event_source,
            record_filter=is_product_change,
        )
        self.poller.start()
        self.front.start()
        api_url = f"http://{_client_host(options.host)}:{api_port}"
        self._start_page(api_url)

        if options.seed:
            started = time.monotonic()
            created = seed_products(options.seed, lambda e: self.workers["write"].invoke(e))
            log.info("seeded %d products in %.1f s", created, time.monotonic() - started)

        self.info = {
            "api_url": api_url,
            "dynamodb_endpoint": self.emulator.endpoint,
            "table_name": options.table_name,
            "region": options.region,
            "redis_url": redis_url,
            "stream_arn": stream_arn,
            "dead_letter_file": str(self.state_dir / DEAD_LETTER_FILE),
            "pid": os.getpid(),
            # At start: a worker replaced after a timeout or crash gets a new pid.
            "worker_pids": {name: worker.pid for name, worker in self.workers.items()},
            "routes": _route_summaries(policies, options.stream_lag_seconds),
            "events_url": self.events.ws_url if self.events else None,
            "events_publish_url": self.events.publish_url if self.events else None,
            "lambda_endpoint_url": self.lambda_api.url if self.lambda_api else None,
            "web_url": self.web.url if self.web else None,
        }
        temporary = self.stack_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.info, indent=2) + "\n", encoding="utf-8")
        temporary.replace(self.stack_file)  # atomic: readers never see half a file
        return self.info

    def _start_page(self, api_url: str) -> None:
        """The storefront page (docs/client.md), subscribed to the push channel."""
        assert self.events is not None, "the events server starts before the functions"
        host = _client_host(self.options.host)
        self.web = WebServer(
            build_web_assets(WEB_DIR),
            api_url=api_url,
            events_url=self.events.ws_url,
            categories=CATEGORIES,
            host=host,
        )
        self.web.start()

    def _invoke(self, function: str, event: dict[str, Any], request_id: str) -> Any:
        return self.workers[function].invoke(event, request_id=request_id)

    def stop(self) -> None:
        """Stop every part in reverse order; each step bounded, the whole well under 5 s."""
        started = time.monotonic()
        timings: list[str] = []

        def lap(part: str) -> None:
            timings.append(f"{part} {time.monotonic() - started:.2f}s")

        self.stack_file.unlink(missing_ok=True)
        if self.web is not None:
            self.web.stop()
            self.web = None
            lap("web")
        if self.events is not None:
            self.events.stop()
            self.events = None
            lap("events")
        if self.front is not None:
            self.front.stop()
            self.front = None
            lap("front")
        if self.poller is not None:
            self.poller.stop(timeout=1.0)
            self.poller = None
            lap("poller")
        if self.lambda_api is not None:
            self.lambda_api.stop()
            self.lambda_api = None
            lap("lambda-api")
        for worker in self.workers.values():
            worker.close()  # idle workers exit at once on EOF: close every pipe first
        for worker in self.workers.values():
            worker.stop(grace=0.5)
        if self.workers:
            self.workers.clear()
            lap("functions")
        if self.emulator is not None:
            self.emulator.stop(grace=0.5)  # in-memory only: nothing to lose
            self.emulator = None
            lap("moto")
        if self.redis is not None:
            self.redis.stop(grace=1.0)
            self.redis = None
            lap("redis")
        log.info("stopped (cumulative: %s)", ", ".join(timings))


def _redacted(url: str) -> str:
    """`url` without its password, for logs."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _client_host(bind_host: str) -> str:
    """The host a client on this machine uses for `bind_host` (a wildcard is not one)."""
    return "127.0.0.1" if bind_host in ("0.0.0.0", "::", "") else bind_host  # noqa: S104


def _route_summaries(
    policies: dict[str, CachePolicy], stream_lag_seconds: int
) -> list[dict[str, Any]]:
    """Every route with its policy and the max_staleness it promises locally.

    There is no API Gateway stage cache locally, so its TTL does not count here.
    """
    summaries = []
    for route in PRODUCT_ROUTES:
        policy = None
        if route.policy_name is not None:
            policy = policies["item" if route.function == "read" else "list"]
        staleness = (
            policy.without_layers("api").max_staleness_seconds(stream_lag_seconds)
            if policy
            else None
        )
        summaries.append(
            {
                "method": route.method,
                "path": route.path,
                "function": route.function,
                "policy": policy.name if policy else None,
                "max_staleness_seconds": staleness,
            }
        )
    return summaries


def is_product_change(record: dict[str, Any]) -> bool:
    """The StreamInvalidator's event filter: product keys, data-change events only."""
    keys = record.get("dynamodb", {}).get("Keys", {})
    partition = keys.get(PARTITION_KEY, {}).get("S", "")
    return record.get("eventName") in STREAM_EVENT_NAMES and partition.startswith(ITEM_PK_PREFIX)
