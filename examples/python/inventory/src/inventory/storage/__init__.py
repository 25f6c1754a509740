"""Stock stores: where item records live."""

from .base import StockStore
from .json_file import JsonFileStore
from .memory import MemoryStore

__all__ = ["JsonFileStore", "MemoryStore", "StockStore", "open_store"]

MEMORY_URL = "memory://"


def open_store(url: str, /, **options: object) -> StockStore:
    """Open the store a URL names.

    ``memory://`` gives an empty in-memory store; any other value is taken as the
    path of a JSON file (an optional ``json://`` prefix is stripped).

    Args:
        url: ``memory://``, ``json://PATH`` or a plain file path.
        **options: Passed to the store's constructor, e.g. ``indent=4``.

    Returns:
        The opened store.

    Raises:
        InventoryError: If the JSON file exists but cannot be read.
    """
    if url == MEMORY_URL:
        return MemoryStore(**options)
    return JsonFileStore(url.removeprefix("json://"), **options)
