"""The inventory ledger: stock per SKU and location, reservations per order line, the event
ledger, the availability outbox and inbound dedup records, on SQLite or PostgreSQL.

`Ledger` is assembled from one part per job, each in its own module over the shared
`LedgerBase` (orderloop.ledger.base: opening, transactions, locks, shared reads):

- orderloop.ledger.products: products and bundles
- orderloop.ledger.stock: stock movements and stock reads
- orderloop.ledger.snapshots: a fulfillment channel's bulk stock snapshot
- orderloop.ledger.reservations: reserve, release and commit per order line
- orderloop.ledger.returns: return records, the beyond-shipped check, receipts and non-sellable units
- orderloop.ledger.dedup: accepted orders, processed deliveries, poll cursors
- orderloop.ledger.holds: orders a selling channel holds back (not started), until started or cancelled
- orderloop.ledger.outbox: the availability outbox and published quantities
- orderloop.ledger.audit: the event ledger's reads and the invariant audit
- orderloop.ledger.notices: exception notices per sink (outbox, retries, dead letters)
- orderloop.ledger.operators: operator credentials (token digests, roles, revocations)
- orderloop.ledger.operations: the operations record (order and inventory events per channel and time)
- orderloop.ledger.rollouts: selling channels' go-live rollouts, their audit, units reserved per SKU
- orderloop.ledger.tokens: the shared store of rotating OAuth tokens (orderloop.tokens)
- orderloop.ledger.exchanges: the exchange log (vendor calls, polls, webhooks; orderloop.exchange_log)
- orderloop.ledger.edi: EDI partners' interchanges, control numbers, documents sent (orderloop.edi_records)
- orderloop.ledger.exchange_files: inbound files of file-speaking channels, per row what applied

Every change is one transaction whose correctness comes from conditional UPDATEs with checked
row counts and the table's CHECK constraints, never from row locks (SQLite has none).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.engine import Connection

from orderloop.ledger.audit import Audit
from orderloop.ledger.dedup import InboundDedup
from orderloop.ledger.edi import EdiPartnerRecords
from orderloop.ledger.exchange_files import ExchangeFiles
from orderloop.ledger.exchanges import Exchanges
from orderloop.ledger.holds import ChannelHolds
from orderloop.ledger.notices import Notices
from orderloop.ledger.operations import OperationEvent, OperationKind, Operations, operation_rows
from orderloop.ledger.operators import Operators
from orderloop.ledger.outbox import Outbox
from orderloop.ledger.products import Products
from orderloop.ledger.reservations import Reservations
from orderloop.ledger.returns import Returns
from orderloop.ledger.rollouts import Rollouts
from orderloop.ledger.snapshots import Snapshots
from orderloop.ledger.statements import ACCEPTED_AT
from orderloop.ledger.stock import Stock
from orderloop.ledger.tokens import TokenRecords
from orderloop.ledger.types import AllocationView, ReservationState


class Ledger(
    Products,
    Stock,
    Snapshots,
    Reservations,
    Returns,
    InboundDedup,
    ChannelHolds,
    Outbox,
    Notices,
    Operators,
    Operations,
    Rollouts,
    Audit,
    TokenRecords,
    Exchanges,
    EdiPartnerRecords,
    ExchangeFiles,
):
    """The ledger over one database; open it with `await Ledger.open(url)`."""

    async def allocation_view(
        self, order_id: str, skus: Iterable[str], location_ids: Iterable[str] | None
    ) -> AllocationView:
        """What allocating an order reads, from one snapshot: the order's reservations, the SKUs
        the ledger does not know, and the free units of `skus` at `location_ids`."""
        wanted = set(skus)

        def tx(conn: Connection) -> AllocationView:
            return AllocationView(
                reservations=self._reservation_rows(conn, order_id, None, lock=False),
                unknown=self._unknown(conn, wanted),
                available=self._available(conn, wanted, location_ids),
            )

        return await self._read(tx)

    async def record_shipped_in_full(
        self, order_id: str, channel_id: str, external_id: str, at: datetime
    ) -> tuple[bool, datetime | None]:
        """In one transaction: when the order's shipment commits left no line open (and shipped
        some units), write its `shipped` row of the operations record, with the time to ship
        from its acceptance. (True the first time, when it was accepted); a retried commit
        writes nothing twice, and one whose first attempt died before this still writes it."""

        def tx(conn: Connection) -> tuple[bool, datetime | None]:
            lines = self._reservation_rows(conn, order_id, None, lock=False)
            if not lines or any(line.state is ReservationState.OPEN for line in lines):
                return False, None
            units = sum(line.committed for line in lines)
            if not units:
                return False, None
            accepted_at = conn.execute(ACCEPTED_AT, {"channel_id": channel_id, "external_id": external_id}).scalar()
            seconds = None if accepted_at is None else max(0.0, (at - accepted_at).total_seconds())
            event = OperationEvent(
                key=f"{order_id}/shipped",
                channel_id=channel_id,
                order_id=external_id,
                workflow_id=order_id,
                kind=OperationKind.SHIPPED,
                at=at,
                detail={"seconds": seconds, "units": units},
            )
            return self._record_operation_rows(conn, operation_rows([event])) == 1, accepted_at

        return await self._write(tx)
