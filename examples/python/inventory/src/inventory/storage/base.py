"""The interface every stock store implements."""

from abc import ABC, abstractmethod
from collections.abc import Iterator

from ..errors import InventoryError, OutOfStockError, UnknownItemError
from ..models import MAX_QUANTITY, Item


class StockStore(ABC):
    """Persistent mapping from SKU to `Item`.

    Subclasses implement `get`, `save` and `items`; quantity changes go through
    `adjust` so that the stock rules live in one place.
    """

    @abstractmethod
    def get(self, sku: str) -> Item:
        """Return a copy of the item with this SKU.

        Args:
            sku: The item's SKU.

        Raises:
            UnknownItemError: If the store has no such item.
        """

    @abstractmethod
    def save(self, item: Item) -> None:
        """Insert or replace an item.

        Args:
            item: The item to store; the store keeps its own copy.
        """

    @abstractmethod
    def items(self) -> Iterator[Item]:
        """Iterate over copies of all items, in SKU order."""

    def adjust(self, sku: str, delta: int, /) -> Item:
        """Add ``delta`` units (negative to remove) to an item's quantity.

        Args:
            sku: The item's SKU.
            delta: Units to add; negative values take units out.

        Returns:
            The item after the change.

        Raises:
            UnknownItemError: If the store has no such item.
            OutOfStockError: If fewer than ``-delta`` units are on hand.
            InventoryError: If the result would exceed ``MAX_QUANTITY``.
        """
        item = self.get(sku)
        new_quantity = item.quantity + delta
        if new_quantity < 0:
            raise OutOfStockError(sku, requested=-delta, available=item.quantity)
        if new_quantity > MAX_QUANTITY:
            raise InventoryError(f"{sku}: quantity would exceed {MAX_QUANTITY}")
        item.quantity = new_quantity
        self.save(item)
        return item

    def __contains__(self, sku: object) -> bool:
        if not isinstance(sku, str):
            return False
        try:
            self.get(sku)
        except UnknownItemError:
            return False
        return True

    def __len__(self) -> int:
        return sum(1 for _ in self.items())
