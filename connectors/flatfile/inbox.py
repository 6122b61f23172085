"""Reading the partner's inbound files: shipment files and inventory snapshot files, each folder
in name order (the exchange's `list` order: oldest first, then by name), each file once.

Per file: its bytes are read and the file is known to the ledger's journal by its name and a
digest of its bytes (`file_key`); a file not in the configured format goes whole to the error
folder with `<name>.reason.txt` beside it. Otherwise each row is checked on its own: a bad row is
recorded `rejected` with its reason; the good rows take effect, a parcel (one request, one
tracking number, any number of rows) as one shipment signalled to its order, an inventory file's
rows as one snapshot. Each row is recorded `delivering` before its effect and `applied` after
(parcels in batches of `PARCELS_PER_BATCH`, one journal write per batch and state), so a run cut
short resumes at the first row not applied (and a row caught delivering is sent again,
recognised by the receiver). Last the rejected rows go to `<name>.errors.csv` (line,
reason) in the archive folder and the file is moved beside it.
"""

from __future__ import annotations

import asyncio
import hashlib
import posixpath
from enum import StrEnum

from connectors.base import Delivery, ReportSink
from connectors.file_exchange import FileExchange, RemoteFile
from connectors.flatfile import mapping
from connectors.flatfile.mapping import FileFormatError, ParcelRows, RowError
from connectors.flatfile.settings import FlatFileSettings
from orderloop.contracts.scheduled_jobs import CollectReportsReport
from orderloop.file_journal import FileJournal, FileState, RowOutcome, RowRecord

ERRORS_SUFFIX = ".errors.csv"
# Parcels signalled together, between two journal writes: fewer transactions per row, and what a
# crash inside a batch sends again.
PARCELS_PER_BATCH = 20
REASON_SUFFIX = ".reason.txt"


class FileKind(StrEnum):
    SHIPMENTS = "shipments"
    INVENTORY = "inventory"


def file_key(name: str, data: bytes) -> str:
    return hashlib.sha256(name.encode() + b"\0" + data).hexdigest()


class Inbox:
    def __init__(
        self,
        exchange: FileExchange,
        settings: FlatFileSettings,
        channel_id: str,
        journal: FileJournal,
        sink: ReportSink,
    ) -> None:
        self.exchange = exchange
        self.settings = settings
        self.channel_id = channel_id
        self.journal = journal
        self.sink = sink
        self.report = CollectReportsReport(channel_id=channel_id)

    async def collect(self) -> CollectReportsReport:
        for kind, folder in (
            (FileKind.SHIPMENTS, self.settings.shipments_folder),
            (FileKind.INVENTORY, self.settings.inventory_folder),
        ):
            for remote in await self.exchange.list(folder):
                await self._file(kind, remote)
        return self.report

    async def _file(self, kind: FileKind, remote: RemoteFile) -> None:
        data = await self.exchange.read(remote.path)
        key = file_key(remote.name, data)
        await self.journal.begin_exchange_file(self.channel_id, key, remote.name, kind)
        self.sink.progress(remote.name)
        try:
            rows = self._rows(kind, remote, data)
        except FileFormatError as exc:
            await self._refuse(remote, key, str(exc))
            return
        done = await self.journal.exchange_rows(self.channel_id, key)
        if kind is FileKind.SHIPMENTS:
            await self._shipments(rows, key, done)
        else:
            await self._inventory(rows, key, done)
        await self._archive(remote, key)

    def _rows(self, kind: FileKind, remote: RemoteFile, data: bytes) -> list[mapping.FileRow]:
        if not remote.name.lower().endswith(self.settings.extension):
            raise FileFormatError(
                f"not a {self.settings.format.upper()} file: the name must end in {self.settings.extension}"
            )
        required = (
            mapping.shipment_required_columns(self.settings)
            if kind is FileKind.SHIPMENTS
            else mapping.inventory_required_columns(self.settings)
        )
        return mapping.read_rows(data, self.settings, required)

    async def _reject(self, key: str, errors: list[RowError], done: dict[int, RowRecord]) -> None:
        fresh = {e.line: e.reason for e in errors if e.line not in done}
        await self.journal.record_exchange_rows(self.channel_id, key, fresh, RowOutcome.REJECTED)
        self.report.rows_rejected += len(fresh)

    @staticmethod
    def _open(lines: list[int], done: dict[int, RowRecord]) -> list[int]:
        return [line for line in lines if line not in done or done[line].outcome is RowOutcome.DELIVERING]

    async def _shipments(self, rows: list[mapping.FileRow], key: str, done: dict[int, RowRecord]) -> None:
        good, bad = mapping.shipment_rows(rows, self.settings)
        await self._reject(key, bad, done)
        pending: list[tuple[ParcelRows, list[int]]] = []
        for parcel in mapping.parcels(good, self.channel_id):
            todo = self._open(parcel.lines, done)
            self.report.rows_already_applied += len(parcel.lines) - len(todo)
            if todo:
                pending.append((parcel, todo))
        for start in range(0, len(pending), PARCELS_PER_BATCH):
            await self._deliver(key, pending[start : start + PARCELS_PER_BATCH], done)

    async def _deliver(self, key: str, batch: list[tuple[ParcelRows, list[int]]], done: dict[int, RowRecord]) -> None:
        """One batch of parcels: recorded delivering, signalled together, recorded as they went.
        A crash inside the batch sends the batch again on the next run (recognised by id)."""
        delivering = {line: parcel.shipment.id for parcel, todo in batch for line in todo}
        await self.journal.record_exchange_rows(self.channel_id, key, delivering, RowOutcome.DELIVERING)
        deliveries = await asyncio.gather(*(self.sink.shipment(parcel.shipment) for parcel, _ in batch))
        applied: dict[int, str] = {}
        rejected: dict[int, str] = {}
        for (parcel, todo), delivery in zip(batch, deliveries, strict=True):
            shipment = parcel.shipment
            sent_before = any(line in done for line in todo)
            if delivery is Delivery.DELIVERED or (delivery is Delivery.ORDER_CLOSED and sent_before):
                # A parcel caught delivering whose order has closed since was delivered before.
                applied.update(dict.fromkeys(todo, shipment.id))
                self.report.shipments_delivered.append(shipment.id)
            elif delivery is Delivery.UNKNOWN_ORDER:
                reason = f"unknown order: no order has shipping request {shipment.shipping_request_id!r}"
                rejected.update(dict.fromkeys(todo, reason))
            else:
                reason = f"order of {shipment.shipping_request_id!r} is closed: it takes no more shipments"
                rejected.update(dict.fromkeys(todo, reason))
        await self.journal.record_exchange_rows(self.channel_id, key, applied, RowOutcome.APPLIED)
        await self.journal.record_exchange_rows(self.channel_id, key, rejected, RowOutcome.REJECTED)
        self.report.rows_applied += len(applied)
        self.report.rows_rejected += len(rejected)
        self.sink.progress(f"{len(applied) + len(rejected)} rows")

    async def _inventory(self, rows: list[mapping.FileRow], key: str, done: dict[int, RowRecord]) -> None:
        good, bad = mapping.inventory_rows(rows, self.settings)
        await self._reject(key, bad, done)
        todo = self._open([line for line, _ in good], done)
        self.report.rows_already_applied += len(good) - len(todo)
        if not todo:
            return
        wanted = set(todo)
        await self.journal.record_exchange_rows(
            self.channel_id, key, dict.fromkeys(todo, "stock snapshot"), RowOutcome.DELIVERING
        )
        # Levels are absolute: a snapshot applied again (after a crash) changes nothing more.
        snapshot = await self.sink.stock([row for line, row in good if line in wanted])
        detail = f"stock snapshot: {sum(loc.changed for loc in snapshot.locations)} level(s) changed"
        await self.journal.record_exchange_rows(self.channel_id, key, dict.fromkeys(todo, detail), RowOutcome.APPLIED)
        self.report.rows_applied += len(todo)
        self.report.stock.append(snapshot)

    async def _archive(self, remote: RemoteFile, key: str) -> None:
        rows = await self.journal.exchange_rows(self.channel_id, key)
        rejected = [RowError(line, r.detail) for line, r in rows.items() if r.outcome is RowOutcome.REJECTED]
        target = await self._free_name(self.settings.archive_folder, remote.name, key)
        if rejected:
            await self.exchange.write(target + ERRORS_SUFFIX, mapping.error_report(rejected))
        await self.exchange.move(remote.path, target)
        await self.journal.finish_exchange_file(self.channel_id, key, FileState.ARCHIVED)
        self.report.files.append(remote.name)

    async def _refuse(self, remote: RemoteFile, key: str, reason: str) -> None:
        target = await self._free_name(self.settings.error_folder, remote.name, key)
        await self.exchange.write(target + REASON_SUFFIX, f"{remote.name}: {reason}\n".encode())
        await self.exchange.move(remote.path, target)
        await self.journal.finish_exchange_file(self.channel_id, key, FileState.ERROR, reason)
        self.report.files.append(remote.name)
        self.report.files_in_error.append(remote.name)

    async def _free_name(self, folder: str, name: str, key: str) -> str:
        """`folder/name`, or with the file's digest before the extension when an earlier file of
        the same name is there already (a partner reusing a name)."""
        target = posixpath.join(folder.strip("/"), name)
        if not await self.exchange.exists(target):
            return target
        stem, ext = posixpath.splitext(name)
        return posixpath.join(folder.strip("/"), f"{stem}.{key[:12]}{ext}")
