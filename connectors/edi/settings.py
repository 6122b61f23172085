"""An EDI channel's settings: one trading partner per channel (their ISA/GS ids, ours, the X12
version, which documents they exchange, the delimiters Orderloop writes with, the folders on
the file exchange), validated when the channel is built."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors.base import channel_settings
from connectors.edi.envelopes import Party
from connectors.edi.x12 import Delimiters
from orderloop.config import ChannelConfig
from orderloop.config_values import Duration

Document = Literal["850", "860", "855", "856", "810", "846", "997"]
# Exchanged unless the channel lists its own: the 846 inventory advice only where the partner's
# guide asks for it (not every retailer takes one, and those that do want it at their cadence).
DEFAULT_DOCUMENTS: tuple[Document, ...] = ("850", "860", "855", "856", "810", "997")


class Folders(BaseModel):
    """Folders on the exchange, relative to its root: the partner drops into `inbox` and reads
    `outbox`; processed files move to `archive`, unreadable or rejected ones to `error`."""

    model_config = ConfigDict(extra="forbid")

    inbox: str = "in"
    outbox: str = "out"
    archive: str = "archive"
    error: str = "error"


class Exchange(BaseModel):
    """Where the folders are: `local` (a mounted share or a test folder, `root`) or `sftp` (the
    partner's SFTP server or a VAN's: `url` sftp://user@host:port/root, and the server's public
    host key as an OpenSSH line; the password and/or private key are the channel's credentials
    `sftp_password` / `sftp_private_key`)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["local", "sftp"] = "local"
    root: str = "."
    url: str | None = None
    known_host_key: str | None = None

    @model_validator(mode="after")
    def _sftp_complete(self) -> Exchange:
        if self.kind == "sftp":
            if not (self.url and self.known_host_key):
                raise ValueError("an sftp exchange needs url and known_host_key")
            parts = urlsplit(self.url)
            if parts.scheme != "sftp" or not parts.hostname or not parts.username:
                raise ValueError(f"url {self.url!r}: expected sftp://user@host[:port]/root")
        return self

    @property
    def host(self) -> str:
        return urlsplit(self.url or "").hostname or ""

    @property
    def port(self) -> int:
        return urlsplit(self.url or "").port or 22

    @property
    def username(self) -> str:
        return urlsplit(self.url or "").username or ""

    @property
    def remote_root(self) -> str:
        return urlsplit(self.url or "").path or "/"


class EdiSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    partner_name: str
    # The partner's interchange sender/receiver id and qualifier (ISA05/06, ISA07/08), its GS02/03.
    partner_isa_qualifier: str = Field(min_length=2, max_length=2)
    partner_isa_id: str = Field(min_length=1, max_length=15)
    partner_gs_id: str = Field(min_length=2, max_length=15)
    our_isa_qualifier: str = Field(min_length=2, max_length=2)
    our_isa_id: str = Field(min_length=1, max_length=15)
    our_gs_id: str = Field(min_length=2, max_length=15)
    version: Literal["004010", "005010"] = "004010"
    # The documents exchanged with this partner; an inbound set not listed is rejected (AK5 1),
    # an outbound one not listed is not sent.
    documents: set[Document] = Field(default_factory=lambda: set(DEFAULT_DOCUMENTS))
    # The 846's BIA02 (X12 element 755), as the partner's guide names it: MM material
    # management, DD distributor inventory report, MB manufacturer or distributor report ...
    inventory_report_type: str = Field(default="MM", pattern=r"^[A-Z0-9]{2}$")
    element_separator: str = "*"
    component_separator: str = ">"
    segment_terminator: str = "~"
    repetition_separator: str = "^"
    # Written after each segment terminator ("" or "\n"; partners differ).
    line_suffix: Literal["", "\n", "\r\n"] = "\n"
    usage: Literal["P", "T"] = "P"
    # Whether the partner's orders must ship complete (no partial shipments): its routing guide.
    ship_complete: bool = True
    # The brand's GS1 company prefix: the 856's SSCC-18 carton codes are made under it.
    gs1_company_prefix: str = Field(pattern=r"^\d{6,12}$")
    folders: Folders = Folders()
    exchange: Exchange = Exchange()
    # How long the partner has to acknowledge what Orderloop sends (997, or TA1): a document sent
    # longer ago and still unacknowledged is listed as overdue (`orderloop edi documents --overdue`).
    acknowledgement_within: Duration = Field(default=timedelta(hours=24), gt=timedelta(0))

    @model_validator(mode="after")
    def _delimiters_valid(self) -> EdiSettings:
        self.delimiters.check()
        return self

    @property
    def delimiters(self) -> Delimiters:
        return Delimiters(
            element=self.element_separator,
            component=self.component_separator,
            segment=self.segment_terminator,
            repetition=self.repetition_separator if self.version >= "005010" else None,
            suffix=self.line_suffix,
        )

    @property
    def us(self) -> Party:
        return Party(self.our_isa_qualifier, self.our_isa_id, self.our_gs_id)

    @property
    def partner(self) -> Party:
        return Party(self.partner_isa_qualifier, self.partner_isa_id, self.partner_gs_id)


def edi_settings(channel: ChannelConfig) -> EdiSettings:
    return channel_settings(channel, EdiSettings)
