"""Draws docs/architecture.png: what CachedProductService deploys and how a request flows.

Run: ``.venv/bin/python docs/diagram.py`` (matplotlib, no network, deterministic output).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

OUT = Path(__file__).with_name("architecture.png")

# name -> (x, y, width, height, colour, label)
BOXES: dict[str, tuple[float, float, float, float, str, str]] = {
    "client": (0.2, 4.55, 1.6, 0.9, "#e8eef7", "Client\n(Cache-Control, ETag)"),
    "api": (
        2.4,
        4.45,
        2.3,
        1.1,
        "#fde9d9",
        "API Gateway (REST)\nstage cache: GET /products\nWAF, IAM auth on writes",
    ),
    "l1": (5.4, 6.5, 1.9, 0.5, "#eeeeee", "L1: module memory (per fn)"),
    "read": (5.4, 5.6, 1.9, 0.7, "#fff2cc", "read fn\nGET /products/{id}"),
    "list": (5.4, 4.6, 1.9, 0.7, "#fff2cc", "list fn\nGET /products"),
    "write": (5.4, 3.6, 1.9, 0.7, "#fff2cc", "write fn\nPOST / PUT / DELETE"),
    "valkey": (
        8.4,
        5.3,
        2.0,
        0.95,
        "#dae8fc",
        "L2: ElastiCache Valkey\nTLS + IAM auth\nversioned CAS (Lua)",
    ),
    "dax": (8.4, 3.4, 1.45, 0.8, "#e1d5e7", "DAX (TLS, SSE)\nitem cache"),
    "table": (11.2, 3.4, 1.9, 1.6, "#d5e8d4", "DynamoDB table\nPITR, TTL, SSE\nGSI category-index"),
    "stream": (11.2, 2.0, 1.9, 0.8, "#d5e8d4", "Stream\nNEW_AND_OLD_IMAGES"),
    "invalidate": (8.4, 2.0, 2.0, 0.8, "#fff2cc", "invalidation fn\nbisect, retries, SQS DLQ"),
    "ops": (
        0.2,
        2.0,
        4.5,
        0.9,
        "#f5f5f5",
        "CacheDashboard + CacheAlarms (SNS)\nEMF: L1/L2 hits, latency, bypass, stale",
    ),
}


def _side(name: str, side: str, offset: float = 0.0) -> tuple[float, float]:
    """A point on one side of a box: l, r (offset along y) or t, b (offset along x)."""
    x, y, w, h, _, _ = BOXES[name]
    if side == "l":
        return x, y + h / 2 + offset
    if side == "r":
        return x + w, y + h / 2 + offset
    if side == "t":
        return x + w / 2 + offset, y + h
    return x + w / 2 + offset, y


# (start, side, offset, end, side, offset, label)
ARROWS = [
    ("client", "r", 0, "api", "l", 0, ""),
    ("api", "r", 0.3, "read", "l", 0, ""),
    ("api", "r", 0, "list", "l", 0, ""),
    ("api", "r", -0.3, "write", "l", 0, ""),
    ("read", "t", 0, "l1", "b", 0, ""),
    ("read", "r", 0.1, "valkey", "l", 0.3, "get / fill"),
    ("list", "r", 0.2, "valkey", "l", -0.1, "pages"),
    ("write", "r", 0.25, "valkey", "l", -0.35, "write-through"),
    ("read", "r", -0.2, "dax", "l", 0.2, "L2 miss"),
    ("write", "r", -0.2, "dax", "l", -0.2, "write"),
    ("list", "r", -0.2, "table", "l", 0.55, "Query GSI (no DAX)"),
    ("dax", "r", 0, "table", "l", -0.4, ""),
    ("table", "b", 0, "stream", "t", 0, ""),
    ("stream", "l", 0, "invalidate", "r", 0, ""),
    ("invalidate", "t", 0.8, "valkey", "b", 0.8, "tombstones,\nlist generations"),
]


def draw(path: Path = OUT) -> Path:
    """Render the diagram to ``path`` and return it."""
    fig, ax = plt.subplots(figsize=(14, 6.2), dpi=110)
    ax.set_xlim(0, 13.3)
    ax.set_ylim(1.8, 7.6)
    ax.axis("off")
    vpc = FancyBboxPatch(
        (5.2, 1.85), 5.4, 5.45, boxstyle="round,pad=0.05", fill=False, ls="--", ec="#888888"
    )
    ax.add_patch(vpc)
    ax.text(
        5.3,
        7.12,
        "VPC: private isolated subnets, 2 AZs, no NAT (DynamoDB gateway endpoint)",
        fontsize=8,
        color="#555555",
    )
    for x, y, w, h, colour, label in BOXES.values():
        ax.add_patch(
            FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.04", fc=colour, ec="#444444")
        )
        ax.text(x + w / 2, y + h / 2, label, ha="center", va="center", fontsize=7.5)
    for start, start_side, start_offset, end, end_side, end_offset, label in ARROWS:
        (x1, y1) = _side(start, start_side, start_offset)
        (x2, y2) = _side(end, end_side, end_offset)
        ax.add_patch(
            FancyArrowPatch(
                (x1, y1),
                (x2, y2),
                arrowstyle="-|>",
                mutation_scale=10,
                color="#333333",
                shrinkA=0,
                shrinkB=0,
            )
        )
        if label:
            ax.text(
                x1 + (x2 - x1) * 0.35,
                y1 + (y2 - y1) * 0.35 + 0.06,
                label,
                fontsize=6.5,
                color="#1f4e79",
                ha="center",
            )
    ax.set_title(
        "CachedProductService: API cache -> L1 -> L2 (Valkey) -> DAX -> DynamoDB, "
        "stream invalidation",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path


if __name__ == "__main__":
    print(draw())
