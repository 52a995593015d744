"""ftkit: items to chat fine-tuning data, checked, priced, uploaded, trained and measured."""

from __future__ import annotations

from ftkit.errors import FtkitError
from ftkit.items import Item

__all__ = ["FtkitError", "Item"]
__version__ = "0.1.0"
