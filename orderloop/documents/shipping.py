"""The documents that go with a wholesale shipping request: its packing slip and its GS1-128
carton labels (PDF), with the cartons' SSCCs. Built by the send activity (`ChannelActivities`)
when the request carries wholesale terms and the brand has a GS1 company prefix
(`documents.gs1_company_prefix` in orderloop.yaml), and handed to the fulfillment connector on
the request (`ShippingRequest.documents`); the generic WMS sends them with the request."""

from __future__ import annotations

from orderloop.documents.cartons import plan_cartons
from orderloop.documents.pdf import carton_labels, packing_slip
from orderloop.model import ShippingDocument, ShippingRequest


def shipping_documents(request: ShippingRequest, company_prefix: str | None) -> list[ShippingDocument]:
    if request.wholesale is None or company_prefix is None:
        return []
    cartons = plan_cartons(request, company_prefix)
    ssccs = [carton.sscc for carton in cartons]
    stem = request.id.replace("/", "_")
    return [
        ShippingDocument(
            kind="packing_slip",
            filename=f"{stem}-packing-slip.pdf",
            content=packing_slip(request, cartons),
            ssccs=ssccs,
        ),
        ShippingDocument(
            kind="carton_labels",
            filename=f"{stem}-carton-labels.pdf",
            content=carton_labels(request, cartons),
            ssccs=ssccs,
        ),
    ]
