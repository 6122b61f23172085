"""Products and bundles: definitions, their rules, and the SKUs the ledger knows, on both
databases."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from orderloop.ledger import Cause, Ledger, Product, ProductDefinitionError

Uid = Callable[[str], str]


async def test_unknown_skus_are_neither_products_nor_stocked(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    product, stocked, unknown = uid("product"), uid("stocked"), uid("unknown")
    await ledger.define_products([Product(sku=product, name="Mug")])
    await ledger.receive(stocked, "east", 1, cause)
    assert await ledger.unknown_skus([product, stocked, unknown]) == {unknown}


async def test_bundles_of_bundles_are_refused(ledger: Ledger, uid: Uid) -> None:
    inner, outer = uid("inner"), uid("outer")
    await ledger.define_products([Product(sku=inner, components={uid("part"): 1})])
    with pytest.raises(ProductDefinitionError, match="bundles cannot contain bundles"):
        await ledger.define_products([Product(sku=outer, components={inner: 1})])


async def test_a_stocked_sku_cannot_become_a_bundle(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    sku = uid("sku")
    await ledger.receive(sku, "east", 1, cause)
    with pytest.raises(ProductDefinitionError, match="hold stock"):
        await ledger.define_products([Product(sku=sku, components={uid("part"): 1})])


async def test_redefining_a_bundle_replaces_its_components(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    a, b, kit = uid("a"), uid("b"), uid("kit")
    await ledger.receive(a, "east", 4, cause)
    await ledger.receive(b, "east", 1, cause)
    await ledger.define_products([Product(sku=kit, components={a: 1, b: 1})])
    assert await ledger.available([kit]) == {(kit, "east"): 1}
    await ledger.define_products([Product(sku=kit, components={a: 2})])
    assert await ledger.available([kit]) == {(kit, "east"): 2}
