"""Message templates: which fields and format specs a template may use, checked in one place.

A template takes only the documented ``FIELDS``, each with a plain, bounded format spec; the
CLI, the dashboard and hosted mode all go through ``check_template`` (via ``Templates``).
"""

from __future__ import annotations

import re
import string

from ftkit.errors import TemplateError

__all__ = [
    "FIELDS",
    "MAX_FIELDS",
    "MAX_TEMPLATE_CHARS",
    "MAX_WIDTH",
    "check_template",
    "template_fields",
]

FIELDS: dict[str, str] = {
    "lecture_prompt": "the lecture's user message: test_prompt() without the price line",
    "test_prompt": "the prompt up to and including 'Price is $'",
    "text": "the description part of the prompt",
    "title": "the item's title",
    "category": "the item's category",
    "details": "the item's details text",
    "price": "the price in dollars (a number: use {price:.2f})",
    "prompt": "the full training prompt, including the price",
}
MAX_WIDTH = 1_000  # the largest width or precision in a format spec
MAX_FIELDS = 20
MAX_TEMPLATE_CHARS = 10_000
_SAMPLE_VALUES: dict[str, object] = {"price": 26.0}  # the other fields are text
# The format mini-language: [[fill]align][sign]["z"]["#"]["0"][width][grouping]["." precision][type]
_SPEC = re.compile(
    r"(?:.?[<>=^])?[-+ ]?z?#?0?(?P<width>\d*)[_,]?(?:\.(?P<precision>\d+))?[bcdeEfFgGnosxX%]?",
    re.DOTALL | re.ASCII,  # ASCII digits only: no width written in other scripts' digits
)


def check_template(template: str, name: str) -> None:
    """Raise ``TemplateError`` naming the ``name`` template unless it is a safe template.

    Safe: some text, at most ``MAX_TEMPLATE_CHARS`` characters and ``MAX_FIELDS`` fields, each
    field one of ``FIELDS`` with no attribute, index or conversion, and a plain format spec
    (fill, align, sign, width, grouping, precision, type) with width and precision at most
    ``MAX_WIDTH`` that suits the field's value.
    """
    if not template.strip():
        raise TemplateError(f"{name} template: is empty")
    if len(template) > MAX_TEMPLATE_CHARS:
        raise TemplateError(f"{name} template: longer than {MAX_TEMPLATE_CHARS:,} characters")
    fields = _parse(template, name)
    if len(fields) > MAX_FIELDS:
        raise TemplateError(f"{name} template: {len(fields):,} fields; at most {MAX_FIELDS}")
    for field, conversion, spec in fields:
        problem = _field_problem(field, conversion, spec)
        if problem is not None:
            raise TemplateError(f"{name} template: {problem}")


def _parse(template: str, name: str) -> list[tuple[str, str | None, str]]:
    """Return (field, conversion, spec) of each replacement field in ``template``."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as err:
        raise TemplateError(
            f"{name} template: {err} (write {{{{ and }}}} for literal braces)"
        ) from None
    return [
        (field, conversion, spec or "")
        for _, field, spec, conversion in parsed
        if field is not None
    ]


def _shown(field: str, conversion: str | None, spec: str) -> str:
    """Return the field as written, shortened to a readable length."""
    text = field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)  # one line
    return "{" + (text if len(text) <= 40 else text[:40] + "…") + "}"


def _field_problem(field: str, conversion: str | None, spec: str) -> str | None:
    """Return what is wrong with one replacement field, or None if it is allowed."""
    shown = _shown(field, conversion, spec)
    known = ", ".join(FIELDS)
    base = field.split(".")[0].split("[")[0]
    if not field:
        return f"{shown} needs a field name; available: {known}"
    if base not in FIELDS:
        return f"unknown field {_shown(base, None, '')}; available: {known}"
    if "." in field or "[" in field:
        return f"{shown}: only plain fields are allowed, such as {{{base}}}"
    if conversion is not None:
        return f"{shown}: conversions (!r, !s, !a) are not allowed; write {{{base}}}"
    if "{" in spec or "}" in spec:
        return f"{shown}: a format spec cannot hold another field"
    match = _SPEC.fullmatch(spec)
    if match is None:
        return f"{shown}: not a plain format spec such as {{price:.2f}} or {{title:>20}}"
    for part in ("width", "precision"):
        digits = match[part] or "0"
        if len(digits) > len(str(MAX_WIDTH)) or int(digits) > MAX_WIDTH:
            return f"{shown}: the {part} is over {MAX_WIDTH:,}"
    try:
        format(_SAMPLE_VALUES.get(base, "text"), spec)
    except ValueError as err:
        return f"{shown}: {err}"
    return None


def template_fields(template: str, name: str) -> list[str]:
    """Return the field names ``template`` uses; raise ``TemplateError`` if it cannot be parsed."""
    return [field.split(".")[0].split("[")[0] for field, _, _ in _parse(template, name)]
