"""The ``inventory`` command line."""

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import NonNegativeInt, TypeAdapter, ValidationError
from rich.console import Console
from rich.table import Table

from inventory import __version__
from inventory.errors import InventoryError, UnknownItemError
from inventory.models import Category, Item
from inventory.service import LOW_STOCK_THRESHOLD, Warehouse
from inventory.storage import open_store
from inventory.sync import SupplierFeed, sync_from_supplier

DEFAULT_STORE = "inventory.json"
STORE_ENV_VAR = "INVENTORY_STORE"

_FEED_SCHEMA = TypeAdapter(dict[str, NonNegativeInt])


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="inventory", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--store",
        default=os.environ.get(STORE_ENV_VAR, DEFAULT_STORE),
        help=f"store file or memory:// (default: ${STORE_ENV_VAR} or {DEFAULT_STORE})",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("list", help="show items")
    listing.add_argument(
        "--low", type=int, nargs="?", const=LOW_STOCK_THRESHOLD, metavar="THRESHOLD"
    )

    add = commands.add_parser("add", help="receive units of an item")
    add.add_argument("sku")
    add.add_argument("name")
    add.add_argument("--quantity", type=int, default=1)
    add.add_argument("--price", default="0")
    add.add_argument(
        "--category", choices=[c.value for c in Category], default=Category.GENERAL.value
    )

    ship = commands.add_parser("ship", help="take units out of stock")
    ship.add_argument("sku")
    ship.add_argument("--quantity", type=int, default=1)

    sync = commands.add_parser("sync", help="set counts from a supplier feed (JSON: SKU -> count)")
    sync.add_argument("feed", type=Path)
    sync.add_argument("--concurrency", type=int, default=4)
    return parser


def _file_feed(path: Path) -> SupplierFeed:
    try:
        counts = _FEED_SCHEMA.validate_json(path.read_bytes())
    except (OSError, ValidationError) as exc:
        raise InventoryError(f"cannot read feed {path}: {exc}") from exc

    async def feed(sku: str) -> int:
        if sku not in counts:
            raise UnknownItemError(sku)
        return counts[sku]

    return feed


def _render(items: list[Item], console: Console) -> None:
    table = Table("SKU", "Name", "Category", "Qty", "Price")
    for item in items:
        table.add_row(item.sku, item.name, item.category.value, str(item.quantity), str(item.price))
    console.print(table)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: Arguments without the program name; ``sys.argv[1:]`` when omitted.

    Returns:
        The exit status: 0 on success, 1 when the inventory refused the request.
    """
    args = _build_parser().parse_args(argv)
    console = Console()
    try:
        warehouse = Warehouse(open_store(args.store))
        if args.command == "list":
            items = list(warehouse.store.items())
            if args.low is not None:
                items = list(warehouse.low_stock(threshold=args.low))
            _render(items, console)
        elif args.command == "add":
            item = Item(args.sku, args.name, args.quantity, category=Category(args.category))
            item.price = args.price
            warehouse.receive(item)
        elif args.command == "ship":
            left = warehouse.ship(args.sku, args.quantity)
            console.print(f"{left.sku}: {left.quantity} left")
        elif args.command == "sync":
            changed = asyncio.run(
                sync_from_supplier(
                    warehouse.store, _file_feed(args.feed), concurrency=args.concurrency
                )
            )
            console.print(f"updated {len(changed)} item(s)")
    except (InventoryError, ValueError) as exc:
        print(f"inventory: error: {exc}", file=sys.stderr)
        return 1
    return 0
