"""Worker for the Zipf scenario (python -m bench.scenarios.zipf_worker): one peer, one trace.

It sizes its own redis-server first: it caches `cache_size` distinct products through the
peer and sets maxmemory (allkeys-lru) to the server's used memory at that point. Then it
replays the trace.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import redis

from bench.items import product
from bench.origin_client import Origin
from bench.peers import PeerSettings, make_peer
from bench.stats import percentiles_ms
from bench.workers import Channel, serve
from bench.workload import zipf_trace


def _used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def _bytes_of_all_keys(client: redis.Redis) -> int:
    """What every key takes (MEMORY USAGE: value, key and overhead), summed."""
    pipe = client.pipeline(transaction=False)
    for key in client.scan_iter(count=1000):
        pipe.memory_usage(key, samples=0)
    return sum(int(n or 0) for n in pipe.execute())


def _write(peer: Any, name: str, product_id: str, version: int) -> int:
    """Write `version` through the peer's write path (ours: and deliver its stream record)."""
    values = product(product_id, version)
    written = int(peer.write(values))
    if name == "ours":
        old = product(product_id, written - 1)
        peer.invalidate(old, {**values, "version": written})
    return written


def task(params: dict[str, Any], _channel: Channel) -> dict[str, Any]:
    settings = PeerSettings.from_json(params["settings"])
    name = params["peer"]
    origin = Origin(params["origin_endpoint"])
    prefix = params["prefix"]
    peer = make_peer(name, settings)
    admin = redis.Redis.from_url(settings.redis_url)
    cache_size = int(params["cache_size"])
    keys = int(params["keys"])

    # Size L2 to `cache_size` entries of this peer's own representation.
    # maxmemory = the server's footprint once it holds `cache_size` products written by the
    # peer itself (its key layout, connections, scripts and their memory included). Not
    # flushed: the warm-up phase of the trace replaces those products.
    # One write (and for ours its invalidation) goes through first, so the one-time cost of
    # each path the run uses (scripts, Redis' own structures) is inside the measured
    # footprint rather than charged against the key room after sizing: ours' first
    # write-through and invalidation grow Redis' used memory by ~200 KB that no key accounts
    # for, which would otherwise cost it ~20% of a 1,000-product budget.
    admin.config_set("maxmemory", 0)
    versions: dict[int, int] = {0: _write(peer, name, f"{prefix}0", 2)}
    # The same rule for reads: ours opens its L1 tracking connection (a client's buffers,
    # ~tens of KB) on a key's second lookup; reading one product three times puts that
    # one-time cost inside the footprint too (what each key it tracks costs is not: that
    # grows with the run and competes with keys, as it would in production).
    for _ in range(3):
        peer.read(f"{prefix}0")
    for key in range(cache_size):
        peer.read(f"{prefix}{key}")
    per_entries = _bytes_of_all_keys(admin)
    maxmemory = _used_memory(admin)
    admin.config_set("maxmemory-policy", "allkeys-lru")
    admin.config_set("maxmemory-samples", 10)
    admin.config_set("maxmemory", maxmemory)
    trace = zipf_trace(keys, int(params["requests"]), seed=int(params["seed"]))
    warmup = int(params["warmup"])
    latencies: list[float] = []
    sources: Counter[str] = Counter()
    hit_bits: list[str] = []
    """Per measured read, "1" if the peer answered from its cache: the paired series the
    targets' sampling error is taken from (dogpile does not say, so it has none)."""
    write_path_reads = 0
    errors = 0
    write_errors = 0
    first_write_error = ""
    reads_at_warmup = consistent_at_warmup = write_path_consistent = 0
    measured_reads = 0
    clock = time.perf_counter
    for index, request in enumerate(trace):
        if index == warmup:
            reads_at_warmup = origin.total_reads()
            consistent_at_warmup = origin.consistent_reads()
            write_path_reads = write_path_consistent = 0
        product_id = f"{prefix}{request.key}"
        if request.write:
            before, consistent_before = origin.total_reads(), origin.consistent_reads()
            # naive/dogpile put the version the bench gives; ours assigns its own.
            version = versions.get(request.key, 1) + 1
            try:
                versions[request.key] = _write(peer, name, product_id, version)
            except Exception as exc:  # counted and reported: the run goes on
                write_errors += 1
                first_write_error = first_write_error or f"{type(exc).__name__}: {exc}"[:500]
            write_path_reads += origin.total_reads() - before
            write_path_consistent += origin.consistent_reads() - consistent_before
            continue
        start = clock()
        result = peer.read(product_id)
        elapsed = clock() - start
        if result.status != 200:
            errors += 1
        if result.version is not None:
            versions[request.key] = max(versions.get(request.key, 1), result.version)
        if index >= warmup:
            latencies.append(elapsed)
            sources[result.source] += 1
            hit_bits.append("1" if result.source.startswith("HIT") else "0")
            measured_reads += 1
    read_path_origin_reads = origin.total_reads() - reads_at_warmup - write_path_reads
    read_path_consistent = origin.consistent_reads() - consistent_at_warmup - write_path_consistent
    info = admin.info("stats")
    memory = admin.info("memory")
    errorstats = admin.info("errorstats")
    return {
        "reads": measured_reads,
        "origin_reads": read_path_origin_reads,
        "consistent_origin_reads": read_path_consistent,
        "hit_ratio": round(1 - read_path_origin_reads / measured_reads, 4),
        **percentiles_ms(latencies),
        "sources": dict(sources),
        "hit_bits": "".join(hit_bits) if all(sources) else None,
        "errors": errors,
        "write_errors": write_errors,
        "first_write_error": first_write_error,
        "l2_maxmemory_bytes": maxmemory,
        "l2_bytes_for_cache_size": per_entries,
        "evicted_keys": int(info.get("evicted_keys", 0)),
        # Evidence when a peer degrades: Redis' own count of OOM refusals, what is left.
        "redis_oom_errors": int(errorstats.get("errorstat_OOM", {}).get("count", 0)),
        "redis_keys_at_end": int(admin.dbsize()),
        "redis_used_memory_at_end": int(memory["used_memory"]),
        "redis_lua_memory_at_end": int(memory.get("used_memory_vm_eval", 0)),
        "redis_clients_memory_at_end": int(memory.get("mem_clients_normal", 0)),
    }


if __name__ == "__main__":
    serve(task)
