"""What payload encryption costs: this process's CPU to convert an order's payloads to Temporal
payloads and back (each encoded once by its producer and decoded once by its consumer), with
Orderloop's converter as every process uses it (AES-256-GCM codec) and with the same converter
without the codec. The payloads are a real order's: every workflow input, activity input and
result, signal and the result in the recorded history of an order that was held, sent,
shipped, tracked and completed (search attributes left out: the codec never sees them).

CPU, not wall time, as the other per-order benchmarks: what limits the end-to-end throughput on
two cores is the CPU each order costs. Run: `python -m bench.bench_payload_codec` (or `make bench`)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter

from orderloop.payload_codec import payloads_in
from orderloop.payload_keys import PayloadKey, PayloadKeyring
from orderloop.temporal_client import build_data_converter

ROOT = Path(__file__).resolve().parents[1]
# Data, not code: bench/ imports nothing from tests/.
ORDER_HISTORY = ROOT / "tests" / "histories" / "order_ships_and_completes_after_the_hold_window-rev2-1.json"


def order_values(path: Path) -> list[Any]:
    """The values (JSON) of the payloads the order's history carries, search attributes aside."""
    history = WorkflowHistory.from_json("bench", json.loads(path.read_text()))
    values = []
    for event in history.events:
        searchable = {id(p) for p in payloads_in(event) if _is_search_attribute(event, p)}
        for payload in payloads_in(event):
            if id(payload) not in searchable and payload.metadata.get("encoding") == b"json/plain":
                values.append(json.loads(payload.data))
    return values


def _is_search_attribute(event: Any, payload: Payload) -> bool:
    upsert = event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
    started = event.workflow_execution_started_event_attributes.search_attributes.indexed_fields
    return any(payload is p for p in (*upsert.values(), *started.values()))


async def cpu_per_round_trip(converter: DataConverter, values: list[Any], rounds: int) -> float:
    """Seconds of CPU for encoding then decoding every value once, averaged over `rounds`."""
    started = time.process_time()
    for _ in range(rounds):
        for value in values:
            payloads = await converter.encode([value])
            await converter.decode(payloads, [dict if isinstance(value, dict) else object])
    return (time.process_time() - started) / rounds


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=2000, help="orders' worth of payloads to convert")
    parser.add_argument("--history", type=Path, default=ORDER_HISTORY, help="a recorded order history (JSON)")
    args = parser.parse_args()
    values = order_values(args.history)
    size = sum(len(json.dumps(v)) for v in values)
    encrypting = build_data_converter(PayloadKeyring([PayloadKey.generate("bench")]))
    plain = dataclasses.replace(encrypting, payload_codec=None)  # the same converter, no codec
    await cpu_per_round_trip(encrypting, values, 50)  # warm the caches (type adapters, AESGCM)
    await cpu_per_round_trip(plain, values, 50)
    figures = {}
    for name, converter in (("without the codec", plain), ("with the codec (AES-256-GCM)", encrypting)):
        figures[name] = await cpu_per_round_trip(converter, values, args.orders)
    base, coded = figures["without the codec"], figures["with the codec (AES-256-GCM)"]
    print(
        f"CPU of this process per order: {len(values)} payloads ({size:,} bytes of JSON) encoded and decoded once, "
        f"{args.orders} orders"
    )
    for name, seconds in figures.items():
        print(f"  {name:<30} {seconds * 1e6:8,.0f} us/order  {seconds / len(values) * 1e6:6.1f} us/payload")
    print(
        f"  {'the codec adds':<30} {(coded - base) * 1e6:8,.0f} us/order  "
        f"{(coded - base) / len(values) * 1e6:6.1f} us/payload"
    )


if __name__ == "__main__":
    asyncio.run(main())
