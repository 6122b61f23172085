"""Products and bundles: defining products (a bundle is a product made of component SKUs),
the SKUs the ledger knows, and the SKUs it does not.

Invariants: a bundle holds no stock of its own (its stock is its components'), contains no
bundle and not itself, and has positive component quantities; a SKU that holds stock cannot
become a bundle. Redefining a bundle writes its outbox row in the same transaction, since what
a channel may sell of it changes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.engine import Connection

from orderloop.ledger.base import LedgerBase, chunks, utc_now
from orderloop.ledger.errors import ProductDefinitionError
from orderloop.ledger.schema import bundle_components, outbox, stock
from orderloop.ledger.schema import products as products_table
from orderloop.ledger.statements import UNKNOWN_SKUS
from orderloop.ledger.types import Product


class Products(LedgerBase):
    """Product and bundle definitions."""

    async def define_products(self, products: list[Product]) -> None:
        """Create or replace products; a product's components replace its previous ones."""
        if not products:
            return
        skus = [p.sku for p in products]
        if len(set(skus)) != len(skus):
            raise ProductDefinitionError("a SKU appears twice in one product definition")
        for product in products:
            bad = {c: q for c, q in product.components.items() if q <= 0}
            if bad:
                raise ProductDefinitionError(f"bundle {product.sku!r}: component quantities {bad} must be positive")
            if product.sku in product.components:
                raise ProductDefinitionError(f"bundle {product.sku!r} cannot contain itself")

        def tx(conn: Connection) -> None:
            now = utc_now()
            rows = conn.execute(
                select(
                    bundle_components.c.bundle_sku,
                    bundle_components.c.component_sku,
                    bundle_components.c.quantity,
                )
            )
            before: dict[str, dict[str, int]] = defaultdict(dict)
            for bundle, component, quantity in rows:
                before[bundle][component] = quantity
            after = {b: c for b, c in before.items() if b not in set(skus)}
            after.update({p.sku: dict(p.components) for p in products if p.components})
            components = {c for parts in after.values() for c in parts}
            nested = sorted(components & after.keys())
            if nested:
                raise ProductDefinitionError(f"bundles cannot contain bundles: {', '.join(nested)} is both")
            new_bundles = sorted(b for b in after if b not in before)
            if new_bundles:
                held = conn.execute(
                    select(stock.c.sku)
                    .where(stock.c.sku.in_(new_bundles), or_(stock.c.on_hand > 0, stock.c.reserved > 0))
                    .distinct()
                )
                stocked = sorted(held.scalars())
                if stocked:
                    raise ProductDefinitionError(
                        f"{', '.join(stocked)} hold stock of their own and cannot become bundles"
                    )
            upsert = self._insert(products_table)
            conn.execute(
                upsert.on_conflict_do_update(
                    index_elements=[products_table.c.sku], set_={"name": upsert.excluded.name}
                ),
                [{"sku": p.sku, "name": p.name} for p in products],
            )
            for chunk in chunks(skus):
                conn.execute(delete(bundle_components).where(bundle_components.c.bundle_sku.in_(chunk)))
            parts = [
                {"bundle_sku": p.sku, "component_sku": c, "quantity": q}
                for p in products
                for c, q in sorted(p.components.items())
            ]
            if parts:
                conn.execute(insert(bundle_components), parts)
            redefined = [b for b in {*before, *after} if before.get(b) != after.get(b)]
            if redefined:
                self._lock_outbox(conn)
                conn.execute(insert(outbox), [{"sku": b, "created_at": now} for b in sorted(redefined)])

        return await self._write(tx)

    async def unknown_skus(self, skus: Iterable[str]) -> set[str]:
        """The SKUs that are neither a product nor stocked anywhere."""

        def tx(conn: Connection) -> set[str]:
            return self._unknown(conn, skus)

        return await self._read(tx)

    def _unknown(self, conn: Connection, skus: Iterable[str]) -> set[str]:
        wanted = sorted(set(skus))
        known: set[str] = set()
        for chunk in chunks(wanted):
            known.update(conn.execute(UNKNOWN_SKUS, {"skus": list(chunk)}).scalars())
        return set(wanted) - known

    async def all_skus(self) -> list[str]:
        """Every SKU the ledger knows: products and SKUs with stock anywhere."""

        def tx(conn: Connection) -> list[str]:
            found = set(conn.execute(select(products_table.c.sku)).scalars())
            found.update(conn.execute(select(stock.c.sku).distinct()).scalars())
            return sorted(found)

        return await self._read(tx)
