"""The SQLite ledger's disk fills up during a write: the write fails with `LedgerUnavailable`,
naming the file and the reason, and leaves nothing behind (no row, event or outbox entry of
the failed snapshot; the ledger's invariants hold); reads go on meanwhile, and once there is
room again the same ledger object writes. The full disk is a file-size limit on a child
process (`tests/faults/full_disk_child.py`): no mount or root needed, the server's disk safe."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from orderloop.ledger import Cause, CauseKind, EventKind, Ledger
from orderloop.loopback_stack import SHIPPED_CONFIG

# The ledger's files may not grow past this: its empty schema fits, a 20,000-row snapshot not.
LIMIT = 512 * 1024


async def test_a_full_disk_fails_the_write_clearly_and_leaves_nothing_half_written(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    url = f"sqlite:///{path}"
    ledger = await Ledger.open(url)
    try:
        await ledger.receive("SEEDED", "east", 10, Cause(kind=CauseKind.SYSTEM, ref="seed"))
        outbox_before = await ledger.outbox_head()
    finally:
        await ledger.close()
    assert path.stat().st_size < LIMIT
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.faults.full_disk_child",
        url,
        str(LIMIT),
        cwd=SHIPPED_CONFIG.parent,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(child.communicate(), 120)
    assert child.returncode == 0, err.decode()[-3000:]
    seen = json.loads(out.decode().strip().splitlines()[-1])
    failure = seen["snapshot"]
    assert failure["type"] == "LedgerUnavailable" and failure["unavailable"], failure
    assert failure["message"].startswith(f"the SQLite ledger {path} cannot write: ")
    assert "nothing was changed" in failure["message"]
    assert seen["on_hand_while_full"] == [10]
    assert seen["on_hand_after"] == [15]
    ledger = await Ledger.open(url)
    try:
        assert await ledger.stock("FULL-00000") == [] and await ledger.stock(f"FULL-{19_999:05d}") == []
        assert await ledger.all_skus() == ["SEEDED"]
        events = [(e.kind, e.delta, e.cause.ref) for e in await ledger.events()]
        assert sorted(events) == [(EventKind.RECEIVE, 5, "space freed"), (EventKind.RECEIVE, 10, "seed")]
        # One outbox row, from the receive after the disk had room again.
        assert await ledger.outbox_head() == outbox_before + 1
        assert await ledger.check_invariants() == []
    finally:
        await ledger.close()
