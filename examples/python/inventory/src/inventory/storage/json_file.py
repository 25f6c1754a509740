"""A store backed by one JSON file, rewritten on every change."""

import json
import os
from collections.abc import Iterator
from pathlib import Path

from inventory.errors import InventoryError, UnknownItemError
from inventory.models import Item
from inventory.storage.base import StockStore


class JsonFileStore(StockStore):
    """Items kept in a JSON file: an object mapping each SKU to its record.

    The file is read once when the store opens and written after each `save`.
    A missing file is an empty store; it is created on the first `save`.

    Args:
        path: The JSON file.
        indent: Indentation used when writing the file.

    Raises:
        InventoryError: If the file exists but is not a valid store file.
    """

    def __init__(self, path: str | os.PathLike[str], *, indent: int = 2) -> None:
        self.path = Path(path)
        self.indent = indent
        self._records = self._load()

    def get(self, sku: str) -> Item:
        """Return the item with this SKU.

        Raises:
            UnknownItemError: If the file has no such item.
        """
        if sku not in self._records:
            raise UnknownItemError(sku)
        return Item.from_dict(self._records[sku])

    def save(self, item: Item) -> None:
        """Insert or replace an item and rewrite the file."""
        self._records[item.sku] = item.to_dict()
        self._write()

    def items(self) -> Iterator[Item]:
        """Iterate over all items, in SKU order."""
        for sku in sorted(self._records):
            yield Item.from_dict(self._records[sku])

    def _load(self) -> dict[str, dict]:
        if not self.path.exists():
            return {}
        try:
            records = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InventoryError(f"cannot read store file {self.path}: {exc}") from exc
        if not isinstance(records, dict):
            raise InventoryError(f"{self.path}: expected a JSON object of items")
        return records

    def _write(self) -> None:
        # Write to a sibling file and rename it, so a crash never leaves half a file.
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(
            json.dumps(self._records, indent=self.indent, sort_keys=True), encoding="utf-8"
        )
        os.replace(tmp, self.path)
