"""Worker for the stale-read scenario (python -m bench.scenarios.stale_reads_worker).

For each interleaving: a reader thread misses the cache and its origin GetItem is parked by
the origin (bench/origin_server.py holds). The four events
  R  the reader's GetItem runs at the origin (it reads the old version),
  F  the reader gets that answer back (and fills the cache with it, if the peer lets it),
  W  the writer commits the next version through the peer's write path,
  I  the invalidation of that write is delivered (ours: the stream record; peers: DEL),
are then executed in the drawn order (R before F, W before I). Afterwards a fresh read
checks the promise: it starts after the write was acknowledged and after its invalidation
(the stream lag), so it must return the written version or newer.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from typing import Any

from bench.items import product
from bench.origin_client import Origin
from bench.peers import PeerSettings, make_peer
from bench.workers import Channel, serve

ORDERS = ("RFWI", "RWFI", "RWIF", "WRFI", "WRIF", "WIRF")


def task(params: dict[str, Any], _channel: Channel) -> dict[str, Any]:
    peer = make_peer(params["peer"], PeerSettings.from_json(params["settings"]))
    origin = Origin(params["origin_endpoint"])
    rng = random.Random(int(params["seed"]))
    stale_by_order: Counter[str] = Counter()
    runs_by_order: Counter[str] = Counter()
    no_origin_read = 0
    longest_ms = 0.0
    for index in range(int(params["interleavings"])):
        product_id = f"{params['prefix']}{index}"
        order = rng.choice(ORDERS)
        old = product(product_id, 1)
        origin.hold(product_id)
        reader = threading.Thread(target=peer.read, args=(product_id,))
        reader.start()
        if not origin.await_arrival(product_id, "before", timeout=10):
            no_origin_read += 1
            origin.drop_hold(product_id)
            reader.join()
            continue
        runs_by_order[order] += 1
        written = acked_at = 0.0
        for step in order:
            if step == "R":
                origin.release(product_id, "before")
                origin.await_arrival(product_id, "after", timeout=10)
            elif step == "F":
                origin.release(product_id, "after")
                reader.join(timeout=30)
            elif step == "W":
                written = peer.write(product(product_id, 2))
                acked_at = time.monotonic()
            else:
                peer.invalidate(old, product(product_id, int(written)))
        origin.drop_hold(product_id)
        reader.join(timeout=30)
        check = peer.read(product_id)
        if check.version is None or check.version < written:
            stale_by_order[order] += 1
            remaining = peer.stale_entry_ttl_ms(product_id) or 0
            longest_ms = max(longest_ms, (time.monotonic() - acked_at) * 1000 + remaining)
    return {
        "interleavings": sum(runs_by_order.values()),
        "stale_reads": sum(stale_by_order.values()),
        "stale_by_order": dict(stale_by_order),
        "runs_by_order": dict(runs_by_order),
        "reader_skipped_origin": no_origin_read,
        "longest_staleness_s": round(longest_ms / 1000, 1),
    }


if __name__ == "__main__":
    serve(task)
