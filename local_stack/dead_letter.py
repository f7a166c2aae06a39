"""The stream poller's on-failure destination: a JSON-lines file under the state directory.

Each line carries what Lambda sends to an SQS on-failure destination for a stream event
source (requestContext with the condition and invoke count, DDBStreamBatchInfo) plus the
record itself, so a developer can see which item was given up on and why.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class DeadLetterFile:
    """Appends one JSON object per record given up on; safe across threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send(
        self,
        record: dict[str, Any],
        *,
        condition: str,
        invoke_count: int,
        function_error: str | None,
        shard_id: str,
        stream_arn: str,
        function_name: str,
    ) -> None:
        """Record that `record` was dropped because of `condition` after `invoke_count` tries."""
        sequence = record.get("dynamodb", {}).get("SequenceNumber")
        arrival = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
        entry = {
            "timestamp": datetime.now(UTC).isoformat(),
            "requestContext": {
                "condition": condition,
                "approximateInvokeCount": invoke_count,
                "functionArn": f"arn:aws:lambda:local:123456789012:function:{function_name}",
            },
            "responseContext": {"functionError": function_error},
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": sequence,
                "endSequenceNumber": sequence,
                "approximateArrivalOfFirstRecord": arrival,
                "approximateArrivalOfLastRecord": arrival,
                "batchSize": 1,
                "streamArn": stream_arn,
            },
            "record": record,
        }
        line = json.dumps(entry, default=str) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as out:
            out.write(line)

    def entries(self) -> list[dict[str, Any]]:
        """Every entry written so far (empty when the file does not exist)."""
        if not self.path.exists():
            return []
        with open(self.path, encoding="utf-8") as source:
            return [json.loads(line) for line in source if line.strip()]
