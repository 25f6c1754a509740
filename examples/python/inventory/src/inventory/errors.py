"""Exceptions raised by the inventory library."""


class InventoryError(Exception):
    """Base class for every error the inventory library raises on purpose."""


class UnknownItemError(InventoryError, KeyError):
    """No item with the given SKU exists in the store.

    Args:
        sku: The SKU that was looked up.
    """

    def __init__(self, sku: str) -> None:
        super().__init__(sku)
        self.sku = sku

    def __str__(self) -> str:
        return f"unknown item {self.sku!r}"


class OutOfStockError(InventoryError):
    """A request asked for more units than the store holds.

    Args:
        sku: The SKU of the item.
        requested: How many units were asked for.
        available: How many units the store holds.
    """

    def __init__(self, sku: str, requested: int, available: int) -> None:
        super().__init__(f"{sku}: requested {requested}, only {available} in stock")
        self.sku = sku
        self.requested = requested
        self.available = available
