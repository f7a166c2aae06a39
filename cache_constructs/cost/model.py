"""The per-layer cost model: a month's bill for any deployable combination of cache layers.

`bill()` follows a month of requests through the layers that are on, the way the runtime does
(cache_constructs/runtime): the stage cache answers what it can; every other read invokes
Lambda, meets L1 (whose tracking connection PINGs Valkey after a second of silence), then L2
(GET; on a miss the lease script, the origin read and the fill script). The origin read
depends on the item's fence: a new one (never made, expired or evicted) means a strongly
consistent DynamoDB read past DAX (`consistent_read_share` of the misses); an anchored one, DAX
or an eventually consistent read; without L2 every item read is strongly consistent. Every
write commits to DynamoDB, writes through to L2 and bumps the category's list generation, and
its stream record invokes the invalidator, which fences the item and bumps the generation
again. Each line of the bill belongs to one layer.

Combinations the runtime refuses (CachePolicy: `l1` or `dax` without `l2`) are not priced.

`analyse()` prices the stack as configured, then each cache layer's contribution: what the rest
of the bill would be without it and the layers that need it (its savings), their own lines
(its cost), the difference (net) and the monthly requests at which net crosses zero
(break-even). docs/cost.md has the formulas.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from cache_constructs.cost import prices as keys
from cache_constructs.cost.errors import InputError
from cache_constructs.cost.prices import PriceBook
from cache_constructs.cost.template import (
    FunctionConfig,
    NodeCacheConfig,
    ServerlessCacheConfig,
    StackConfig,
)
from cache_constructs.cost.traffic import HitRatios, Traffic

HOURS_PER_MONTH = 730
"""AWS's monthly hours for on-demand estimates."""
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
STREAM_POLLS_PER_SECOND = 4
"""Lambda polls each stream shard about four times a second (one shard assumed)."""
PROVISIONED_TARGET_UTILIZATION = 0.7
"""Provisioned capacity is sized to the average load at auto scaling's default 70% target."""

SERVERLESS_MIN_STORED_GB = {"valkey": 0.1, "redis": 1.0}
"""ElastiCache Serverless meters at least 100 MB (Valkey) or 1 GB (Redis OSS) per cache."""
ENTRY_OVERHEAD_KB = 0.1
"""Key name, envelope header and the engine's per-key overhead of one cached item."""
FENCE_KB = 0.1
"""The item's fence hash (`pc:{p:<id>}:t`): about 104 bytes (MEMORY USAGE, architecture.md).
Fences outlive their values, so every cached item has one."""

SCRIPT_COMMANDS = {
    "lease_cold": 6,
    "lease_anchored": 4,
    "fill_consistent": 8,
    "fill_eventual": 7,
    "write_through": 8,
    "invalidate": 6,
    "bump_generation": 2,
    "page_lease": 4,
    "page_fill": 4,
}
"""Commands each Lua script runs on the path the model prices (a script runs only some of its
`redis.call`s; tests/cost/test_cost_commands.py counts them on a real redis-server):
- lease, cold fence: GET, HMGET, HSET + PEXPIRE (the new fence), SET NX (lease), PTTL;
  anchored fence: GET, HMGET, SET NX, PTTL;
- fill from a strongly consistent read (anchors the fence): GET + DEL (own lease), HMGET,
  GETRANGE, HSET k, SET, PTTL + PEXPIRE (the fence outlives the value); from DAX or an
  eventually consistent read: the same without HSET k;
- write-through on an anchored fence: HMGET, HINCRBY e, HSET v, HSET k, PTTL, PEXPIRE,
  GETRANGE, SET (on a cold fence it lands nothing and runs 6 or 7);
- invalidate through V - 1 after V's write-through: HMGET, HINCRBY e, PTTL, PEXPIRE, DEL
  lease, GETRANGE (V stays cached);
- generation bump: GET, then SET at the floor or INCR;
- page lease: GET generation, SET NX, GET page, PTTL; page fill: GET + DEL lease, GET
  generation, SET.
A script is charged by the larger of its vCPU time and its data (1 ECPU per KB); AWS publishes
no vCPU formula, so each command it runs counts as one simple command's ECPU."""

TRACKING_HEALTH_CHECK_SECONDS = 1.0
"""L1's tracking connection is PINGed on the first lookup after this long without hearing
from it (runtime/tracking.py, DEFAULT_HEALTH_CHECK_SECONDS): one command and one round trip."""

CACHE_LAYERS = ("api", "l1", "l2", "dax")
LOCAL_CHAIN = ("l1", "l2")
"""The in-process and Valkey layers every read meets in turn. DAX is not in the chain: only a
Valkey miss on an anchored fence reaches it; lists never use it (its query cache ignores
writes, so the runtime queries the GSI)."""

REQUIRES = {"l1": "l2", "dax": "l2"}
"""Layers that cannot run without another (CachePolicy raises ValueError for them)."""
WHY_REQUIRED = {
    "l1": "L1 cannot run without Valkey here: client tracking, write-through and stream "
    "invalidation reach L1 only through Valkey",
    "dax": "DAX cannot run without Valkey here: the fence that vouches for DAX lives in Valkey",
}

LINE_OWNERS = {
    "api_requests": "api requests",
    "api_cache": "api",
    "lambda_requests": "lambda",
    "lambda_duration": "lambda",
    "valkey_storage": "l2",
    "valkey_ecpu": "l2",
    "valkey_nodes": "l2",
    "l1_tracking": "l1",
    "invalidator_requests": "l2",
    "invalidator_duration": "l2",
    "dax_nodes": "dax",
    "dynamodb_reads": "dynamodb",
    "dynamodb_writes": "dynamodb",
    "dynamodb_capacity": "dynamodb",
}
"""Which layer each bill line belongs to. The invalidator exists only to invalidate L2."""

BREAK_EVEN_CEILING = 1e13
"""Requests a month beyond which a layer that still does not pay is reported as never paying."""


@dataclass
class Bill:
    """A month of the stack with `layers` on: dollars per line and the request flows."""

    layers: frozenset[str]
    lines: dict[str, float] = field(default_factory=dict)
    flows: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        """Dollars a month, every line."""
        return sum(self.lines.values())

    def owned_by(self, owner: str) -> float:
        """Dollars a month of the lines that belong to `owner` (a layer, lambda, dynamodb...)."""
        return sum(v for k, v in self.lines.items() if LINE_OWNERS[k] == owner)


def served_shares(
    chain: Sequence[str], hits: HitRatios, present: Iterable[str]
) -> dict[str, float]:
    """Share of the requests entering `chain` that each present layer serves; 'origin': the rest.

    `hits` are conditional ratios of the full chain. A layer that is off hands the requests it
    would have served to the next layer below that is on (each layer fills from the one below,
    so it held them too), or to the origin when none is.
    """
    on = set(present)
    shares: dict[str, float] = {}
    remaining, carried = 1.0, 0.0
    for layer in chain:
        served = remaining * hits.of(layer)
        remaining -= served
        if layer in on:
            shares[layer] = served + carried
            carried = 0.0
        else:
            carried += served
    shares["origin"] = remaining + carried
    return shares


def refusal(layers: Iterable[str]) -> str | None:
    """Why the runtime refuses this combination of layers (None: it can be deployed)."""
    on = set(layers)
    reasons = [
        WHY_REQUIRED[layer]
        for layer in CACHE_LAYERS
        if layer in on and layer in REQUIRES and REQUIRES[layer] not in on
    ]
    return "; ".join(reasons) or None


def dependents(layer: str, layers: Iterable[str]) -> frozenset[str]:
    """The layers of `layers` that cannot run without `layer` (they go when it goes)."""
    return frozenset(other for other in layers if REQUIRES.get(other) == layer)


def bill(stack: StackConfig, traffic: Traffic, prices: PriceBook, layers: Iterable[str]) -> Bill:
    """The month of `traffic` through `stack` with only `layers` (of api, l1, l2, dax) on.

    ValueError for a combination the runtime refuses (`refusal`).
    """
    on = frozenset(layers) & stack.cache_layers
    why = refusal(on)
    if why is not None:
        raise ValueError(f"layers {sorted(on)} cannot be deployed: {why}")
    return _Month(stack, traffic, prices, on).bill()


class _Month:
    def __init__(
        self, stack: StackConfig, traffic: Traffic, prices: PriceBook, on: frozenset[str]
    ) -> None:
        self.stack, self.t, self.prices, self.on = stack, traffic, prices, on
        self.result = Bill(layers=on)
        self.ecpu = 0.0
        self.tracking_pings = 0.0
        self.read_units = 0.0
        self.write_units = 0.0
        self.gb_seconds: dict[str, float] = {}
        self.lambda_requests: dict[str, float] = {}
        self.invalidator_gb_seconds = 0.0
        self.invalidator_invocations = 0.0
        # Per read function (read, list): its L1 lookups and its milliseconds so far, for the
        # tracking connection's health checks.
        self.lookups: dict[str, float] = {}
        self.busy_ms: dict[str, float] = {}

    def bill(self) -> Bill:
        t = self.t
        item_reads = t.reads * (1 - t.list_share)
        list_reads = t.reads * t.list_share
        self.flow("requests", t.requests)
        self.flow("reads", t.reads)
        self.flow("writes", t.writes)
        self.line("api_requests", self.prices.rate(keys.api_rest_request()).cost(t.requests))
        item_reads = self.stage_cache(item_reads, cached=self.caches("items"))
        list_reads = self.stage_cache(list_reads, cached=self.caches("lists"))
        self.items(item_reads)
        self.lists(list_reads)
        self.health_checks("read", self.stack.read_function)
        self.health_checks("list", self.stack.list_function)
        self.writes(t.writes)
        self.lambda_lines()
        self.valkey_lines()
        self.hourly_lines()
        self.dynamodb_lines()
        return self.result

    # --- flows --------------------------------------------------------------------------------

    def caches(self, route: str) -> bool:
        cache = self.stack.api_cache
        if "api" not in self.on or cache is None:
            return False
        return cache.caches_items if route == "items" else cache.caches_lists

    def stage_cache(self, reads: float, *, cached: bool) -> float:
        """The reads left for Lambda after the stage cache answered its hits."""
        if not cached:
            return reads
        hits = reads * self.t.hits.api
        self.flow("api_hits", hits)
        return reads - hits

    def items(self, reads: float) -> None:
        t, kb, units = self.t, self.t.item_kb, _units(self.t.item_kb, 4)
        function = self.stack.read_function
        self.invoke("read", function, reads, t.handler_ms)
        if "l2" not in self.on:
            # No fence to vouch for an older copy: every read is strongly consistent.
            self.read_units += reads * units
            self.item_origin_flows(consistent=reads, eventual=0.0, calls=reads)
            self.wait("read", function, reads * t.origin_ms)
            return
        share = served_shares(LOCAL_CHAIN, t.hits, self.on)
        l1_hits = reads * share.get("l1", 0.0)
        reached = reads - l1_hits
        hits = reads * share["l2"]
        misses = reached - hits
        if "l1" in self.on:
            self.lookups["read"] = self.lookups.get("read", 0.0) + reads
        self.flow("l1_hits", l1_hits)
        self.flow("l2_hits", hits)
        # A miss's fence: new (never made, expired, evicted), so the read is strongly
        # consistent and goes past DAX, which only passes such reads through; or anchored (a
        # strongly consistent read vouched for it), so DAX or an eventually consistent read.
        consistent = misses * t.consistent_read_share
        anchored = misses - consistent
        dax_hits = anchored * t.hits.dax if "dax" in self.on else 0.0
        eventual = anchored - dax_hits  # DAX's misses read DynamoDB eventually consistent too
        self.flow("consistent_misses", consistent)
        self.flow("anchored_misses", anchored)
        if "dax" in self.on:
            self.flow("dax_requests", anchored)
            self.flow("dax_hits", dax_hits)
        commands = SCRIPT_COMMANDS
        self.ecpu += (
            hits * max(1.0, kb)
            + misses  # the GET that missed
            + consistent * (commands["lease_cold"] + max(commands["fill_consistent"], kb))
            + anchored * (commands["lease_anchored"] + max(commands["fill_eventual"], kb))
        )
        # One round trip per GET, lease and fill.
        self.wait("read", function, (reached + 2 * misses) * t.l2_ms)
        self.read_units += consistent * units + eventual * 0.5 * units
        self.item_origin_flows(consistent=consistent, eventual=eventual, calls=misses)
        self.wait("read", function, misses * t.origin_ms)

    def item_origin_flows(self, *, consistent: float, eventual: float, calls: float) -> None:
        """Item reads the read function made to DAX or DynamoDB (`calls`), and the DynamoDB
        reads among them (or made by DAX on its misses) by consistency."""
        self.flow("origin_reads", calls)
        self.flow("consistent_item_reads", consistent)
        self.flow("dynamodb_item_reads", consistent + eventual)
        self.flow("dynamodb_requests", consistent + eventual)

    def lists(self, reads: float) -> None:
        t, page_kb = self.t, self.t.page_kb
        function = self.stack.list_function
        share = served_shares(LOCAL_CHAIN, t.hits, self.on)
        self.invoke("list", function, reads, t.handler_ms)
        if "l1" in self.on:
            self.lookups["list"] = self.lookups.get("list", 0.0) + reads
        self.flow("l1_hits", reads * share.get("l1", 0.0))
        if "l2" in self.on:
            reached = reads * (1 - share.get("l1", 0.0))
            hits = reads * share["l2"]
            misses = reached - hits
            self.flow("l2_hits", hits)
            # The generation GET, the page GET; a miss also runs the page lease and fill scripts.
            self.ecpu += (
                reached
                + hits * max(1.0, page_kb)
                + misses
                * (1 + SCRIPT_COMMANDS["page_lease"] + max(SCRIPT_COMMANDS["page_fill"], page_kb))
            )
            self.wait("list", function, (2 * reached + 2 * misses) * t.l2_ms)
        origin = reads * share["origin"]
        # One GSI query per page, eventually consistent (a GSI has no consistent reads), its
        # items' sizes added up per 4 KB.
        self.read_units += origin * 0.5 * _units(page_kb, 4)
        self.flow("origin_reads", origin)
        self.flow("dynamodb_queries", origin)
        self.flow("dynamodb_requests", origin)
        self.wait("list", function, origin * t.origin_ms)

    def health_checks(self, role: str, function: FunctionConfig) -> None:
        """PINGs of the L1 tracking connections of one read function's environments.

        A lookup PINGs when the connection was silent for a second. With lookups arriving at
        random at `rate` a second per environment, a PING is followed by one second of quiet
        and then, on average, 1 / rate until the next lookup: 1 / (1 + rate x 1 s) PINGs per
        lookup (at most: tracked GETs and pushes also count as hearing from the server).
        Environments: `--environments`, else the function's mean concurrency, at least 1."""
        lookups = self.lookups.get(role, 0.0)
        if lookups <= 0:
            return
        concurrency = self.busy_ms.get(role, 0.0) / 1000 / SECONDS_PER_MONTH
        environments = self.t.environments or max(1.0, concurrency)
        # Lookups per environment within one health-check interval.
        per_interval = lookups / SECONDS_PER_MONTH / environments * TRACKING_HEALTH_CHECK_SECONDS
        pings = lookups / (1 + per_interval)
        self.flow(f"{role}_environments", environments)
        self.flow("tracking_pings", pings)
        self.tracking_pings += pings
        self.wait(role, function, pings * self.t.l2_ms)

    def writes(self, writes: float) -> None:
        t, kb = self.t, self.t.item_kb
        # Read the current item strongly consistent, then the conditional put; the GSI
        # (projection ALL) is written too.
        self.invoke("write", self.stack.write_function, writes, t.handler_ms + 2 * t.origin_ms)
        self.read_units += writes * _units(kb, 4)
        self.write_units += writes * 2 * _units(kb, 1)
        self.flow("dynamodb_write_reads", writes)
        self.flow("dynamodb_requests", 2 * writes)  # the read of the current item, the put
        if "l2" not in self.on:
            return
        # Write-through of the new version and the list generation bump.
        self.ecpu += writes * (
            max(SCRIPT_COMMANDS["write_through"], kb) + SCRIPT_COMMANDS["bump_generation"]
        )
        self.wait("write", self.stack.write_function, writes * 2 * t.l2_ms)
        invalidator = self.stack.invalidator
        if invalidator is None or writes <= 0:
            return
        per_second = writes / SECONDS_PER_MONTH
        batch = min(
            float(self.stack.invalidator_batch_size), max(1.0, per_second / STREAM_POLLS_PER_SECOND)
        )
        invocations = writes / batch
        self.invalidator_invocations = invocations
        self.flow("invalidator_invocations", invocations)
        # Each record: the invalidate script (fence) and the generation bump.
        self.ecpu += writes * (SCRIPT_COMMANDS["invalidate"] + SCRIPT_COMMANDS["bump_generation"])
        ms = invocations * t.handler_ms + writes * 2 * t.l2_ms
        self.invalidator_gb_seconds = ms / 1000 * invalidator.memory_gb
        arch = invalidator.architecture
        self.gb_seconds[arch] = self.gb_seconds.get(arch, 0.0) + self.invalidator_gb_seconds

    # --- Lambda accounting --------------------------------------------------------------------

    def invoke(
        self, role: str, function: FunctionConfig, invocations: float, ms_each: float
    ) -> None:
        arch = function.architecture
        self.lambda_requests[arch] = self.lambda_requests.get(arch, 0.0) + invocations
        self.flow("lambda_invocations", invocations)
        self.wait(role, function, invocations * ms_each)

    def wait(self, role: str, function: FunctionConfig, ms: float) -> None:
        arch = function.architecture
        self.gb_seconds[arch] = self.gb_seconds.get(arch, 0.0) + ms / 1000 * function.memory_gb
        self.busy_ms[role] = self.busy_ms.get(role, 0.0) + ms

    # --- lines --------------------------------------------------------------------------------

    def lambda_lines(self) -> None:
        requests = duration = invalidator_duration = 0.0
        for arch, gb_seconds in self.gb_seconds.items():
            # Duration bands apply to the month's GB-seconds of one architecture: price the
            # total, then share it out in proportion.
            cost = self.prices.rate(keys.lambda_gb_second(arch)).cost(gb_seconds)
            own = self.invalidator_gb_seconds if self._invalidator_arch() == arch else 0.0
            share = own / gb_seconds if gb_seconds else 0.0
            invalidator_duration += cost * share
            duration += cost * (1 - share)
        for arch, count in self.lambda_requests.items():
            requests += count * self.prices.usd(keys.lambda_request(arch))
        self.line("lambda_requests", requests)
        self.line("lambda_duration", duration)
        self.flow("lambda_gb_seconds", sum(self.gb_seconds.values()))
        if self.invalidator_invocations:
            arch = self._invalidator_arch() or "arm64"
            self.line(
                "invalidator_requests",
                self.invalidator_invocations * self.prices.usd(keys.lambda_request(arch)),
            )
            self.line("invalidator_duration", invalidator_duration)

    def _invalidator_arch(self) -> str | None:
        return self.stack.invalidator.architecture if self.stack.invalidator else None

    def valkey_lines(self) -> None:
        cache = self.stack.valkey
        if "l2" not in self.on or cache is None:
            return
        self.flow("ecpu", self.ecpu)
        if isinstance(cache, ServerlessCacheConfig):
            per_item_kb = self.t.item_kb + ENTRY_OVERHEAD_KB + FENCE_KB
            stored = self.t.cached_items * per_item_kb / (1024 * 1024)
            metered = max(stored, SERVERLESS_MIN_STORED_GB.get(cache.engine, 1.0))
            self.flow("valkey_stored_gb", metered)
            gb_hour = self.prices.usd(keys.serverless_storage_gb_hour(cache.engine))
            self.line("valkey_storage", metered * HOURS_PER_MONTH * gb_hour)
            ecpu = self.prices.usd(keys.serverless_ecpu(cache.engine))
            self.line("valkey_ecpu", self.ecpu * ecpu)
            if self.tracking_pings:
                # L1's own line: its tracking connection's health checks, one ECPU each.
                self.line("l1_tracking", self.tracking_pings * ecpu)
        elif isinstance(cache, NodeCacheConfig):
            hourly = self.prices.usd(keys.cache_node_hour(cache.node_type, cache.engine))
            self.line("valkey_nodes", cache.nodes * HOURS_PER_MONTH * hourly)

    def hourly_lines(self) -> None:
        """The caches billed by the hour whatever the traffic: DAX nodes and the stage cache."""
        dax = self.stack.dax
        if "dax" in self.on and dax is not None:
            hourly = self.prices.usd(keys.dax_node_hour(dax.node_type))
            self.line("dax_nodes", dax.nodes * HOURS_PER_MONTH * hourly)
        api = self.stack.api_cache
        if "api" in self.on and api is not None:
            self.line(
                "api_cache", HOURS_PER_MONTH * self.prices.usd(keys.api_cache_hour(api.size_gb))
            )

    def dynamodb_lines(self) -> None:
        self.flow("read_units", self.read_units)
        self.flow("write_units", self.write_units)
        if self.stack.table.on_demand:
            self.line(
                "dynamodb_reads", self.read_units * self.prices.usd(keys.dynamodb_read_request())
            )
            self.line(
                "dynamodb_writes", self.write_units * self.prices.usd(keys.dynamodb_write_request())
            )
            return
        rcu = _capacity(self.read_units)
        wcu = _capacity(self.write_units)
        self.flow("read_capacity_units", rcu)
        self.flow("write_capacity_units", wcu)
        self.line(
            "dynamodb_capacity",
            HOURS_PER_MONTH
            * (
                rcu * self.prices.usd(keys.dynamodb_read_capacity_hour())
                + wcu * self.prices.usd(keys.dynamodb_write_capacity_hour())
            ),
        )

    def line(self, name: str, dollars: float) -> None:
        self.result.lines[name] = self.result.lines.get(name, 0.0) + dollars

    def flow(self, name: str, count: float) -> None:
        self.result.flows[name] = self.result.flows.get(name, 0.0) + count


def _units(kb: float, unit_kb: int) -> int:
    """Capacity units of one request: DynamoDB rounds each item (or query result) up."""
    return max(1, math.ceil(kb / unit_kb - 1e-9))


def _capacity(units_a_month: float) -> int:
    per_second = units_a_month / SECONDS_PER_MONTH
    return max(1, math.ceil(per_second / PROVISIONED_TARGET_UTILIZATION))


# --- analysis -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerResult:
    """One cache layer's month in the configured stack, and when it pays.

    Removing a layer removes the layers that cannot run without it (`removed_with`: L1 and
    DAX go with Valkey), so its cost, requests absorbed and savings count them too."""

    layer: str
    monthly_cost: float
    requests_absorbed: float
    savings: float
    net: float
    break_even: float | None
    """Requests a month at which net reaches 0 (0: from the first request; None: never)."""
    per_million: float
    """Net dollars per extra million requests a month (what each volume step adds)."""
    removed_with: tuple[str, ...] = ()
    needs: str | None = None
    """The layer this one cannot run without (`REQUIRES`), when the stack has it."""
    alone_break_even: float | None = None
    alone_without: str | None = None
    """For Valkey, the DAX it carries: `alone_break_even` is Valkey's (with L1) break-even
    without DAX. DAX has no such figure: it cannot run without Valkey."""


@dataclass(frozen=True)
class Combination:
    """A deployable set of cache layers: its month and its net savings against no cache."""

    layers: frozenset[str]
    total: float
    net: float
    break_even: float | None


@dataclass(frozen=True)
class RefusedCombination:
    """A set of cache layers the runtime refuses (CachePolicy raises ValueError): not priced."""

    layers: frozenset[str]
    reason: str


@dataclass(frozen=True)
class Analysis:
    """The configured stack priced, layer by layer, and every deployable combination."""

    configured: Bill
    no_cache: Bill
    layers: list[LayerResult]
    combinations: list[Combination]
    refused: list[RefusedCombination] = field(default_factory=list)


def analyse(stack: StackConfig, traffic: Traffic, prices: PriceBook) -> Analysis:
    """Price the stack as configured, each cache layer's contribution and every combination.

    InputError naming --template when the stack itself could not run (DAX without Valkey)."""
    all_layers = stack.cache_layers
    why = refusal(all_layers)
    if why is not None:
        raise InputError(
            "--template",
            f"{stack.source} has a DAX cluster but no Valkey or Redis cache: {why} "
            "(CachePolicy refuses 'dax' without 'l2')",
        )
    configured = bill(stack, traffic, prices, all_layers)
    no_cache = bill(stack, traffic, prices, ())
    results = [
        _layer_result(stack, traffic, prices, layer, configured)
        for layer in CACHE_LAYERS
        if layer in all_layers
    ]
    combos, refused = [], []
    ordered = sorted(all_layers, key=CACHE_LAYERS.index)
    for size in range(len(ordered) + 1):
        for subset in combinations(ordered, size):
            layers = frozenset(subset)
            reason = refusal(layers)
            if reason is not None:
                refused.append(RefusedCombination(layers=layers, reason=reason))
                continue
            total = bill(stack, traffic, prices, layers).total
            curve = net_curve(stack, traffic, prices, layers, frozenset())
            combos.append(
                Combination(
                    layers=layers,
                    total=total,
                    net=no_cache.total - total,
                    break_even=break_even(curve) if layers else None,
                )
            )
    return Analysis(
        configured=configured,
        no_cache=no_cache,
        layers=results,
        combinations=combos,
        refused=refused,
    )


def _layer_result(
    stack: StackConfig, traffic: Traffic, prices: PriceBook, layer: str, configured: Bill
) -> LayerResult:
    with_it = stack.cache_layers
    removed = frozenset({layer}) | dependents(layer, with_it)
    without = with_it - removed
    own = sum(configured.owned_by(gone) for gone in removed)
    net = bill(stack, traffic, prices, without).total - configured.total
    curve = net_curve(stack, traffic, prices, with_it, without)
    alone_break_even, alone_without = None, None
    if layer == "l2" and "dax" in with_it:
        # What Valkey (with L1) would do without the DAX it carries.
        alone_without = "dax"
        rest = with_it - {"dax"}
        alone_break_even = break_even(net_curve(stack, traffic, prices, rest, rest - removed))
    needs = REQUIRES.get(layer)
    return LayerResult(
        layer=layer,
        monthly_cost=own,
        requests_absorbed=sum(configured.flows.get(f"{gone}_hits", 0.0) for gone in removed),
        savings=net + own,
        net=net,
        break_even=break_even(curve),
        per_million=curve(traffic.requests + 1e6) - net,
        removed_with=tuple(sorted(removed - {layer}, key=CACHE_LAYERS.index)),
        needs=needs if needs in with_it else None,
        alone_break_even=alone_break_even,
        alone_without=alone_without,
    )


def net_curve(
    stack: StackConfig,
    traffic: Traffic,
    prices: PriceBook,
    layers: frozenset[str],
    baseline: frozenset[str],
) -> Callable[[float], float]:
    """Dollars a month that `layers` save against `baseline`, as a function of monthly requests."""

    def net(requests: float) -> float:
        at = traffic.at(requests)
        return bill(stack, at, prices, baseline).total - bill(stack, at, prices, layers).total

    return net


def break_even(net: Callable[[float], float], ceiling: float = BREAK_EVEN_CEILING) -> float | None:
    """Monthly requests at which `net(requests)` reaches zero, found by bisection.

    0.0 when it pays from the first request, None when it still does not pay at `ceiling`.
    """
    if net(ceiling) <= 0:
        return None
    low, high = 1.0, ceiling
    if net(low) >= 0:
        return 0.0
    # Geometric bisection: the answer may lie anywhere between one and 10^13 requests.
    while high / low > 1 + 1e-9:
        middle = math.sqrt(low * high)
        if net(middle) >= 0:
            high = middle
        else:
            low = middle
    return high
