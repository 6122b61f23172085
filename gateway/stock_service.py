"""The inventory webhook's service: the stock levels a fulfillment channel reports, placed at
their locations and applied to the ledger."""

from __future__ import annotations

from collections.abc import Iterable

from orderloop.config import OrderloopConfig
from orderloop.contracts.scheduled_jobs import SnapshotReport
from orderloop.ledger import Ledger
from orderloop.model import StockRow
from orderloop.stock_reports import apply_stock_rows


class StockService:
    def __init__(self, config: OrderloopConfig, ledger: Ledger) -> None:
        self.config = config
        self.ledger = ledger

    async def apply(self, channel_id: str, rows: Iterable[StockRow]) -> SnapshotReport:
        return await apply_stock_rows(self.config, self.ledger, channel_id, rows)
