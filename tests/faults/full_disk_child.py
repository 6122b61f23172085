"""`python -m tests.faults.full_disk_child URL LIMIT`: open the SQLite ledger at URL, let this
process write no file beyond LIMIT bytes (RLIMIT_FSIZE, so a write past it fails as on a full
disk), try a large stock snapshot, read while the disk is "full", lift the limit and write
again; print what happened as one JSON object. A process of its own, because the limit and the
ignored SIGXFSZ would apply to everything the test process writes."""

from __future__ import annotations

import asyncio
import json
import resource
import signal
import sys
from typing import Any

from orderloop.ledger import Cause, CauseKind, Ledger, LedgerUnavailable, SnapshotRow

SNAPSHOT_ROWS = 20_000


async def main(url: str, limit: int) -> dict[str, Any]:
    # Ignored, a write past the limit fails with EFBIG instead of killing the process.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    ledger = await Ledger.open(url)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    seen: dict[str, Any] = {}
    try:
        rows = [SnapshotRow(sku=f"FULL-{i:05d}", on_hand=i + 1) for i in range(SNAPSHOT_ROWS)]
        await ledger.apply_snapshot("east", rows, Cause(kind=CauseKind.FULFILLMENT_CHANNEL, ref="wms"))
        seen["snapshot"] = "written"
    except Exception as exc:
        seen["snapshot"] = {
            "type": type(exc).__name__,
            "message": str(exc),
            "unavailable": isinstance(exc, LedgerUnavailable),
        }
    seen["on_hand_while_full"] = [level.on_hand for level in await ledger.stock("SEEDED")]
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    await ledger.receive("SEEDED", "east", 5, Cause(kind=CauseKind.SYSTEM, ref="space freed"))
    seen["on_hand_after"] = [level.on_hand for level in await ledger.stock("SEEDED")]
    await ledger.close()
    return seen


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], int(sys.argv[2])))))
