"""The stock item record and its category."""

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import Enum
from typing import Any, Self

from .errors import InventoryError

SKU_PATTERN = re.compile(r"^[A-Z]{3}-\d{4}$")
MAX_QUANTITY = 1_000_000


class Category(Enum):
    """How an item must be stored and shipped."""

    GENERAL = "general"
    PERISHABLE = "perishable"
    FRAGILE = "fragile"
    HAZARDOUS = "hazardous"


def _to_cents(amount: Decimal | float | str) -> int:
    # Going through str avoids binary float noise such as 19.99 -> 1998.
    try:
        cents = Decimal(str(amount)) * 100
        return int(cents.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except (InvalidOperation, ValueError, OverflowError):
        raise InventoryError(f"not a price: {amount!r}") from None


@dataclass
class Item:
    """One stock-keeping unit and how many of it are on hand.

    Attributes:
        sku: Stock-keeping unit, three capital letters, a dash and four digits (``ABC-0001``).
        name: Human-readable name.
        quantity: Units on hand, between 0 and ``MAX_QUANTITY``.
        price_cents: Unit price in cents.
        category: Storage category.

    Raises:
        InventoryError: If the SKU is malformed or the quantity is out of range.
    """

    sku: str
    name: str
    quantity: int = 0
    price_cents: int = 0
    category: Category = Category.GENERAL

    def __post_init__(self) -> None:
        if not self.is_valid_sku(self.sku):
            raise InventoryError(f"malformed SKU {self.sku!r}")
        if not 0 <= self.quantity <= MAX_QUANTITY:
            raise InventoryError(f"{self.sku}: quantity {self.quantity} out of range")

    @property
    def price(self) -> Decimal:
        """Unit price in currency units, e.g. ``Decimal("19.99")``."""
        return Decimal(self.price_cents) / 100

    @price.setter
    def price(self, value: Decimal | float | str) -> None:
        cents = _to_cents(value)
        if cents < 0:
            raise InventoryError(f"{self.sku}: negative price {value}")
        self.price_cents = cents

    @property
    def value(self) -> Decimal:
        """Total value of the units on hand (price times quantity)."""
        return self.price * self.quantity

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build an item from a mapping such as one produced by `to_dict`.

        Args:
            data: Keys ``sku`` and ``name`` are required; ``quantity``, ``price``
                and ``category`` are optional.

        Returns:
            The new item.

        Raises:
            InventoryError: If a required key is missing or a value is invalid.
        """
        try:
            item = cls(
                sku=data["sku"],
                name=data["name"],
                quantity=int(data.get("quantity", 0)),
                category=Category(data.get("category", Category.GENERAL.value)),
            )
        except (KeyError, ValueError) as exc:
            raise InventoryError(f"invalid item record: {exc}") from exc
        item.price = data.get("price", 0)
        return item

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["category"] = self.category.value
        del record["price_cents"]
        record["price"] = str(self.price)
        return record

    @staticmethod
    def is_valid_sku(sku: str) -> bool:
        """Tell whether ``sku`` has the ``ABC-0001`` shape."""
        return SKU_PATTERN.fullmatch(sku) is not None
