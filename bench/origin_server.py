"""The benchmark origin: moto's DynamoDB emulator behind a small WSGI layer of our own.

Run as `python -m bench.origin_server`; it prints `READY <port>` once it listens. The layer
adds what a benchmark needs and moto does not have, under `/__bench/*`:

- a configurable latency added to every DynamoDB call (a stand-in for the network and
  service time of the real thing: moto answers in about a millisecond);
- counters of calls per operation and of item reads per partition key (origin reads);
- holds: the next GetItem of one key can be parked before moto runs it and again after moto
  answered, until the bench releases it. This is how the stale-read scenario forces an
  interleaving of a reader's origin read with a writer and an invalidation.

It runs in its own process so every peer, thread and worker process shares one origin.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

READ_OPS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
PHASES = ("before", "after")


@dataclass
class Hold:
    """One armed hold: events for 'the request arrived at phase X' and 'release phase X'."""

    arrived: dict[str, threading.Event] = field(
        default_factory=lambda: {p: threading.Event() for p in PHASES}
    )
    released: dict[str, threading.Event] = field(
        default_factory=lambda: {p: threading.Event() for p in PHASES}
    )
    taken: bool = False


class BenchLayer:
    """WSGI middleware: counts, latency and holds in front of moto's app."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.latency_s = 0.0
        self.ops: Counter[str] = Counter()
        self.reads_by_pk: Counter[str] = Counter()
        self.consistent_reads = 0
        """Strongly consistent GetItems (1 read unit each, eventually consistent ones 0.5)."""
        self.holds: dict[str, Hold] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/__bench/"):
            return self._control(path[len("/__bench/") :], environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        op = target.rpartition(".")[2]
        if not op:
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        pks = _partition_keys(op, body)
        hold = self._take_hold(op, pks)
        with self.lock:
            self.ops[op] += 1
            if op in READ_OPS:
                self.reads_by_pk.update(pks)
                if op == "GetItem" and _consistent(body):
                    self.consistent_reads += 1
            latency = self.latency_s
        if latency:
            time.sleep(latency)
        if hold is None:
            return self.app(environ, start_response)
        self._park(hold, "before")
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[Any], exc_info: Any = None) -> Any:
            captured.update(status=status, headers=headers, exc_info=exc_info)
            return lambda _data: None

        chunks = list(self.app(environ, capture))
        self._park(hold, "after")
        start_response(captured["status"], captured["headers"], captured["exc_info"])
        return chunks

    def _take_hold(self, op: str, pks: list[str]) -> Hold | None:
        if op != "GetItem" or len(pks) != 1:
            return None
        with self.lock:
            hold = self.holds.get(pks[0])
            if hold is None or hold.taken:
                return None
            hold.taken = True
            return hold

    @staticmethod
    def _park(hold: Hold, phase: str) -> None:
        hold.arrived[phase].set()
        # A forgotten hold must not wedge the server: give up after 15 s.
        hold.released[phase].wait(timeout=15)

    def _control(self, action: str, environ: dict[str, Any], start_response: Any) -> Any:
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        args = json.loads(raw or b"{}")
        result: dict[str, Any] = {"ok": True}
        if action == "reset":
            with self.lock:
                self.ops.clear()
                self.reads_by_pk.clear()
                self.consistent_reads = 0
                self.holds.clear()
                self.latency_s = float(args.get("latency_ms", 0)) / 1000
        elif action == "counts":
            with self.lock:
                result = {
                    "ops": dict(self.ops),
                    "reads_by_pk": dict(self.reads_by_pk),
                    "consistent_reads": self.consistent_reads,
                }
        elif action == "hold":
            with self.lock:
                self.holds[args["pk"]] = Hold()
        elif action == "await":
            hold = self.holds.get(args["pk"])
            arrived = hold.arrived[args["phase"]] if hold else None
            result = {"arrived": bool(arrived and arrived.wait(float(args.get("timeout", 5))))}
        elif action == "release":
            hold = self.holds.get(args["pk"])
            if hold:
                phases = PHASES if args.get("phase") == "all" else (args["phase"],)
                for phase in phases:
                    hold.released[phase].set()
        elif action == "drop":
            with self.lock:
                hold = self.holds.pop(args["pk"], None)
            if hold:
                for event in hold.released.values():
                    event.set()
        else:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"ok": false}']
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(result).encode()]


def _consistent(body: bytes) -> bool:
    """True for a strongly consistent read request."""
    try:
        return json.loads(body or b"{}").get("ConsistentRead") is True
    except ValueError:
        return False


def _partition_keys(op: str, body: bytes) -> list[str]:
    """The PK values an operation touches (GetItem/PutItem/...: one; batch: several)."""
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return []
    if "Key" in request:
        return [str(request["Key"].get("PK", {}).get("S", ""))]
    if op == "BatchGetItem":
        return [
            str(key.get("PK", {}).get("S", ""))
            for table in request.get("RequestItems", {}).values()
            for key in table.get("Keys", [])
        ]
    if op == "Query":
        values = request.get("ExpressionAttributeValues", {})
        return [f"QUERY:{json.dumps(values, sort_keys=True)}"]
    return []


def main() -> None:
    layer = BenchLayer(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, layer, threaded=True, request_handler=MotoRequestHandler)
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
