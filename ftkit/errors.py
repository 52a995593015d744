"""ftkit's exceptions: every problem a user can cause is one of these.

    FtkitError                  base class; ``str(err)`` is one clear line for the user
    ├── SourceError             a data source cannot be read or has no usable items
    │   └── PickleRefusedError  a pickle names a class ftkit will not load
    ├── SamplingError           the requested split cannot be drawn
    ├── TemplateError           a message template is malformed
    ├── OutputError             an output file or folder cannot be written
    ├── CheckError              a JSONL file cannot be read for the pre-flight check
    ├── ModelError              a model name ftkit does not know
    ├── PriceTableError         a price table (ftkit's or ``$FTKIT_PRICES``) is unreadable
    ├── ExportCheckError        a trainer's published rules reject the split (export)
    ├── EvaluationError         a model cannot be evaluated, or a saved run cannot be read
    │   └── RetriesExhaustedError   one item still failed after every retry
    ├── HistoryError            the run history database cannot be opened, read or written
    ├── ConfigError             a hosting setting (secrets or environment) is malformed
    ├── ProviderError           no API key, or provider settings that do not fit together
    │   └── CredentialsError    no API key (or Azure setting) for the OpenAI client
    ├── ApiError                the API refused or failed a request (one line with the request id)
    │   └── FineTuningClosedError  job creation refused: self-serve fine-tuning is closed here
    ├── UploadError             a file was not uploaded (nothing is recorded as uploaded)
    └── WaitTimeoutError        a bounded wait for a file or job ran out

The CLI prints ``str(err)`` and exits non-zero; the dashboard shows it with ``st.error``.
Every message is scrubbed and bounded when the error is made: ``redact_text`` masks the keys
the client builder registered and anything shaped like a secret (``sk-`` keys, ``Bearer``
tokens, ``api-key=`` values, a URL's user and password) and ``cut_message`` keeps it under
``2 * MAX_MESSAGE`` characters, so no page or command can print a key or a 10 MB line.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

__all__ = [
    "MAX_MESSAGE",
    "ApiError",
    "CheckError",
    "ConfigError",
    "CredentialsError",
    "EvaluationError",
    "ExportCheckError",
    "FineTuningClosedError",
    "FtkitError",
    "HistoryError",
    "ModelError",
    "OutputError",
    "PickleRefusedError",
    "PriceTableError",
    "ProviderError",
    "RetriesExhaustedError",
    "SamplingError",
    "SourceError",
    "TemplateError",
    "UploadError",
    "WaitTimeoutError",
    "bounded_text",
    "cut_message",
    "redact_text",
    "register_secret",
    "strip_userinfo",
]


MAX_MESSAGE = 500
MASK = "***"
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*:)?//[^\s/?#@]*@")
_VALUE = r"[^\s\"'&,;}\\]{4,}"
_SEPARATOR = r"\\?[\"']?\s*[:=]\s*\\?[\"']?"
_SECRET_SHAPES = (
    (re.compile(rf"(?i)\b(authorization{_SEPARATOR})(?:\w+\s+)?{_VALUE}"), r"\1" + MASK),
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}"), "sk-" + MASK),
    (re.compile(r"(?i)\b(bearer)(\s+|%20)[A-Za-z0-9._~+/=\-]{6,}"), r"\1\2" + MASK),
    (re.compile(r"\b(Basic\s+)[A-Za-z0-9+/]{8,}={0,2}"), r"\1" + MASK),
    (
        re.compile(
            r"(?i)\b((?:x-)?api[-_]?key|access[-_]?token|client[-_]?secret|password|passwd"
            rf"|secret|token)({_SEPARATOR})(?!\*\*\*){_VALUE}"
        ),
        r"\1\2" + MASK,
    ),
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-.]+"), MASK),
)


_REGISTERED: dict[str, None] = {}  # insertion-ordered: the oldest is dropped first
_REGISTERED_LOCK = threading.Lock()
MAX_REGISTERED = 256
MIN_SECRET = 6


def register_secret(*secrets: str | None) -> None:
    """Mask these keys in every message from now on (the one client builder registers its key).

    A key an endpoint echoes can have any shape; registering it is how ``redact_text`` and
    so every ``FtkitError`` knows it. Keys shorter than ``MIN_SECRET`` characters are ignored.
    """
    with _REGISTERED_LOCK:
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET:
                _REGISTERED.pop(secret, None)
                _REGISTERED[secret] = None
        while len(_REGISTERED) > MAX_REGISTERED:
            del _REGISTERED[next(iter(_REGISTERED))]


def _registered() -> tuple[str, ...]:
    with _REGISTERED_LOCK:
        return tuple(_REGISTERED)


def strip_userinfo(url: str) -> str:
    """Return ``url`` without a ``user:password@`` part (in any URL found in the text)."""
    return _USERINFO.sub(lambda m: f"{m.group(1) or ''}//", url)


def redact_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Return ``text`` with the given secrets and anything shaped like a secret masked.

    Masks each of ``secrets`` and of the registered keys (``register_secret``) wherever it
    appears, then ``sk-`` keys, ``Bearer``/``Basic`` credentials, ``api-key``/``token``/
    ``password`` values and JWTs, and drops the user and password of any URL.
    """
    known = {s for s in (*secrets, *_registered()) if s and len(s) >= 4}
    for secret in sorted(known, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = strip_userinfo(text)
    for pattern, replacement in _SECRET_SHAPES:
        text = pattern.sub(replacement, text)
    return text


def cut_message(text: str, limit: int = MAX_MESSAGE) -> str:
    """Return ``text`` cut to about ``limit`` characters, ending "… (N more characters)"."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def bounded_text(text: str, secrets: Iterable[str | None] = (), limit: int = MAX_MESSAGE) -> str:
    """Return ``text`` redacted, then cut to ``limit`` characters (the count is of ``text``).

    Only the first ``4 * limit`` characters are read, and they are redacted before the cut, so
    a key straddling the cut never shows its first half and a 10 MB text costs no more.
    """
    head = redact_text(text[: limit * 4], secrets)
    if len(head) <= limit and len(text) <= limit * 4:
        return head
    return f"{head[:limit]}… ({max(len(text) - limit, 1):,} more characters)"


class FtkitError(Exception):
    """A problem the user can fix; the message is one line naming the file or field.

    The message is redacted (``redact_text``) and cut to ``2 * MAX_MESSAGE`` characters.
    """

    def __init__(self, *args: object) -> None:
        if len(args) == 1 and isinstance(args[0], str):
            args = (bounded_text(args[0], limit=2 * MAX_MESSAGE),)
        super().__init__(*args)


class SourceError(FtkitError):
    """A data source cannot be read, or holds no usable items."""


class PickleRefusedError(SourceError):
    """A pickle refers to a global outside ftkit's allow-list."""


class SamplingError(FtkitError):
    """The requested train/validation split cannot be drawn."""


class TemplateError(FtkitError):
    """A message template names an unknown field or is malformed."""


class OutputError(FtkitError):
    """An output file or folder cannot be written."""


class CheckError(FtkitError):
    """A file cannot be read at all for the pre-flight check."""


class ModelError(FtkitError):
    """A model name matches no entry in ftkit's model table."""


class PriceTableError(FtkitError):
    """A price table file is missing, not JSON, or has the wrong shape."""


class ExportCheckError(FtkitError):
    """A trainer's published rules reject the split; ``reasons`` holds one line per rule."""

    def __init__(self, format: str, trainer: str, reasons: list[str]) -> None:
        self.format = format
        self.trainer = trainer
        self.reasons = list(reasons)
        more = f" (and {len(reasons) - 1} more problems)" if len(reasons) > 1 else ""
        first = reasons[0] if reasons else "it breaks a rule"
        super().__init__(f"{format}: {trainer} cannot take this split: {first}{more}")


class ProviderError(FtkitError):
    """No API key is set, or the provider settings do not fit together."""


class CredentialsError(ProviderError):
    """No API key, or an incomplete Azure setting, for the OpenAI client."""


class EvaluationError(FtkitError):
    """A model cannot be evaluated (auth, unknown model), or a saved run file is unreadable."""


class RetriesExhaustedError(EvaluationError):
    """One request still failed (rate limit, server error, connection) after every retry."""


class HistoryError(FtkitError):
    """The run history database cannot be opened, migrated, read or written."""


class ConfigError(FtkitError):
    """A hosting setting in secrets or the environment has the wrong type or value."""


class ApiError(FtkitError):
    """The API refused or failed a request; the message carries the request id when known."""

    def __init__(self, message: str, *, status: int | None = None, request_id: str | None = None):
        super().__init__(message)
        self.status = status
        self.request_id = request_id


class FineTuningClosedError(ApiError):
    """Creating a fine-tuning job was refused with 403: self-serve fine-tuning is closed."""


class UploadError(FtkitError):
    """A file could not be uploaded; nothing was recorded as uploaded."""


class WaitTimeoutError(FtkitError):
    """A bounded wait for a file to be processed or a job to finish ran out."""
