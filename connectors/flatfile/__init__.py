"""Flat files over SFTP, the exchange older ERPs and WMSs speak, as a fulfillment channel: for
each shipping request Orderloop writes one order file (CSV or JSON, one row per line "unwind" or
one column group per line "flat", columns named in the settings) into the partner's orders
folder, under a temporary name renamed into place when complete and named by the request id, so
a retried send overwrites the same file; the partner drops shipment files and inventory snapshot
files in its inbound folders, which Orderloop collects on the channel's `poll_reports_every`
(`collect_reports`, `connectors.flatfile.inbox`): each file once, each row once (the ledger's
file journal, migration 13), bad rows reported in `<name>.errors.csv` beside the archived file
while the good rows apply, a file not in the format moved whole to the error folder with
`<name>.reason.txt`. A cancel writes a cancel file (the request id) to the cancels folder; the
partner's later shipment of it, if any, arrives as a shipment like any other.

Configuration (`orderloop.yaml`): `base_url: sftp://host:port`; credentials `known_host_key`
(the server's public host key, an OpenSSH line: a server presenting another is refused) and
`password` and/or `private_key` (`passphrase`); settings as `FlatFileSettings` (`username`
required; folders, `format`, `layout`, the column names, `warehouses`). Set
`poll_reports_every`: nothing else reads the inbound folders.

What the sources say (found with `search`, December 2026): there is no one vendor API here, the
partner's file spec is the brand's; the conventions kept are those of OpenSSH's SFTP and of the
WMS file integrations the issue describes: SFTP version 3 (draft-ietf-secsh-filexfer-02) with
OpenSSH's `posix-rename@openssh.com` extension (PROTOCOL in openssh-portable) so a rename onto
an existing file replaces it atomically, since plain SFTPv3 RENAME refuses an existing target;
write-then-rename ("upload as .part / .tmp, rename when complete") as the partner-side rule for
not reading half a file; CSV per RFC 4180 (CRLF line ends, quoted fields). AsyncSSH's client
and server (asyncssh.readthedocs.io) carry both.
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.base import (
    ConnectorSpec,
    FulfillmentConnector,
    InboundEvent,
    PayloadError,
    RejectedError,
    ReportSink,
    ShippingReceipt,
    ShippingRequirements,
)
from connectors.file_exchange import FileExchange
from connectors.flatfile import mapping
from connectors.flatfile.client import exchange_errors, sftp_access
from connectors.flatfile.inbox import Inbox
from connectors.flatfile.settings import FlatFileSettings, settings_of
from connectors.sftp_exchange import SftpExchange
from orderloop.config import ChannelConfig
from orderloop.contracts.scheduled_jobs import CollectReportsReport
from orderloop.file_journal import FileJournal
from orderloop.model import ConnectorRole, ShippingRequest


class FlatFileConnector(FulfillmentConnector):
    def __init__(self, channel: ChannelConfig, exchange: FileExchange | None = None) -> None:
        super().__init__(channel)
        self.settings: FlatFileSettings = settings_of(channel)
        self._exchange = exchange

    @property
    def exchange(self) -> FileExchange:
        # Built on first use: the credentials are read from the environment then, not at load.
        if self._exchange is None:
            self._exchange = SftpExchange(sftp_access(self.channel, self.settings))
        return self._exchange

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> InboundEvent:
        raise PayloadError(
            f"channel {self.channel.id!r} exchanges files over SFTP and takes no webhooks: "
            "drop shipment and inventory files in its inbound folders"
        )

    async def create_shipping_request(
        self, request: ShippingRequest, requirements: ShippingRequirements | None = None
    ) -> ShippingReceipt:
        """`requirements` beyond the ship method are not carried: the order file has the
        request's `shipping_code` column, and no other field a partner's file spec would share."""
        try:
            data = mapping.order_file(request, self.settings)
        except ValueError as exc:
            raise RejectedError(f"shipping request {request.id}: {exc}") from exc
        path = mapping.order_file_path(request.id, self.settings)
        with exchange_errors(f"write order file {path}"):
            there = await self.exchange.exists(path)
            await self.exchange.write(path, data)
        return ShippingReceipt(vendor_id=path, duplicate=there)

    async def cancel_shipping_request(self, request: ShippingRequest, vendor_id: str | None) -> None:
        """A cancel file named by the request id (written again by a retry, never twice); what
        the partner ships of it anyway comes back as a shipment, which the order handles as a
        shipment after a cancel."""
        path = f"{self.settings.cancels_folder.strip('/')}/{mapping.order_file_name(request.id, self.settings)}"
        with exchange_errors(f"write cancel file {path}"):
            await self.exchange.write(path, mapping.cancel_file(request, self.settings))

    async def collect_reports(self, journal: FileJournal, sink: ReportSink) -> CollectReportsReport:
        with exchange_errors(f"channel {self.channel.id}: collect inbound files"):
            return await Inbox(self.exchange, self.settings, self.channel.id, journal, sink).collect()

    async def aclose(self) -> None:
        if isinstance(self._exchange, SftpExchange):
            await self._exchange.aclose()


SPEC = ConnectorSpec(
    type="flatfile",
    roles=frozenset({ConnectorRole.FULFILLMENT}),
    fulfillment=FlatFileConnector,
    sandbox="connectors.flatfile.sandbox:create_app",
)
