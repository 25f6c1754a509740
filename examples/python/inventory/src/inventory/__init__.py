"""Warehouse stock management: items, stock stores, supplier sync and a CLI."""

from .errors import InventoryError, OutOfStockError, UnknownItemError
from .models import Category, Item
from .service import Warehouse
from .storage import JsonFileStore, MemoryStore, StockStore, open_store
from .sync import sync_from_supplier

__version__ = "0.3.1"

__all__ = [
    "Category",
    "InventoryError",
    "Item",
    "JsonFileStore",
    "MemoryStore",
    "OutOfStockError",
    "StockStore",
    "UnknownItemError",
    "Warehouse",
    "__version__",
    "open_store",
    "sync_from_supplier",
]
