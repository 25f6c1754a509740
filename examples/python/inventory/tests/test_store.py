import asyncio
import json
from decimal import Decimal

import pytest

from inventory import (
    Category,
    InventoryError,
    Item,
    JsonFileStore,
    MemoryStore,
    OutOfStockError,
    UnknownItemError,
    Warehouse,
    open_store,
    sync_from_supplier,
)
from inventory.cli import main


@pytest.fixture
def warehouse() -> Warehouse:
    store = MemoryStore(
        [
            Item("BOL-0001", "Bolts, M6", quantity=120, price_cents=15),
            Item("GLV-0002", "Work gloves", quantity=3, price_cents=899),
            Item("ACD-0003", "Battery acid", quantity=0, category=Category.HAZARDOUS),
        ]
    )
    return Warehouse(store, name="north")


def test_ship_removes_units_and_refuses_more_than_on_hand(warehouse: Warehouse) -> None:
    assert warehouse.ship("BOL-0001", 20).quantity == 100

    with pytest.raises(OutOfStockError) as info:
        warehouse.ship("GLV-0002", 5)

    assert (info.value.requested, info.value.available) == (5, 3)
    assert warehouse.store.get("GLV-0002").quantity == 3
    assert warehouse.journal == ["ship BOL-0001 20 -> ok", "ship GLV-0002 5 -> OutOfStockError"]


def test_transfer_moves_units_between_warehouses(warehouse: Warehouse) -> None:
    south = Warehouse(MemoryStore(), name="south")

    warehouse.transfer("BOL-0001", south, quantity=40)
    warehouse.transfer("BOL-0001", south, quantity=10)

    assert warehouse.store.get("BOL-0001").quantity == 70
    assert south.store.get("BOL-0001").quantity == 50
    with pytest.raises(UnknownItemError):
        warehouse.transfer("XYZ-9999", south, quantity=1)


def test_low_stock_yields_fewest_first(warehouse: Warehouse) -> None:
    assert [item.sku for item in warehouse.low_stock()] == ["ACD-0003", "GLV-0002"]
    assert [item.sku for item in warehouse.low_stock(threshold=1)] == ["ACD-0003"]
    assert warehouse.stock_value() == Decimal("44.97")
    assert warehouse.stock_value(Category.HAZARDOUS) == Decimal(0)


def test_item_validation_and_price() -> None:
    item = Item("GLV-0002", "Work gloves")
    item.price = "19.99"
    assert item.price_cents == 1999
    assert Item.from_dict(item.to_dict()) == item
    with pytest.raises(InventoryError):
        Item("gloves", "Work gloves")
    with pytest.raises(InventoryError):
        item.price = "-1"


def test_json_store_survives_reopening(tmp_path) -> None:
    path = tmp_path / "stock.json"
    store = open_store(f"json://{path}")
    Warehouse(store).receive(Item("BOL-0001", "Bolts, M6", quantity=5, price_cents=15))
    store.adjust("BOL-0001", 2)

    reopened = JsonFileStore(path)
    assert reopened.get("BOL-0001").quantity == 7
    assert "BOL-0001" in reopened and len(reopened) == 1

    path.write_text("[1, 2]")
    with pytest.raises(InventoryError):
        JsonFileStore(path)


def test_sync_from_supplier_updates_changed_counts(warehouse: Warehouse) -> None:
    supplier = {"BOL-0001": 120, "GLV-0002": 40}

    async def feed(sku: str) -> int:
        await asyncio.sleep(0)
        if sku not in supplier:
            raise UnknownItemError(sku)
        return supplier[sku]

    changed = asyncio.run(sync_from_supplier(warehouse.store, feed, concurrency=2))

    assert changed == ["GLV-0002"]
    assert warehouse.store.get("GLV-0002").quantity == 40
    assert warehouse.store.get("ACD-0003").quantity == 0


def test_cli_add_ship_and_sync(tmp_path, capsys) -> None:
    store = str(tmp_path / "stock.json")
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps({"GLV-0002": 12}))

    assert main(["--store", store, "add", "GLV-0002", "Work gloves", "--quantity", "4"]) == 0
    assert main(["--store", store, "ship", "GLV-0002", "--quantity", "9"]) == 1
    assert "requested 9, only 4 in stock" in capsys.readouterr().err
    assert main(["--store", store, "sync", str(feed)]) == 0
    assert JsonFileStore(store).get("GLV-0002").quantity == 12
