"""Warehouse operations: receiving, shipping and transferring stock."""

import functools
import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any, TypeVar

from inventory.models import Category, Item
from inventory.storage import StockStore

LOW_STOCK_THRESHOLD = 5

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


def audited(method: F) -> F:
    """Record every call of a `Warehouse` method in the warehouse's journal.

    Each call appends one line, ``"<method> <arguments> -> ok"`` or
    ``"<method> <arguments> -> <ErrorName>"``, and logs it at INFO level.
    Exceptions are re-raised unchanged.

    Args:
        method: The method to wrap; its first argument must be a `Warehouse`.

    Returns:
        The wrapped method.
    """

    @functools.wraps(method)
    def wrapper(self: "Warehouse", *args: Any, **kwargs: Any) -> Any:
        call = " ".join(
            [method.__name__, *map(str, args), *(f"{k}={v}" for k, v in kwargs.items())]
        )
        try:
            result = method(self, *args, **kwargs)
        except Exception as exc:
            self.journal.append(f"{call} -> {type(exc).__name__}")
            logger.info("%s: %s failed: %s", self.name, call, exc)
            raise
        self.journal.append(f"{call} -> ok")
        logger.info("%s: %s", self.name, call)
        return result

    return wrapper  # type: ignore[return-value]


class Warehouse:
    """A named warehouse working on one stock store.

    Args:
        store: Where the warehouse's items are kept.
        name: Name used in logs and journal entries.
    """

    def __init__(self, store: StockStore, *, name: str = "main") -> None:
        self.store = store
        self.name = name
        self.journal: list[str] = []

    def __repr__(self) -> str:
        return f"Warehouse({self.name!r})"

    @audited
    def receive(self, *items: Item) -> int:
        """Take delivery of items, adding to the stock of known SKUs.

        Args:
            *items: The delivered items; ``quantity`` is the number of units delivered.

        Returns:
            The total number of units received.

        Raises:
            InventoryError: If a quantity would exceed the store's maximum.
        """
        for item in items:
            if item.sku in self.store:
                self.store.adjust(item.sku, item.quantity)
            else:
                self.store.save(item)
        return sum(item.quantity for item in items)

    @audited
    def ship(self, sku: str, quantity: int = 1) -> Item:
        """Take units of an item out of stock for an order.

        Args:
            sku: The item's SKU.
            quantity: Units to ship, at least 1.

        Returns:
            The item after shipping.

        Raises:
            ValueError: If ``quantity`` is less than 1.
            UnknownItemError: If the store has no such item.
            OutOfStockError: If fewer than ``quantity`` units are on hand.
        """
        if quantity < 1:
            raise ValueError(f"quantity must be at least 1, got {quantity}")
        return self.store.adjust(sku, -quantity)

    @audited
    def transfer(self, sku: str, /, target: "Warehouse", *, quantity: int) -> Item:
        """Move units of an item from this warehouse to another one.

        Args:
            sku: The item's SKU.
            destination: The warehouse that receives the units.
            quantity: Units to move.

        Returns:
            The item as it now stands in this warehouse.

        Raises:
            UnknownItemError: If this warehouse has no such item.
            OutOfStockError: If fewer than ``quantity`` units are on hand here.
        """
        remaining = self.ship(sku, quantity)
        target.receive(replace(remaining, quantity=quantity))
        return remaining

    def low_stock(self, *, threshold: int = LOW_STOCK_THRESHOLD) -> Iterator[Item]:
        """Yield the items that need reordering, fewest units first.

        Args:
            threshold: Items with fewer units than this are yielded.

        Yields:
            Items whose quantity is below ``threshold``.
        """
        for item in sorted(self.store.items(), key=lambda item: (item.quantity, item.sku)):
            if item.quantity >= threshold:
                break
            yield item

    def stock_value(self, category: Category | None = None) -> Decimal:
        return sum(
            (
                item.value
                for item in self.store.items()
                if category is None or item.category is category
            ),
            start=Decimal(0),
        )
