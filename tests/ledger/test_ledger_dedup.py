"""Inbound duplicate protection that outlives Temporal's retention."""

from __future__ import annotations

from collections.abc import Callable

from orderloop.ledger import Ledger

Uid = Callable[[str], str]


async def test_an_order_is_accepted_once_and_remembers_its_workflow(
    ledger: Ledger, uid: Uid
) -> None:
    external = uid("1001")
    assert await ledger.accepted_order("shop", external) is None
    assert await ledger.record_accepted_order("shop", external, f"order/shop/{external}") is True
    assert await ledger.record_accepted_order("shop", external, "order/shop/other") is False
    assert await ledger.accepted_order("shop", external) == f"order/shop/{external}"


async def test_the_same_external_id_on_another_channel_is_another_order(
    ledger: Ledger, uid: Uid
) -> None:
    external = uid("1001")
    assert await ledger.record_accepted_order("shop", external, "a")
    assert await ledger.record_accepted_order("marketplace", external, "b")


async def test_a_webhook_delivery_id_is_new_only_once(ledger: Ledger, uid: Uid) -> None:
    delivery = uid("delivery")
    assert await ledger.record_delivery("shop", delivery) is True
    assert await ledger.record_delivery("shop", delivery) is False
    assert await ledger.record_delivery("wms", delivery) is True
