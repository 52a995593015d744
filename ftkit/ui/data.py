"""Cached data for the pages: the loaded dataset, the split, message columns and token counts.

Every cache here is bounded and shared read-only between sessions; callers never mutate what
they get back. Datasets are keyed by the sha256 of their bytes (plus the column mapping), so a
rerun never reloads or re-unpickles a file. Nothing here reads or holds an API key.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import streamlit as st

from ftkit.dataset.messages import Templates
from ftkit.dataset.prepare import write_split
from ftkit.dataset.sampling import Split, Strategy, split_items
from ftkit.dataset.stats import Bin, DatasetSummary, histogram, summarize_items
from ftkit.dataset.table import ROLES, Role, example_tokens, messages_table, render_column
from ftkit.errors import FtkitError, SourceError
from ftkit.items import Item
from ftkit.preflight.scan import CheckReport, check_file
from ftkit.preflight.tokens import Tokenizer, get_tokenizer
from ftkit.sources.columns import ColumnOverrides, check_columns, guess_mapping
from ftkit.sources.load import (
    PICKLE_SUFFIXES,
    ColumnMapping,
    LoadedItems,
    columns_of,
    detect_mapping,
    items_from_records,
    load_items,
    read_records,
    require_items,
)
from ftkit.sources.sniff import DEFAULT_UPLOAD_BYTES, sniff_upload
from ftkit.sources.tables import DEFAULT_READ_LIMITS, ReadLimits
from ftkit.training.models import find_model
from ftkit.ui import state
from ftkit.ui.markdown import literal
from ftkit.ui.paths import shown_text

__all__ = [
    "Composition",
    "Dataset",
    "PendingTable",
    "clear_pending",
    "current_composition",
    "current_dataset",
    "current_templates",
    "dataset_stats",
    "hash_bytes",
    "hash_file",
    "load_path",
    "load_upload",
    "map_pending",
    "pending_table",
    "run_check",
    "set_mapping",
    "tokenizer",
    "upload_limit",
    "upload_read_limits",
    "use_sample",
]

SAMPLE_LABEL = "built-in sample"
_SAMPLE_FILE = "sample_items.jsonl.gz"
_HASH_CHUNK = 1 << 23
Records = list[dict[str, Any]]
SplitId = tuple[str, int, int, int, str]
PENDING = "data_pending"  # a table whose columns still need mapping (dict of PendingTable)


@dataclass(frozen=True)
class Dataset:
    """The dataset this session works on; ``loaded`` is shared, never mutate it."""

    key: str
    kind: str
    label: str
    loaded: LoadedItems
    columns: tuple[str, ...]
    mapping: ColumnMapping | None


@dataclass(frozen=True)
class PendingTable:
    """A file that was read but whose columns did not give items: map them to use it."""

    kind: str
    label: str
    content_hash: str
    columns: tuple[str, ...]
    guess: ColumnOverrides
    error: str


# ---- hashing -------------------------------------------------------------------------------


def hash_bytes(data: bytes) -> str:
    """Return the sha256 hex digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


def hash_file(path: Path, progress: Callable[[float], None] | None = None) -> str:
    """Return the sha256 hex digest of a file, reporting the fraction read to ``progress``."""
    digest = hashlib.sha256()
    try:
        size = path.stat().st_size or 1
        with path.open("rb") as handle:
            done = 0
            while chunk := handle.read(_HASH_CHUNK):
                digest.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(min(1.0, done / size))
    except OSError as err:
        raise SourceError(f"{path}: cannot read ({err.strerror or err})") from None
    return digest.hexdigest()


# ---- shared caches (keyed by content hash) --------------------------------------------------


@st.cache_resource(max_entries=4, show_spinner=False)
def _records(content_hash: str, _load: Callable[[], Records]) -> Records:
    """Return a source's raw records, loading them on the first call for this hash."""
    return _load()


@st.cache_resource(max_entries=4, show_spinner=False)
def _items(dataset_key: str, _load: Callable[[], LoadedItems]) -> LoadedItems:
    """Return a source's items, loading them on the first call for this key."""
    return _load()


@st.cache_resource(max_entries=1, show_spinner=False)
def _sample_bytes() -> bytes:
    return resources.files("ftkit.data").joinpath(_SAMPLE_FILE).read_bytes()


@st.cache_resource(max_entries=1, show_spinner=False)
def _sample_hash() -> str:
    return hash_bytes(_sample_bytes())


def _sample_records() -> Records:
    records = read_records(_sample_bytes(), _SAMPLE_FILE, SAMPLE_LABEL)
    return [r for r in records if r.get("split") == "train"]


def _columns(records: Records) -> tuple[str, ...]:
    return tuple(columns_of(records))


def _mapping_key(mapping: ColumnMapping | None) -> str:
    return "" if mapping is None else orjson.dumps(asdict(mapping)).decode()


def _mapping_from_state(raw: dict[str, Any] | None) -> ColumnMapping | None:
    if not raw:
        return None
    return ColumnMapping(**{**raw, "text": tuple(raw.get("text") or ())})


def _build_items(records: Records, mapping: ColumnMapping, label: str) -> LoadedItems:
    check_columns(_columns(records), mapping, label)
    return require_items(items_from_records(records, mapping, label))


def _gone(label: str) -> Callable[[], Any]:
    def load() -> Any:
        raise SourceError(f"{label}: this dataset is no longer in memory; load it again")

    return load


# ---- the session's dataset ------------------------------------------------------------------


def _set_dataset(kind: str, label: str, content_hash: str, mapping: ColumnMapping | None) -> None:
    st.session_state[state.DATASET_KIND] = kind
    st.session_state[state.DATASET_SOURCE] = label
    st.session_state[state.DATASET_HASH] = content_hash
    st.session_state[state.DATASET_MAPPING] = None if mapping is None else asdict(mapping)
    clear_pending()


def use_sample() -> None:
    """Switch this session to the built-in sample with its detected mapping."""
    _set_dataset("sample", "sample", _sample_hash(), None)


# ---- a table whose columns need mapping -------------------------------------------------------


def pending_table() -> PendingTable | None:
    """Return the file waiting for a column mapping, if any."""
    raw = st.session_state.get(PENDING)
    if not raw:
        return None
    guess = ColumnOverrides(**{**raw["guess"], "text": tuple(raw["guess"]["text"])})
    return PendingTable(**{**raw, "columns": tuple(raw["columns"]), "guess": guess})


def clear_pending() -> None:
    """Forget the file waiting for a column mapping."""
    st.session_state[PENDING] = None


def _set_pending(
    kind: str, label: str, content_hash: str, columns: tuple[str, ...], error: str
) -> None:
    """Keep a file waiting for its mapping; a retry keeps the first guess (the pickers' state)."""
    previous = pending_table()
    same = previous is not None and previous.content_hash == content_hash
    guess = previous.guess if previous is not None and same else guess_mapping(columns)
    st.session_state[PENDING] = {
        "kind": kind,
        "label": label,
        "content_hash": content_hash,
        "columns": list(columns),
        "guess": asdict(guess),
        "error": error,
    }


def _adopt(
    kind: str,
    label: str,
    content_hash: str,
    load: Callable[[], Records],
    mapping: ColumnMapping | None = None,
) -> Dataset:
    """Make a table the session's dataset; when its columns fail, keep it pending and raise."""
    records = _records(content_hash, load)
    if not records:
        raise SourceError(f"{label}: holds no rows")
    try:
        dataset = _tabular(kind, label, content_hash, load, mapping)
    except SourceError as err:
        _set_pending(kind, label, content_hash, _columns(records), str(err))
        raise
    _set_dataset(kind, label, content_hash, dataset.mapping)
    return dataset


def map_pending(mapping: ColumnMapping) -> Dataset:
    """Apply ``mapping`` to the pending file and make it the dataset; raise ``SourceError``."""
    pending = pending_table()
    if pending is None:
        raise SourceError("column mapping: no file is waiting for one; load it again")
    if pending.kind == "path":
        load = _reload_records(Path(pending.label), pending.content_hash)
    else:
        load = _gone(pending.label)
    return _adopt(pending.kind, pending.label, pending.content_hash, load, mapping)


def _tabular(
    kind: str,
    label: str,
    content_hash: str,
    load: Callable[[], Records],
    mapping: ColumnMapping | None,
) -> Dataset:
    records = _records(content_hash, load)
    if not records:
        raise SourceError(f"{label}: holds no rows")
    columns = _columns(records)
    mapping = mapping or detect_mapping(columns, label)
    key = f"{content_hash}:{_mapping_key(mapping)}"
    loaded = _items(key, lambda: _build_items(records, mapping, label))
    return Dataset(key, kind, label, loaded, columns, mapping)


def _pickle(label: str, content_hash: str, load: Callable[[], LoadedItems]) -> Dataset:
    loaded = _items(content_hash, load)
    return Dataset(content_hash, "path", label, loaded, (), None)


def _open_dataset() -> Dataset:
    ss = st.session_state
    kind, label = ss[state.DATASET_KIND], ss[state.DATASET_SOURCE]
    content_hash = ss[state.DATASET_HASH]
    mapping = _mapping_from_state(ss[state.DATASET_MAPPING])
    if kind == "sample" or content_hash is None:
        ss[state.DATASET_HASH] = _sample_hash()
        return _tabular("sample", SAMPLE_LABEL, _sample_hash(), _sample_records, mapping)
    if kind == "path" and Path(label).suffix.lower() in PICKLE_SUFFIXES:
        return _pickle(label, content_hash, lambda: _reload_pickle(Path(label), content_hash))
    if kind == "path":
        load = _reload_records(Path(label), content_hash)
        return _tabular(kind, label, content_hash, load, mapping)
    return _tabular(kind, label, content_hash, _gone(label), mapping)


def current_dataset() -> Dataset:
    """Return this session's dataset; fall back to the built-in sample if it was evicted."""
    try:
        return _open_dataset()
    except SourceError as err:
        if st.session_state[state.DATASET_KIND] == "sample":
            raise
        use_sample()
        st.warning(f"{literal(shown_text(str(err)))}. Showing the built-in sample meanwhile.")
        return _open_dataset()


def _load_pickle(path: Path) -> LoadedItems:
    return require_items(load_items(path, allow_pickle=not state.is_hosted()))


@st.cache_resource(max_entries=16, show_spinner=False)
def _file_hash(fingerprint: tuple[str, int, int], _compute: Callable[[], str]) -> str:
    """Return the content hash of a file by (path, size, mtime), computing it once."""
    return _compute()


def _open_pickle(path: Path) -> tuple[str, Dataset]:
    """Hash and unpickle a course pickle at once (two cores), unless its hash is known.

    sha256 releases the GIL, so hashing on a thread overlaps the unpickling; a file seen
    before (same path, size and mtime) is looked up by its known hash without loading.
    """
    try:
        info = path.stat()
    except OSError as err:
        raise SourceError(f"{path}: cannot read ({err.strerror or err})") from None
    loaded: list[LoadedItems] = []

    def hash_while_loading() -> str:
        with ThreadPoolExecutor(1, thread_name_prefix="ftkit-hash") as pool:
            hashing = pool.submit(hash_file, path)
            try:
                loaded.append(_load_pickle(path))
            finally:
                content_hash = hashing.result()
        return content_hash

    content_hash = _file_hash((str(path), info.st_size, info.st_mtime_ns), hash_while_loading)
    dataset = _pickle(str(path), content_hash, lambda: loaded[0] if loaded else _load_pickle(path))
    return content_hash, dataset


def _reload_pickle(path: Path, content_hash: str) -> LoadedItems:
    """Load a pickle again after its cache entry was evicted, if the file is unchanged."""
    if hash_file(path) != content_hash:
        raise SourceError(f"{path}: the file changed since it was loaded")
    return _load_pickle(path)


def _reload_records(path: Path, content_hash: str) -> Callable[[], Records]:
    def load() -> Records:
        data = _read(path)
        if hash_bytes(data) != content_hash:
            raise SourceError(f"{path}: the file changed since it was loaded")
        return read_records(data, path.name, str(path))

    return load


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise SourceError(f"{path}: cannot read ({err.strerror or err})") from None


def load_path(text: str, progress: Callable[[float], None] | None = None) -> Dataset:
    """Load a local file (a course pickle or a table) into this session; local mode only."""
    if state.is_hosted():
        raise SourceError("local paths are off on this server (hosted mode); upload a file instead")
    clear_pending()
    if not text.strip():
        raise SourceError("path: type the path of a local file")
    path = Path(text.strip()).expanduser().resolve()
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    if path.is_dir():
        raise SourceError(f"{path}: is a folder, not a data file")
    if path.suffix.lower() in PICKLE_SUFFIXES:
        content_hash, dataset = _open_pickle(path)
        _set_dataset("path", str(path), content_hash, None)
        return dataset
    content_hash = hash_file(path, progress)
    records = lambda: read_records(_read(path), path.name, str(path))  # noqa: E731
    return _adopt("path", str(path), content_hash, records)


def upload_limit() -> int:
    """Return the upload size limit in bytes: the deployer's ``max_upload_mb`` setting."""
    from ftkit.ui.auth import hosting_config

    try:
        return hosting_config().max_upload_bytes
    except FtkitError:
        return DEFAULT_UPLOAD_BYTES


def upload_read_limits() -> ReadLimits:
    """Return the bounds on an upload's decompressed bytes and rows (``max_decompressed_mb``...)."""
    from ftkit.ui.auth import hosting_config

    try:
        return hosting_config().read_limits
    except FtkitError:
        return DEFAULT_READ_LIMITS


def load_upload(name: str, data: bytes) -> Dataset:
    """Load an uploaded table (never a pickle) into this session.

    When its columns give no items the file stays pending (``pending_table``) for the user to
    map, and the ``SourceError`` is raised.
    """
    clear_pending()
    sniff_upload(data, name, max_bytes=upload_limit())
    limits = upload_read_limits()
    return _adopt("upload", name, hash_bytes(data), lambda: read_records(data, name, limits=limits))


def set_mapping(mapping: ColumnMapping) -> Dataset:
    """Apply a column mapping to the current tabular dataset; raise ``SourceError`` if it fails."""
    ss = st.session_state
    previous = ss[state.DATASET_MAPPING]
    ss[state.DATASET_MAPPING] = asdict(mapping)
    try:
        return _open_dataset()
    except SourceError:
        ss[state.DATASET_MAPPING] = previous
        raise


@st.cache_data(max_entries=8, show_spinner="Summarising the dataset…")
def dataset_stats(dataset_key: str, _items: Sequence[Item]) -> tuple[DatasetSummary, list[Bin]]:
    """Return the summary and the price histogram bins of a dataset."""
    return summarize_items(_items), histogram([item.price for item in _items], log=True)


# ---- the composed split ---------------------------------------------------------------------


def current_templates() -> Templates:
    """Return the session's templates; raise ``TemplateError`` when one is malformed."""
    ss = st.session_state
    return Templates(ss[state.SYSTEM_PROMPT], ss[state.USER_TEMPLATE], ss[state.ASSISTANT_TEMPLATE])


@st.cache_resource(max_entries=16, show_spinner="Drawing the split…")
def _split(split_id: SplitId, _items: Sequence[Item]) -> Split:
    _, train, validation, seed, strategy = split_id
    chosen: Strategy = strategy  # type: ignore[assignment]
    return split_items(_items, train=train, validation=validation, seed=seed, strategy=chosen)


@st.cache_resource(max_entries=32, show_spinner="Rendering messages…")
def _column(split_id: SplitId, role: Role, template: str, _split: Split) -> tuple[str, ...]:
    templates = Templates(**{role: template})
    items = [*_split.train, *_split.validation]
    return tuple(render_column(items, templates, role))


@st.cache_resource(max_entries=4, show_spinner=False)
def tokenizer(encoding: str) -> Tokenizer:
    """Return the shared tokenizer for ``encoding`` (approximate if tiktoken cannot load)."""
    return get_tokenizer(encoding)


@st.cache_resource(max_entries=32, show_spinner="Counting tokens…")
def _counts(
    split_id: SplitId, role: Role, template: str, encoding: str, _texts: tuple[str, ...]
) -> tuple[int, ...]:
    return tuple(tokenizer(encoding).count_batch(list(_texts)))


@dataclass(frozen=True)
class Composition:
    """The session's split rendered with its templates, plus tokens per example."""

    dataset: Dataset
    split: Split
    split_id: SplitId
    templates: Templates
    users: tuple[str, ...]
    assistants: tuple[str, ...]
    tokens: list[int]
    tokenizer: Tokenizer

    @cached_property
    def table(self) -> pd.DataFrame:
        """Return the messages table of every example (train first, then validation)."""
        return messages_table(
            self.split, self.templates.system, self.users, self.assistants, self.tokens
        )

    @property
    def fingerprint(self) -> str:
        """Return a string that changes whenever the files to write would change."""
        t = self.templates
        return orjson.dumps([*self.split_id, t.system, t.user, t.assistant]).decode()


def current_composition(templates: Templates | None = None) -> Composition:
    """Return the session's composed split; raise an ``FtkitError`` the page shows in one line.

    ``templates`` replaces the session's own (Compose previews the last good ones with it).
    """
    ss = st.session_state
    dataset = current_dataset()
    available = len(dataset.loaded.items)
    if state.clamp_sizes(available):
        st.info(state.sizes_notice(available), icon=":material/straighten:")
    templates = templates or current_templates()
    split_id: SplitId = (
        dataset.key,
        int(ss[state.TRAIN_SIZE]),
        int(ss[state.VALIDATION_SIZE]),
        int(ss[state.SEED]),
        str(ss[state.STRATEGY]),
    )
    split = _split(split_id, dataset.loaded.items)
    users = _column(split_id, "user", templates.user, split)
    assistants = _column(split_id, "assistant", templates.assistant, split)
    encoding = find_model(ss[state.MODEL]).encoding
    tok = tokenizer(encoding)
    user_counts = _counts(split_id, "user", templates.user, encoding, users)
    answer_counts = _counts(split_id, "assistant", templates.assistant, encoding, assistants)
    roles = {role: tok.count(role) for role in ROLES}
    tokens = example_tokens(tok.count(templates.system), user_counts, answer_counts, roles)
    return Composition(dataset, split, split_id, templates, users, assistants, tokens, tok)


@st.cache_data(max_entries=8, show_spinner="Running the pre-flight check…")
def run_check(
    split_id: SplitId,
    templates: tuple[str, str, str],
    model: str,
    epochs: int | None,
    _split: Split,
) -> CheckReport:
    """Write the split to a temporary folder and run the pre-flight check on it."""
    with tempfile.TemporaryDirectory(prefix="ftkit-check-") as folder:
        train_path, validation_path = write_split(_split, folder, Templates(*templates))
        return check_file(train_path, validation_path=validation_path, model=model, epochs=epochs)
