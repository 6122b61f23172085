"""A partner's rejection of an 856 or 810 raised on its order: the channel exception
`edi_document_rejected` (a retailer that did not take the ship notice or the invoice charges
back or does not pay: someone has to correct and resend it), naming the document, its control
number and the partner's codes. Found in the ledger (`EdiRecords.edi_rejections_to_raise`) by
the order poll after each inbox read, until it is marked raised, so a poll that dies in between
raises it again (the order recognises the same kind and reference)."""

from __future__ import annotations

from connectors.base import PolledCase
from orderloop.contracts import ChannelException
from orderloop.contracts.order import parse_order_workflow_id
from orderloop.edi_records import AcknowledgementRecord
from orderloop.model import ShippingRequest

KIND = "edi_document_rejected"
DESCRIPTION = (
    "the trading partner's 997 or TA1 rejected an 856 ship notice or 810 invoice Orderloop sent (the "
    "message names the document, its control number and the partner's AK3/AK4/AK5/AK9 or TA1 codes): "
    "correct what the partner named and resend it; retry goes on with the order"
)
NAMES = {"856": "ship notice", "810": "invoice"}


def order_of(document_key: str) -> str:
    """The order workflow id of an 856's key (`856/<shipping request id>`) or an 810's (`810/<order id>`)."""
    kind, _, rest = document_key.partition("/")
    return ShippingRequest.order_id_of(rest) if kind == "856" else rest


def rejection_case(rejection: AcknowledgementRecord) -> PolledCase:
    assert rejection.document_key is not None and rejection.document_kind is not None and rejection.id is not None
    kind = rejection.document_kind
    control = f"{int(rejection.group_control):09d}" if rejection.group_control.isdigit() else rejection.group_control
    _, external_id = parse_order_workflow_id(order_of(rejection.document_key))
    how = "TA1 (the interchange envelope)" if rejection.kind == "TA1" else "997"
    message = (
        f"the partner rejected the {kind} {NAMES.get(kind, 'document')} sent in interchange {control} "
        f"({rejection.document_key}) with its {how}: {' '.join(rejection.codes)}; {rejection.detail}"
    )
    case = ChannelException(
        kind=KIND,
        message=message,
        reference=f"{kind}/{control}",
        detail={
            "document": rejection.document_key,
            "documentKind": kind,
            "controlNumber": control,
            "acknowledgement": rejection.kind,
            "acknowledgementId": rejection.id,
            "codes": rejection.codes,
            "sets": rejection.sets,
        },
    )
    return PolledCase(external_id, case)
