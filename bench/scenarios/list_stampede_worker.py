"""Worker for the list stampede (python -m bench.scenarios.list_stampede_worker).

Role `writer`: on each {"write": id} it PUTs a new product of the category through ours' write
handler (which bumps the category's list generation) and answers. Role `reader`: on each
{"go": true} its threads read the category's first page through the list handler at once
(released by a barrier) and it answers with what each got. Both stop on {"stop": true}.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from bench.items import product
from bench.peers.base import PeerSettings
from bench.peers.ours import OursPeer, _handler, lambda_context
from bench.workers import Channel, serve
from cache_constructs.product import handlers


def list_event(category: str, limit: int) -> dict[str, Any]:
    """An API Gateway REST proxy event for GET /products?category=C&limit=N."""
    query = {"category": category, "limit": str(limit)}
    return {
        "resource": "/products",
        "path": "/products",
        "httpMethod": "GET",
        "headers": {},
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()},
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/products",
            "httpMethod": "GET",
            "path": "/prod/products",
            "stage": "prod",
            "requestId": "bench",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


def _header(response: dict[str, Any], name: str) -> str:
    values = (response.get("multiValueHeaders") or {}).get(name) or []
    return str(values[0]) if values else str((response.get("headers") or {}).get(name, ""))


def task(params: dict[str, Any], channel: Channel) -> Any:
    peer = OursPeer(PeerSettings.from_json(params["settings"]))
    category, limit = params["category"], int(params["limit"])
    list_handler = _handler(handlers.LIST_HANDLER)
    channel.send({"ready": True})
    while True:
        message = channel.recv()
        if message.get("stop"):
            return {"stopped": True}
        if params["role"] == "writer":
            peer.write(product(message["write"], 1, category=category))
            channel.send({"written": message["write"]})
            continue
        channel.send({"answers": _read_together(list_handler, category, limit, params)})


def _read_together(
    list_handler: Any, category: str, limit: int, params: dict[str, Any]
) -> list[dict[str, Any]]:
    """`threads` reads of the page, released together by a barrier."""
    threads = int(params["threads"])
    barrier = threading.Barrier(threads)
    answers: list[dict[str, Any]] = [{} for _ in range(threads)]

    def read(index: int) -> None:
        barrier.wait()
        started = time.perf_counter()
        try:
            response = list_handler(list_event(category, limit), lambda_context("list"))
        except Exception as exc:  # reported, not lost with the thread: a handler never raises
            answers[index] = {
                "status": None,
                "source": "raised",
                "error": f"{type(exc).__name__}: {exc}"[:300],
                "seconds": time.perf_counter() - started,
            }
            return
        status = int(response["statusCode"])
        answers[index] = {
            "status": status,
            "source": _header(response, "X-Cache"),
            "items": len(json.loads(response["body"])["items"]) if status == 200 else None,
            "seconds": time.perf_counter() - started,
        }

    pool = [threading.Thread(target=read, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return answers


if __name__ == "__main__":
    serve(task)
