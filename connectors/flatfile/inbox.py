"""Reading the partner's inbound files: shipment files and inventory snapshot files, each folder
in name order (the exchange's `list` order: oldest first, then by name), each file once.

Per file: its bytes are read and the file is known to the ledger's journal by its name and a
digest of its bytes (`file_key`); a file not in the configured format goes whole to the error
folder with `<name>.reason.txt` beside it. Otherwise each row is checked on its own: a bad row is
recorded `rejected` with its reason; the good rows take effect, a parcel (one request, one
tracking number, any number of rows) as one shipment signalled to its order, an inventory file's
rows as one snapshot. Each row is recorded `delivering` before its effect and `applied` after,
so a run cut short resumes at the first row not applied (and a row caught delivering is sent
again, recognised by the receiver). Last the rejected rows go to `<name>.errors.csv` (line,
reason) in the archive folder and the file is moved beside it.
"""

from __future__ import annotations

import hashlib
import posixpath
from enum import StrEnum

from connectors.base import Delivery, ReportSink
from connectors.file_exchange import FileExchange, RemoteFile
from connectors.flatfile import mapping
from connectors.flatfile.mapping import FileFormatError, RowError
from connectors.flatfile.settings import FlatFileSettings
from orderloop.contracts.scheduled_jobs import CollectReportsReport
from orderloop.file_journal import FileJournal, FileState, RowOutcome, RowRecord

ERRORS_SUFFIX = ".errors.csv"
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
        for error in errors:
            if error.line not in done:
                await self.journal.record_exchange_rows(
                    self.channel_id, key, [error.line], RowOutcome.REJECTED, error.reason
                )
                self.report.rows_rejected += 1

    @staticmethod
    def _open(lines: list[int], done: dict[int, RowRecord]) -> list[int]:
        return [line for line in lines if line not in done or done[line].outcome is RowOutcome.DELIVERING]

    async def _shipments(self, rows: list[mapping.FileRow], key: str, done: dict[int, RowRecord]) -> None:
        good, bad = mapping.shipment_rows(rows, self.settings)
        await self._reject(key, bad, done)
        for parcel in mapping.parcels(good, self.channel_id):
            todo = self._open(parcel.lines, done)
            self.report.rows_already_applied += len(parcel.lines) - len(todo)
            if not todo:
                continue
            sent_before = any(line in done for line in todo)
            shipment = parcel.shipment
            await self.journal.record_exchange_rows(self.channel_id, key, todo, RowOutcome.DELIVERING, shipment.id)
            delivery = await self.sink.shipment(shipment)
            if delivery is Delivery.DELIVERED or (delivery is Delivery.ORDER_CLOSED and sent_before):
                # A parcel caught delivering whose order has closed since was delivered before.
                await self.journal.record_exchange_rows(self.channel_id, key, todo, RowOutcome.APPLIED, shipment.id)
                self.report.rows_applied += len(todo)
                self.report.shipments_delivered.append(shipment.id)
            else:
                reason = (
                    f"unknown order: no order has shipping request {shipment.shipping_request_id!r}"
                    if delivery is Delivery.UNKNOWN_ORDER
                    else f"order of {shipment.shipping_request_id!r} is closed: it takes no more shipments"
                )
                await self.journal.record_exchange_rows(self.channel_id, key, todo, RowOutcome.REJECTED, reason)
                self.report.rows_rejected += len(todo)
            self.sink.progress(shipment.id)

    async def _inventory(self, rows: list[mapping.FileRow], key: str, done: dict[int, RowRecord]) -> None:
        good, bad = mapping.inventory_rows(rows, self.settings)
        await self._reject(key, bad, done)
        todo = self._open([line for line, _ in good], done)
        self.report.rows_already_applied += len(good) - len(todo)
        if not todo:
            return
        wanted = set(todo)
        await self.journal.record_exchange_rows(self.channel_id, key, todo, RowOutcome.DELIVERING, "stock snapshot")
        # Levels are absolute: a snapshot applied again (after a crash) changes nothing more.
        snapshot = await self.sink.stock([row for line, row in good if line in wanted])
        detail = f"stock snapshot: {sum(loc.changed for loc in snapshot.locations)} level(s) changed"
        await self.journal.record_exchange_rows(self.channel_id, key, todo, RowOutcome.APPLIED, detail)
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
