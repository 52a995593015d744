"""The pre-flight check: every rule, token counts and the cost estimate, before upload.

``check_file`` reads a training file (and optionally a validation file) line by line, checks
each line in a tight loop, and counts tokens in large de-duplicated batches on a worker thread
(tiktoken's batch encoder releases the GIL and uses ``num_threads`` cores) while the next batch
is parsed. Memory stays bounded by the batch size, plus one small key per example for the
duplicate checks (a 64-bit hash of the example's compact JSON).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from ftkit.errors import CheckError
from ftkit.preflight.cost import (
    DEFAULT_EPOCHS,
    PriceTable,
    billed_tokens,
    default_epochs,
    estimate_inference_cost,
    estimate_training_cost,
    load_prices,
)
from ftkit.preflight.report import CheckReport, FileKind, Issue, format_report, report_to_json
from ftkit.preflight.rules import RULES, check_example, classify_bad_line, find_price_leak
from ftkit.preflight.tokens import (
    REPLY_PRIMING,
    TOKENS_PER_MESSAGE,
    TOKENS_PER_NAME,
    Tokenizer,
    content_texts,
    extra_texts,
    get_tokenizer,
    summarize,
)
from ftkit.sources.sniff import require_regular_file
from ftkit.training.models import DEFAULT_MODEL, find_model

__all__ = [
    "MAX_ISSUES_PER_RULE",
    "MIN_EXAMPLES",
    "CheckReport",
    "Issue",
    "check_file",
    "format_report",
    "report_to_json",
    "scan_file",
]

MIN_EXAMPLES = 10
MAX_ISSUES_PER_RULE = 1000
UPLOADS_API_BYTES = 512 * 1024 * 1024
MAX_FILE_BYTES = 8 * 1024 * 1024 * 1024
BATCH_TEXTS = 40_000
CHUNK_BYTES = 1 << 24
MAX_LINE_BYTES = 64 * 1024 * 1024  # one example; OpenAI's token limit is far below this
LONG_LINE = b"\x00too long"  # stands for a skipped line (no JSON line can start with NUL)
SHORT_TEXT = 512  # texts this short (system prompts, answers) keep their counts across batches

# (line, fixed tokens, slots of texts to count, fixed assistant tokens, assistant slots)
_Record = tuple[int, int, list[int], int, list[int]]


@dataclass
class _Scan:
    """What scanning one file found (mutable while the scan runs)."""

    kind: FileKind
    examples: int = 0
    totals: list[int] = field(default_factory=list)
    assistant: list[int] = field(default_factory=list)
    keys: dict[int, int] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, line: int, code: str, message: str) -> None:
        """Record an issue; keep the first ``MAX_ISSUES_PER_RULE`` per code, count them all."""
        self.counts[code] += 1
        if self.counts[code] <= MAX_ISSUES_PER_RULE:
            self.issues.append(Issue(line, code, message, RULES[code].fix, self.kind))


class _TokenBatcher:
    """Collects texts of valid examples, counts each unique text once per batch, off-thread."""

    def __init__(
        self,
        scan: _Scan,
        tokenizer: Tokenizer,
        pool: ThreadPoolExecutor,
        *,
        limit: int,
        num_threads: int,
    ) -> None:
        self.scan, self.tokenizer, self.pool = scan, tokenizer, pool
        self.limit, self.num_threads = limit, num_threads
        self.known: dict[str, int] = {}
        self.role_tokens = {role: tokenizer.count(role) for role in ("system", "user", "assistant")}
        self.pending: list[str] = []
        self.index: dict[str, int] = {}
        self.records: list[_Record] = []
        self.in_flight: tuple[Future[list[int]], list[_Record], list[str]] | None = None

    def _slot(self, text: str) -> int:
        slot = self.index.get(text)
        if slot is None:
            slot = self.index[text] = len(self.pending)
            self.pending.append(text)
        return slot

    def add(self, line: int, messages: list[dict[str, Any]]) -> None:
        """Queue one valid example's texts by OpenAI's recipe (see ``ftkit.preflight.tokens``)."""
        fixed, slots, assistant_fixed, assistant_slots = REPLY_PRIMING, [], 0, []
        known, role_tokens = self.known, self.role_tokens
        for message in messages:
            role = message["role"]
            is_assistant = role == "assistant"
            fixed += TOKENS_PER_MESSAGE + (role_tokens.get(role) or self.tokenizer.count(role))
            content = message.get("content")
            texts = [content] if type(content) is str else content_texts(content)
            for text in texts:
                count = known.get(text) if len(text) <= SHORT_TEXT else None
                if count is None:
                    slot = self._slot(text)
                    slots.append(slot)
                    if is_assistant:
                        assistant_slots.append(slot)
                else:
                    fixed += count
                    assistant_fixed += count if is_assistant else 0
            if len(message) > 2:
                fixed += TOKENS_PER_NAME if "name" in message else 0
                slots += [self._slot(text) for text in extra_texts(message)]
        self.records.append((line, fixed, slots, assistant_fixed, assistant_slots))
        if len(self.pending) >= BATCH_TEXTS:
            self.submit()

    def submit(self) -> None:
        """Send the current batch to the worker; finish the previous batch meanwhile."""
        previous = self.in_flight
        future = self.pool.submit(
            self.tokenizer.count_batch, self.pending, num_threads=self.num_threads
        )
        self.in_flight = (future, self.records, self.pending)
        self.pending, self.index, self.records = [], {}, []
        if previous is not None:
            self._finish(*previous)

    def close(self) -> None:
        """Count whatever is still queued and wait for it."""
        if self.records or self.pending:
            self.submit()
        if self.in_flight is not None:
            self._finish(*self.in_flight)
            self.in_flight = None

    def _finish(self, future: Future[list[int]], records: list[_Record], texts: list[str]) -> None:
        counts = future.result()
        scan, limit, get = self.scan, self.limit, counts.__getitem__
        for line, fixed, slots, assistant_fixed, assistant_slots in records:
            total = fixed + sum(map(get, slots))
            answer = assistant_fixed + sum(map(get, assistant_slots))
            scan.totals.append(total)
            scan.assistant.append(answer)
            if total > limit:
                if total - answer >= limit:
                    scan.add(line, "example.too_long", f"prompt is {total - answer:,} tokens")
                else:
                    scan.add(line, "warn.truncated", f"{total:,} tokens > limit {limit:,}")
        if len(self.known) < 1_000_000:
            for text, count in zip(texts, counts, strict=True):
                if len(text) <= SHORT_TEXT:
                    self.known[text] = count


def _numbered_lines(handle: BinaryIO, path: Path, size: int) -> Iterator[tuple[int, bytes]]:
    """Yield (1-based number, line bytes) for each line; a final newline ends the last line.

    Reads at most ``size`` bytes (the size when the file was opened), and yields a line longer
    than ``MAX_LINE_BYTES`` as ``b""`` plus ``LONG_LINE`` without keeping it in memory.
    """
    carry, number, left, skipping = b"", 0, size, False
    while left > 0:
        try:
            chunk = handle.read(min(CHUNK_BYTES, left))
        except OSError as err:
            raise CheckError(f"{path}: cannot read ({err.strerror or err})") from None
        if not chunk:
            break
        left -= len(chunk)
        lines = (carry + chunk).split(b"\n")
        carry = lines.pop()
        for line in lines:
            number += 1
            yield number, LONG_LINE if skipping else line
            skipping = False
        if len(carry) > MAX_LINE_BYTES:
            carry, skipping = b"", True
    if carry or skipping:
        yield number + 1, LONG_LINE if skipping else carry


def _check_line(
    scan: _Scan, batcher: _TokenBatcher, line: int, raw: bytes, train_keys: dict[int, int] | None
) -> None:
    """Apply every per-line rule to one line and queue a valid example for counting."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        scan.add(line, *classify_bad_line(raw, err))
        return
    problems = check_example(obj)
    for code, text in problems:
        scan.add(line, code, text)
    if problems:
        return
    messages: list[dict[str, Any]] = obj["messages"]
    key = hash(orjson.dumps(messages))
    first = scan.keys.setdefault(key, line)
    if first != line:
        scan.add(line, "warn.duplicate", f"same example as line {first}")
    if train_keys is not None and key in train_keys:
        scan.add(line, "warn.shared_with_validation", f"same as training line {train_keys[key]}")
    prompts = [m["content"] for m in messages if m["role"] == "user" and type(m["content"]) is str]
    for message in messages:
        if message["role"] == "assistant" and type(content := message.get("content")) is str:
            leak = find_price_leak(content, prompts)
            if leak is not None:
                scan.add(line, "warn.price_leak", f"the prompt contains {leak!r}")
                break
    batcher.add(line, messages)


def scan_file(
    path: str | os.PathLike[str],
    *,
    kind: FileKind,
    tokenizer: Tokenizer,
    limit: int,
    train_keys: dict[int, int] | None = None,
    num_threads: int = 2,
) -> _Scan:
    """Check one JSONL file line by line; raise ``CheckError`` if it cannot be read at all."""
    source = require_regular_file(path, error=CheckError)
    try:
        handle = source.open("rb")
        size = os.fstat(handle.fileno()).st_size
    except OSError as err:
        raise CheckError(f"{source}: cannot read ({err.strerror or err})") from None
    scan = _Scan(kind)
    if size > MAX_FILE_BYTES:
        handle.close()
        scan.add(0, "file.too_large", f"file is {size / 1e9:,.1f} GB; not read")
        return scan
    if size > UPLOADS_API_BYTES:
        scan.add(0, "file.needs_uploads_api", f"file is {size / 1e6:,.0f} MB")
    with handle, ThreadPoolExecutor(1, thread_name_prefix="ftkit-tokens") as pool:
        batcher = _TokenBatcher(scan, tokenizer, pool, limit=limit, num_threads=num_threads)
        for line, raw in _numbered_lines(handle, source, size):
            if raw is LONG_LINE:
                scan.examples += 1
                scan.add(line, "line.too_long", f"over {MAX_LINE_BYTES // 2**20} MB; not read")
                continue
            if not raw or raw.isspace():
                scan.add(line, "line.blank", "blank line")
                continue
            scan.examples += 1
            _check_line(scan, batcher, line, raw, train_keys)
        batcher.close()
    if kind == "training" and scan.examples < MIN_EXAMPLES:
        scan.add(0, "file.too_few", f"{scan.examples} examples; at least {MIN_EXAMPLES} needed")
    return scan


def check_file(
    path: str | os.PathLike[str],
    *,
    validation_path: str | os.PathLike[str] | None = None,
    model: str = DEFAULT_MODEL,
    epochs: int | None = DEFAULT_EPOCHS,
    prices: PriceTable | None = None,
    tokenizer: Tokenizer | None = None,
    num_threads: int = 2,
) -> CheckReport:
    """Check a training file (and validation file) for ``model``; return the full report.

    ``epochs`` defaults to ``DEFAULT_EPOCHS`` (what a job gets by default); ``None`` applies
    OpenAI's "auto" rule. Raises ``CheckError`` when a file cannot be
    read, ``ModelError`` for an unknown model and ``PriceTableError`` for a bad price table.
    """
    spec = find_model(model)
    table = prices if prices is not None else load_prices()
    tok = tokenizer if tokenizer is not None else get_tokenizer(spec.encoding)
    limit = spec.token_limit
    train = scan_file(path, kind="training", tokenizer=tok, limit=limit, num_threads=num_threads)
    val = None
    if validation_path is not None:
        val = scan_file(
            validation_path,
            kind="validation",
            tokenizer=tok,
            limit=limit,
            train_keys=train.keys,
            num_threads=num_threads,
        )
    issues = sorted(train.issues + (val.issues if val else []), key=lambda i: (i.file, i.line))
    n_epochs = epochs if epochs is not None else default_epochs(train.examples)
    billed = billed_tokens(train.totals, epochs=n_epochs, limit=spec.token_limit)
    tokens, answers = summarize(train.totals), summarize(train.assistant)
    model_prices = table.models.get(spec.name)
    cost = per_1k = None
    if model_prices is not None:
        cost = round(estimate_training_cost(billed, model_prices), 4)
        per_call = estimate_inference_cost(
            tokens.median - answers.median, answers.median, model_prices
        )
        per_1k = round(per_call * 1000, 4)
    counts: dict[FileKind, dict[str, int]] = {"training": dict(train.counts)}
    if val is not None:
        counts["validation"] = dict(val.counts)
    return CheckReport(
        path=str(path),
        validation_path=None if validation_path is None else str(validation_path),
        model=spec.name,
        encoding=spec.encoding,
        token_limit=spec.token_limit,
        model_shutdown=spec.shutdown,
        examples=train.examples,
        validation_examples=val.examples if val else 0,
        errors=tuple(i for i in issues if i.severity == "error"),
        warnings=tuple(i for i in issues if i.severity == "warning"),
        issue_counts=counts,
        tokens=tokens,
        assistant_tokens=answers,
        approximate=tok.approximate,
        notice=tok.notice,
        epochs=n_epochs,
        epochs_source="auto" if epochs is None else "user",
        billed_tokens=billed,
        estimated_cost_usd=cost,
        inference_cost_per_1k_usd=per_1k,
        prices_as_of=table.as_of,
        prices_source=table.source,
    )
