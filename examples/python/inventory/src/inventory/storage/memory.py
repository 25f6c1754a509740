"""A store that keeps items in a dictionary, for tests and short-lived tools."""

from collections.abc import Iterable, Iterator
from dataclasses import replace

from ..errors import UnknownItemError
from ..models import Item
from .base import StockStore


class MemoryStore(StockStore):
    """Items held in process memory; nothing survives the process.

    Args:
        items: Items to start with.
    """

    def __init__(self, items: Iterable[Item] = ()) -> None:
        self._items: dict[str, Item] = {item.sku: replace(item) for item in items}

    def get(self, sku: str) -> Item:
        """Return a copy of the item with this SKU.

        Raises:
            UnknownItemError: If the store has no such item.
        """
        try:
            return replace(self._items[sku])
        except KeyError:
            raise UnknownItemError(sku) from None

    def save(self, item: Item) -> None:
        """Insert or replace an item."""
        self._items[item.sku] = replace(item)

    def items(self) -> Iterator[Item]:
        """Iterate over copies of all items, in SKU order."""
        for sku in sorted(self._items):
            yield replace(self._items[sku])
