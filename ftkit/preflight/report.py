"""The pre-flight report: a frozen value, its JSON shape and its short human summary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict

from ftkit.preflight.rules import RULES, Severity
from ftkit.preflight.tokens import TokenStats

__all__ = [
    "CheckReport",
    "FileKind",
    "Issue",
    "IssueJSON",
    "ReportJSON",
    "TokenStatsJSON",
    "format_report",
    "report_to_json",
]

FileKind = Literal["training", "validation"]


@dataclass(frozen=True)
class Issue:
    """One problem: where (file and 1-based line, 0 for the whole file), which rule, how to fix."""

    line: int
    code: str
    message: str
    fix: str
    file: FileKind = "training"

    @property
    def severity(self) -> Severity:
        """Return "error" or "warning", from the rule table."""
        return RULES[self.code].severity


@dataclass(frozen=True)
class CheckReport:
    """Everything the pre-flight check found and estimated for one training (+ validation) file.

    ``issue_counts`` holds the full count per code; ``errors`` and ``warnings`` keep at most
    ``ftkit.preflight.scan.MAX_ISSUES_PER_RULE`` issues per code and file.
    """

    path: str
    validation_path: str | None
    model: str
    encoding: str
    token_limit: int
    model_shutdown: str | None
    examples: int
    validation_examples: int
    errors: tuple[Issue, ...]
    warnings: tuple[Issue, ...]
    issue_counts: dict[FileKind, dict[str, int]]
    tokens: TokenStats
    assistant_tokens: TokenStats
    approximate: bool
    notice: str | None
    epochs: int
    epochs_source: Literal["auto", "user"]
    billed_tokens: int
    estimated_cost_usd: float | None
    inference_cost_per_1k_usd: float | None
    prices_as_of: str
    prices_source: str

    @property
    def ok(self) -> bool:
        """Return True when there are no errors (warnings do not fail the check)."""
        return not self.errors

    def count(self, severity: Severity) -> int:
        """Return how many issues of ``severity`` were found (including those not kept)."""
        return sum(
            number
            for per_code in self.issue_counts.values()
            for code, number in per_code.items()
            if RULES[code].severity == severity
        )


class IssueJSON(TypedDict):
    """One issue in ``--json`` output."""

    line: int
    code: str
    message: str
    fix: str
    file: FileKind


class TokenStatsJSON(TypedDict):
    """A token distribution in ``--json`` output."""

    total: int
    min: int
    p10: int
    median: int
    p90: int
    max: int


class ReportJSON(TypedDict):
    """The object ``validate --json`` prints."""

    ok: bool
    file: str
    validation_file: str | None
    model: str
    encoding: str
    token_limit: int
    model_shutdown: str | None
    examples: int
    validation_examples: int
    error_count: int
    warning_count: int
    errors: list[IssueJSON]
    warnings: list[IssueJSON]
    issue_counts: dict[FileKind, dict[str, int]]
    tokens: TokenStatsJSON
    assistant_tokens: TokenStatsJSON
    approximate: bool
    notice: str | None
    epochs: int
    epochs_source: str
    billed_tokens: int
    estimated_cost_usd: float | None
    inference_cost_per_1k_usd: float | None
    prices_as_of: str


def _stats_json(stats: TokenStats) -> TokenStatsJSON:
    return TokenStatsJSON(
        total=stats.total,
        min=stats.min,
        p10=stats.p10,
        median=stats.median,
        p90=stats.p90,
        max=stats.max,
    )


def _issue_json(issue: Issue) -> IssueJSON:
    return IssueJSON(
        line=issue.line, code=issue.code, message=issue.message, fix=issue.fix, file=issue.file
    )


def report_to_json(report: CheckReport) -> ReportJSON:
    """Return the report as plain JSON-ready data."""
    return ReportJSON(
        ok=report.ok,
        file=report.path,
        validation_file=report.validation_path,
        model=report.model,
        encoding=report.encoding,
        token_limit=report.token_limit,
        model_shutdown=report.model_shutdown,
        examples=report.examples,
        validation_examples=report.validation_examples,
        error_count=report.count("error"),
        warning_count=report.count("warning"),
        errors=[_issue_json(issue) for issue in report.errors],
        warnings=[_issue_json(issue) for issue in report.warnings],
        issue_counts={kind: dict(counts) for kind, counts in report.issue_counts.items()},
        tokens=_stats_json(report.tokens),
        assistant_tokens=_stats_json(report.assistant_tokens),
        approximate=report.approximate,
        notice=report.notice,
        epochs=report.epochs,
        epochs_source=report.epochs_source,
        billed_tokens=report.billed_tokens,
        estimated_cost_usd=report.estimated_cost_usd,
        inference_cost_per_1k_usd=report.inference_cost_per_1k_usd,
        prices_as_of=report.prices_as_of,
    )


def _stats_line(label: str, stats: TokenStats, approx: str) -> str:
    return (
        f"{label}{approx}: min {stats.min:,} · p10 {stats.p10:,} · median {stats.median:,} · "
        f"p90 {stats.p90:,} · max {stats.max:,} (total {stats.total:,})"
    )


SHOWN_PER_GROUP = 5  # line numbers (or lines with their own message) shown per rule


def _group_lines(issues: tuple[Issue, ...], counts: dict[FileKind, dict[str, int]]) -> list[str]:
    """Return one line per (file, rule): the count, the first lines, the message, the fix.

    A message is quoted once for the group only when every listed line has that same
    message; otherwise each listed line comes with its own message.
    """
    groups: dict[tuple[FileKind, str], list[Issue]] = {}
    for issue in issues:
        groups.setdefault((issue.file, issue.code), []).append(issue)
    lines: list[str] = []
    for (kind, code), members in groups.items():
        total = counts.get(kind, {}).get(code, len(members))
        shown = members[:SHOWN_PER_GROUP]
        more = ", …" if total > len(shown) else ""
        file = " [validation]" if kind == "validation" else ""
        if len({issue.message for issue in members}) == 1:
            where = ", ".join(str(issue.line) for issue in shown if issue.line)
            plural = "s" if total > 1 else ""
            at = f" at line{plural} {where}{more}" if where else ""
            lines.append(f"  {code}{file}: {total:,}×{at}: {members[0].message}")
        else:
            each = "; ".join(f"line {issue.line}: {issue.message}" for issue in shown)
            summary = RULES[code].summary
            lines.append(f"  {code}{file}: {total:,}× {summary}: {each}{more.replace(',', ';')}")
        lines.append(f"      fix: {members[0].fix}")
    return lines


def format_report(report: CheckReport) -> str:
    """Return the short human summary, then the problems grouped by rule with first lines."""
    approx = " (approximate)" if report.approximate else ""
    names = report.path + (f" + {report.validation_path}" if report.validation_path else "")
    shutdown = f"; fine-tuned models stop serving {report.model_shutdown}"
    out = [f"Checked {names}"] + ([f"note: {report.notice}"] if report.notice else [])
    out += [
        f"model {report.model} ({report.encoding}, limit {report.token_limit:,} tokens per "
        f"example{shutdown if report.model_shutdown else ''})",
        f"{report.examples:,} training examples"
        + (
            f", {report.validation_examples:,} validation examples"
            if report.validation_path
            else ""
        ),
        _stats_line("tokens per example", report.tokens, approx),
        _stats_line("assistant tokens", report.assistant_tokens, approx),
    ]
    if report.estimated_cost_usd is None:
        money = f"no price for {report.model} in {report.prices_source}"
    else:
        money = f"estimated training cost{approx} ${report.estimated_cost_usd:,.2f}"
    out.append(
        f"epochs {report.epochs} ({report.epochs_source}); billed tokens{approx} "
        f"{report.billed_tokens:,}; {money} (prices as of {report.prices_as_of})"
    )
    if report.inference_cost_per_1k_usd is not None:
        out.append(
            f"inference on the fine-tuned model: ~${report.inference_cost_per_1k_usd:,.2f} per "
            f"1,000 calls at median size (prices as of {report.prices_as_of})"
        )
    out.append(f"{report.count('error'):,} errors, {report.count('warning'):,} warnings")
    if report.errors:
        out += ["Errors:", *_group_lines(report.errors, report.issue_counts)]
    if report.warnings:
        out += ["Warnings:", *_group_lines(report.warnings, report.issue_counts)]
    out.append("FAILED: fix the errors before uploading" if report.errors else "OK")
    return "\n".join(out)
