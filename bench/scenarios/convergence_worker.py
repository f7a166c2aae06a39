"""Worker for the read-your-writes convergence scenario (bench/scenarios/convergence.py).

Modes:
- `reader`: reads one product through the peer's read path in a loop (a pause of `pace_ms`
  between reads), recording each read's start, end, version and source, until the parent
  sends "stop" with the list of acknowledged writes; then it reports, per write, when its
  first read that started after the acknowledgement returned that version or a newer one.
- `writer`: on each "write" message, writes the next version through the peer's write path
  and answers with the acknowledgement time (ours: then delivers the stream record, as the
  event source mapping would, later).
Times are `time.monotonic()`, which on Linux is one clock for every process of the machine.
"""

from __future__ import annotations

import bisect
import threading
import time
from typing import Any

from bench.items import product
from bench.peers import PeerSettings, make_peer
from bench.workers import Channel, serve


def _reader(params: dict[str, Any], channel: Channel) -> dict[str, Any]:
    peer = make_peer(params["peer"], PeerSettings.from_json(params["settings"]))
    product_id = params["product_id"]
    pace = float(params["pace_ms"]) / 1000.0
    for _ in range(3):  # warm: for ours the product is in L1 from the third read on
        peer.read(product_id)
    stop = threading.Event()
    trials: list[dict[str, Any]] = []

    def wait_for_stop() -> None:
        message = channel.recv()
        trials.extend(message["trials"])
        stop.set()

    threading.Thread(target=wait_for_stop, daemon=True).start()
    channel.send({"ready": True})
    starts: list[float] = []
    ends: list[float] = []
    versions: list[int] = []
    sources: dict[str, int] = {}
    clock = time.monotonic
    while not stop.is_set():
        start = clock()
        result = peer.read(product_id)
        end = clock()
        starts.append(start)
        ends.append(end)
        versions.append(int(result.version or 0))
        sources[result.source] = sources.get(result.source, 0) + 1
        if pace:
            time.sleep(pace)
    return _judge(trials, starts, ends, versions) | {"reads": len(starts), "sources": sources}


def _judge(
    trials: list[dict[str, Any]], starts: list[float], ends: list[float], versions: list[int]
) -> dict[str, Any]:
    """Per write: seconds from its acknowledgement to the end of the first read that started
    after it and returned it (or newer), None if none did; and how many reads started after
    an acknowledgement (and before the next one) and returned an older version."""
    convergence: list[float | None] = []
    stale_after_ack = 0
    for number, trial in enumerate(trials):
        ack, version = float(trial["t_ack"]), int(trial["version"])
        following = trials[number + 1]["t_ack"] if number + 1 < len(trials) else float("inf")
        first, last = bisect.bisect_left(starts, ack), bisect.bisect_left(starts, following)
        stale_after_ack += sum(1 for i in range(first, last) if versions[i] < version)
        seen = next((i for i in range(first, len(starts)) if versions[i] >= version), None)
        convergence.append(None if seen is None else ends[seen] - ack)
    return {"convergence_s": convergence, "stale_after_ack": stale_after_ack}


def _writer(params: dict[str, Any], channel: Channel) -> dict[str, Any]:
    name = params["peer"]
    peer = make_peer(name, PeerSettings.from_json(params["settings"]))
    product_id = params["product_id"]
    version = int(params["version"])
    channel.send({"ready": True})
    writes = 0
    while True:
        message = channel.recv()
        if message.get("stop"):
            return {"writes": writes}
        values = product(product_id, version + 1)
        written = int(peer.write(values))
        t_ack = time.monotonic()
        channel.send({"t_ack": t_ack, "version": written})
        if name == "ours":
            peer.invalidate(product(product_id, written - 1), {**values, "version": written})
        version = written
        writes += 1


def task(params: dict[str, Any], channel: Channel) -> dict[str, Any]:
    return _writer(params, channel) if params["mode"] == "writer" else _reader(params, channel)


if __name__ == "__main__":
    serve(task)
