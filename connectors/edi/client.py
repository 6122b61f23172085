"""The transport to one trading partner over the file exchange (SFTP in production): read the
inbox, acknowledge and archive each file once, and write outbound documents exactly once.

Inbox, for each file (oldest first): read it; record its interchange (the ledger's unique
sender + control number makes a re-sent interchange a duplicate: nothing new is recorded, its
acknowledgement is not sent again); send the 997 (or TA1); move the file to `archive` (accepted,
partial, duplicate) or `error` (rejected, unreadable) under a time-stamped name, so a partner
re-sending the same file name never collides. A poll that dies midway repeats the file: the
record makes it a duplicate, and the acknowledgement's key makes its write the same file again.

Outbound: each document has a key (what it answers); the first send reserves an interchange
control number from the ledger (per partner, monotonic; GS06 repeats it, each set in the group
is 0001, 0002 ...), records the rendered interchange under the key and writes it; a retry of a
recorded key writes the same bytes again (same control number) if it was never marked sent, and
nothing once it was.

Acknowledgements of what Orderloop sent (the partner's 997s and TA1s in the inbox) are matched
to the outbound document sent under the control number they name (a 997's AK1-02 is our GS06,
a TA1's TA1-01 our ISA13: both the one control number `send` reserved) and of the functional id
its kind travels under; one naming nothing Orderloop sent is kept as unmatched and logged, and
the file is archived like any other (it never blocks the inbox).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import structlog

from connectors.base import PermanentError, RetryableError
from connectors.edi.envelopes import FUNCTIONAL_IDS, OutboundSet, write_interchange
from connectors.edi.inbound import Received, receive
from connectors.edi.settings import EdiSettings
from connectors.edi.x12 import Segment
from connectors.file_exchange import FileExchange, FileExchangeError
from orderloop.edi_records import (
    AcknowledgementRecord,
    AcknowledgementStatus,
    EdiRecords,
    InterchangeStatus,
    OutboundDocument,
)

log = structlog.get_logger("orderloop.edi")

KIND_NAMES = {"997": "997", "855": "855", "856": "856", "810": "810", "846": "846", "TA1": "TA1"}


@dataclass(frozen=True)
class InboxResult:
    file_name: str
    status: InterchangeStatus | None  # None: a duplicate of an interchange recorded before
    moved_to: str
    received: Received


@contextmanager
def transport_errors() -> Iterator[None]:
    """The exchange's failures as the connector error tree (Temporal retries the retryable ones:
    a refused or lost connection; a refused login or a missing folder is permanent)."""
    try:
        yield
    except FileExchangeError as exc:
        if exc.retryable:
            raise RetryableError(f"file exchange: {exc}") from exc
        raise PermanentError(f"file exchange: {exc}") from exc


class PartnerClient:
    def __init__(self, channel_id: str, settings: EdiSettings, exchange: FileExchange, records: EdiRecords) -> None:
        self.channel_id = channel_id
        self.settings = settings
        self.exchange = exchange
        self.records = records

    async def read_inbox(self, now: datetime) -> list[InboxResult]:
        with transport_errors():
            return await self._read_inbox(now)

    async def _read_inbox(self, now: datetime) -> list[InboxResult]:
        results = []
        for remote in await self.exchange.list(self.settings.folders.inbox):
            data = await self.exchange.read(remote.path)
            received = receive(data, channel_id=self.channel_id, file_name=remote.name, settings=self.settings, at=now)
            record = received.record
            answers = [await self._match(r) for r in received.responses]
            fresh = await self.records.record_edi_interchange(record, received.documents, answers)
            if fresh:
                self._log_answers(answers, remote.name)
            if not fresh:
                log.warning(
                    "edi.interchange_duplicate",
                    channel=self.channel_id,
                    sender=record.sender,
                    control_number=record.control_number,
                    file=remote.name,
                )
            elif record.status is not InterchangeStatus.ACCEPTED:
                log.error(
                    "edi.interchange_rejected",
                    channel=self.channel_id,
                    status=str(record.status),
                    file=remote.name,
                    detail=record.detail,
                )
            await self._acknowledge(received, now)
            rejected = record.status in {InterchangeStatus.REJECTED, InterchangeStatus.UNREADABLE}
            folder = self.settings.folders.error if rejected and fresh else self.settings.folders.archive
            target = posixpath.join(folder, f"{now:%Y%m%dT%H%M%S%f}-{remote.name}")
            await self.exchange.move(remote.path, target)
            results.append(InboxResult(remote.name, record.status if fresh else None, target, received))
        return results

    async def _match(self, answer: AcknowledgementRecord) -> AcknowledgementRecord:
        """The acknowledgement with the outbound document it names, when Orderloop sent one."""
        control = answer.group_control.lstrip("0") or "0"
        if not control.isdigit():
            return answer
        document = await self.records.edi_outbound_by_control(self.channel_id, int(control))
        if document is None or (document.kind in {"997", "TA1"} and answer.kind == "997"):
            return answer
        if answer.kind == "997" and FUNCTIONAL_IDS.get(document.kind) != answer.functional_id:
            return answer
        return answer.model_copy(update={"document_key": document.key, "document_kind": document.kind})

    def _log_answers(self, answers: list[AcknowledgementRecord], file_name: str) -> None:
        for answer in answers:
            fields = {
                "channel": self.channel_id,
                "kind": answer.kind,
                "group": answer.group_control,
                "status": str(answer.status),
                "file": file_name,
                "detail": answer.detail,
            }
            if answer.document_key is None:
                log.warning("edi.acknowledgement_unmatched", functional_id=answer.functional_id, **fields)
            elif answer.status is AcknowledgementStatus.REJECTED:
                log.error("edi.document_rejected", document=answer.document_key, **fields)
            else:
                log.info("edi.document_acknowledged", document=answer.document_key, **fields)

    async def _acknowledge(self, received: Received, now: datetime) -> None:
        if received.interchange is None:
            return  # not X12: there is nobody to address an acknowledgement to
        key = f"ack/{received.record.sender}/{received.record.control_number}"
        if received.ta1 is not None:
            await self.send(key, "TA1", [], now, ta1=received.ta1)
        elif received.acknowledgements and "997" in self.settings.documents:
            await self.send(key, "997", received.acknowledgements, now)

    async def send(
        self, key: str, kind: str, sets: list[OutboundSet], now: datetime, *, ta1: Segment | None = None
    ) -> OutboundDocument | None:
        """Send the document recorded under `key` (rendering and recording it on first use); None
        when it was sent before."""
        document = await self.records.edi_outbound(self.channel_id, key)
        if document is not None and document.sent_at is not None:
            return None
        if document is None:
            control = await self.records.next_edi_control_number(self.channel_id)
            content = write_interchange(
                sender=self.settings.us,
                receiver=self.settings.partner,
                version=self.settings.version,
                delimiters=self.settings.delimiters,
                interchange_control=control,
                group_control=control,
                sets=sets,
                at=now,
                usage=self.settings.usage,
                ta1=ta1,
            )
            document = await self.records.record_edi_outbound(
                OutboundDocument(
                    channel_id=self.channel_id,
                    key=key,
                    kind=kind,
                    control_number=control,
                    path=posixpath.join(self.settings.folders.outbox, f"{KIND_NAMES[kind]}_{control:09d}.x12"),
                    content=content,
                    created_at=now,
                )
            )
        with transport_errors():
            await self.exchange.write(document.path, document.content.encode())
        await self.records.mark_edi_outbound_sent(self.channel_id, key, now)
        log.info("edi.document_sent", channel=self.channel_id, kind=kind, key=key, control=document.control_number)
        return document
