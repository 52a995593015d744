"""Keep keys out of the history: drop secret-named fields, blank secret-looking values.

Text values also lose the user and password of any URL in them and anything ``redact_text``
(``ftkit.errors``) masks, so an endpoint like ``http://user:pw@host/v1`` is stored as
``http://host/v1``.
"""

from __future__ import annotations

import re
from typing import Any

from ftkit.errors import redact_text

__all__ = ["REDACTED", "is_secret_name", "redact"]

REDACTED = "[redacted]"

_SECRET_NAME = re.compile(
    r"^(?:.*_)?(?:api_?key|key|token|secret|password|passwd|authorization|credentials?|cookie)$"
)
_SECRET_VALUE = re.compile(
    r"(?:\bsk-[A-Za-z0-9_\-]{8,}|\btgp_v1_[A-Za-z0-9_\-]{8,}|\bfw_[A-Za-z0-9]{8,}|\bBearer\s+\S{8,}|\b(?:eyJ)[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]+)"
)


def is_secret_name(name: str) -> bool:
    """Return True for a field name that looks like it holds a key, token or password.

    ``api_key``, ``key``, ``access_token``, ``client_secret``, ``Authorization`` match;
    counts such as ``tokens`` or ``trained_tokens`` do not.
    """
    return bool(_SECRET_NAME.match(name.strip().lower().replace("-", "_")))


def redact(value: Any) -> Any:
    """Return a copy of ``value`` without secret-named keys and with secret-looking text blanked."""
    if isinstance(value, dict):
        return {
            str(key): redact(inner) for key, inner in value.items() if not is_secret_name(str(key))
        }
    if isinstance(value, list | tuple):
        return [redact(inner) for inner in value]
    if isinstance(value, str):
        return redact_text(_SECRET_VALUE.sub(REDACTED, value))
    return value
