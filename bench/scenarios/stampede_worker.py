"""Worker for the stampede scenario (python -m bench.scenarios.stampede_worker).

Modes: `threads` (N threads released together by a barrier) and `caller` (one caller of the
process mode). For each hot key in `product_ids`, in turn, both say "ready" and wait for
"go", then answer with what each read got; with `fill` they first read once, so the hot key
is cached (the bench then lets it expire before "go").
"""

from __future__ import annotations

import threading
import time
from typing import Any

from bench.peers import PeerSettings, make_peer
from bench.workers import Channel, serve


def _timed_read(peer: Any, product_id: str) -> dict[str, Any]:
    start = time.perf_counter()
    result = peer.read(product_id)
    return {
        "status": result.status,
        "version": result.version,
        "source": result.source,
        "seconds": time.perf_counter() - start,
    }


def _together(peer: Any, product_id: str, callers: int) -> list[dict[str, Any]]:
    """`callers` threads read `product_id` at once (released by a barrier)."""
    barrier = threading.Barrier(callers)
    results: list[dict[str, Any]] = [{} for _ in range(callers)]

    def call(index: int) -> None:
        barrier.wait()
        results[index] = _timed_read(peer, product_id)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def task(params: dict[str, Any], channel: Channel) -> Any:
    peer = make_peer(params["peer"], PeerSettings.from_json(params["settings"]))
    for product_id in params["product_ids"]:  # one stampede per hot key, in turn
        if params.get("fill"):
            _timed_read(peer, product_id)
        if params["mode"] == "caller":
            channel.send({"ready": True})
            channel.recv()  # "go"
            channel.send({"answers": [_timed_read(peer, product_id)]})
            continue
        channel.send({"ready": True})
        channel.recv()  # "go": the key has expired
        channel.send({"answers": _together(peer, product_id, int(params["callers"]))})
    return {"done": len(params["product_ids"])}


if __name__ == "__main__":
    serve(task)
