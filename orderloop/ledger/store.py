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
- orderloop.ledger.rollouts: selling channels' go-live rollouts, their audit, units reserved per SKU
- orderloop.ledger.tokens: the shared store of rotating OAuth tokens (orderloop.tokens)
- orderloop.ledger.edi: EDI partners' interchanges, control numbers, documents sent (orderloop.edi_records)
- orderloop.ledger.exchange_files: inbound files of file-speaking channels, per row what applied

Every change is one transaction whose correctness comes from conditional UPDATEs with checked
row counts and the table's CHECK constraints, never from row locks (SQLite has none).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.engine import Connection

from orderloop.ledger.audit import Audit
from orderloop.ledger.dedup import InboundDedup
from orderloop.ledger.edi import EdiPartnerRecords
from orderloop.ledger.exchange_files import ExchangeFiles
from orderloop.ledger.holds import ChannelHolds
from orderloop.ledger.notices import Notices
from orderloop.ledger.operators import Operators
from orderloop.ledger.outbox import Outbox
from orderloop.ledger.products import Products
from orderloop.ledger.reservations import Reservations
from orderloop.ledger.returns import Returns
from orderloop.ledger.rollouts import Rollouts
from orderloop.ledger.snapshots import Snapshots
from orderloop.ledger.stock import Stock
from orderloop.ledger.tokens import TokenRecords
from orderloop.ledger.types import AllocationView


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
    Rollouts,
    Audit,
    TokenRecords,
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
