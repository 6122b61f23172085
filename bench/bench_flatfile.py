"""Inbound shipment files through the flat-file connector: rows per second read from a real
SFTP server (the partner sandbox's, on loopback), checked, grouped into parcels and recorded
row by row in a SQLite ledger journal, with a sink that accepts every shipment at once (so the
figure is the connector's and the journal's, not Temporal's). Also the order-file write (one
SFTP write and rename per shipping request).

    python -m bench.bench_flatfile [--rows 2000] [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from connectors.base import Delivery
from connectors.flatfile import FlatFileConnector
from connectors.sftp_exchange.server import SftpUser, generate_host_key, public_line, start_sftp_server
from orderloop.config import ChannelConfig
from orderloop.contracts.scheduled_jobs import SnapshotReport
from orderloop.ledger import Ledger
from orderloop.model import Address, ConnectorRole, RequestLine, Shipment, ShippingRequest, StockRow


class AcceptAll:
    def __init__(self) -> None:
        self.count = 0

    async def shipment(self, shipment: Shipment) -> Delivery:
        self.count += 1
        return Delivery.DELIVERED

    async def stock(self, rows: list[StockRow]) -> SnapshotReport:
        return SnapshotReport(channel_id="files")

    def progress(self, detail: str) -> None:
        pass


def request(n: int) -> ShippingRequest:
    order_id = f"order/bench/{n}"
    return ShippingRequest(
        id=f"{order_id}/sr1",
        idempotency_key=f"{order_id}/sr1/key",
        order_id=order_id,
        channel_id="bench",
        external_order_id=str(n),
        fulfillment_channel_id="files",
        location_id="files-tx",
        line_items=[RequestLine(line_id="1", sku="MUG-11OZ", quantity=1)],
        shipping_address=Address(address1="1 Main St", city="Dallas", country="US", zip_code_or_postal_code="75261"),
        created_at=datetime.now(UTC),
    )


async def run(rows: int, requests: int) -> None:
    with tempfile.TemporaryDirectory(prefix="orderloop-bench-files-") as folder:
        root = Path(folder)
        key = generate_host_key()
        server = await start_sftp_server(root / "sftp", [SftpUser("bench", password="bench")], host_key=key)
        os.environ["BENCH_FILES_PASSWORD"] = "bench"
        os.environ["BENCH_FILES_HOST_KEY"] = public_line(key)
        channel = ChannelConfig(
            id="files",
            type="flatfile",
            role=ConnectorRole.FULFILLMENT,
            base_url=f"sftp://{server.host}:{server.port}",
            credentials={"password": "BENCH_FILES_PASSWORD", "known_host_key": "BENCH_FILES_HOST_KEY"},
            settings={"username": "bench"},
        )
        connector = FlatFileConnector(channel)
        ledger = await Ledger.open(f"sqlite:///{root / 'ledger.db'}")
        try:
            started = time.perf_counter()
            for n in range(requests):
                await connector.create_shipping_request(request(n))
            writes = time.perf_counter() - started

            body = "request_id,sku,quantity,tracking_number\r\n" + "".join(
                f"order/bench/{n}/sr1,MUG-11OZ,1,1ZB{n:06d}\r\n" for n in range(rows)
            )
            inbound = root / "sftp/inbound/shipments"
            inbound.mkdir(parents=True, exist_ok=True)
            (inbound / "SHIP-bench.csv").write_bytes(body.encode())
            (root / "sftp/inbound/inventory").mkdir(parents=True, exist_ok=True)
            sink = AcceptAll()
            started = time.perf_counter()
            report = await connector.collect_reports(ledger, sink)
            reading = time.perf_counter() - started
        finally:
            await connector.aclose()
            await ledger.close()
            await server.close()
    assert report.rows_applied == rows == sink.count
    print("| flat files over SFTP (loopback, SQLite journal) | count | seconds | per second |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| order files written (write + rename) | {requests} | {writes:.2f} | {requests / writes:.0f} |")
    print(f"| shipment rows collected (one parcel each) | {rows} | {reading:.2f} | {rows / reading:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(run(args.rows, args.requests))


if __name__ == "__main__":
    main()
