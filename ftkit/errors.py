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
    ├── HistoryError            the run history database cannot be opened, read or written
    └── ConfigError             a hosting setting (secrets or environment) is malformed

The CLI prints ``str(err)`` and exits non-zero; the dashboard shows it with ``st.error``.
"""

from __future__ import annotations

__all__ = [
    "CheckError",
    "ConfigError",
    "FtkitError",
    "HistoryError",
    "ModelError",
    "OutputError",
    "PickleRefusedError",
    "PriceTableError",
    "SamplingError",
    "SourceError",
    "TemplateError",
]


class FtkitError(Exception):
    """A problem the user can fix; the message is one line naming the file or field."""


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


class HistoryError(FtkitError):
    """The run history database cannot be opened, migrated, read or written."""


class ConfigError(FtkitError):
    """A hosting setting in secrets or the environment has the wrong type or value."""
