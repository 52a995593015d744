from __future__ import annotations

from ftkit.items import Item


def test_test_prompt_keeps_up_to_price_prefix() -> None:
    item = Item(
        title="Kettle",
        price=26.0,
        prompt="How much does this cost to the nearest dollar?\n\nKettle\nSteel\n\nPrice is $26.00",
    )
    assert item.test_prompt() == (
        "How much does this cost to the nearest dollar?\n\nKettle\nSteel\n\nPrice is $"
    )
    assert item.text == "Kettle\nSteel"
