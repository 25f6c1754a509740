"""Bring local stock counts in line with a supplier's counts, concurrently."""

import asyncio
from collections.abc import Awaitable, Callable, Iterable

from inventory.errors import UnknownItemError
from inventory.storage import StockStore

DEFAULT_CONCURRENCY = 4

SupplierFeed = Callable[[str], Awaitable[int]]
"""An async callable that returns the supplier's count for a SKU, or raises
`UnknownItemError` when the supplier does not carry it."""


async def fetch_counts(
    feed: SupplierFeed, skus: Iterable[str], *, concurrency: int = DEFAULT_CONCURRENCY
) -> dict[str, int]:
    semaphore = asyncio.Semaphore(concurrency)

    async def fetch_one(sku: str) -> tuple[str, int | None]:
        async with semaphore:
            try:
                return sku, await feed(sku)
            except UnknownItemError:
                return sku, None

    results = await asyncio.gather(*(fetch_one(sku) for sku in skus))
    return {sku: count for sku, count in results if count is not None}


def _apply_count(store: StockStore, sku: str, count: int) -> bool:
    current = store.get(sku).quantity
    if current == count:
        return False
    store.adjust(sku, count - current)
    return True


async def sync_from_supplier(
    store: StockStore, feed: SupplierFeed, *, concurrency: int = DEFAULT_CONCURRENCY
) -> list[str]:
    """Set each item's quantity to the count the supplier reports.

    Items the supplier does not carry are left alone.

    Args:
        store: The store to update.
        feed: Returns the supplier's count for a SKU.
        concurrency: How many feed requests may run at once.

    Returns:
        The SKUs whose quantity changed, in SKU order.

    Raises:
        InventoryError: If a reported count is negative or above the maximum.
    """
    skus = [item.sku for item in store.items()]
    counts = await fetch_counts(feed, skus, concurrency=concurrency)
    return [sku for sku in sorted(counts) if _apply_count(store, sku, counts[sku])]
