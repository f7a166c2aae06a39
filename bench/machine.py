"""The machine a run happened on: cores, Python, Redis, and the date."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from typing import Any

from redis_servers import REDIS_SERVER


def describe() -> dict[str, Any]:
    version = subprocess.run(
        [REDIS_SERVER, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "redis_server": version,
    }
