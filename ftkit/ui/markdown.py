"""Text from files, endpoints and other people, shown through Streamlit's markdown as typed.

``st.error``, ``st.info``, ``st.caption``, ``st.markdown`` and button labels render markdown: a
column header ``![x](https://tracker.example/p.png)`` in an error would make every browser that
shows it fetch that image, ``[text](url)`` would show a disguised link, ``$...$`` would render
as math. ``literal`` backslash-escapes the characters that start those constructs and joins
lines, so the text appears exactly as written, on one line. Raw HTML is shown as text by
Streamlit already; ``<`` is escaped too, which also stops ``<https://...>`` autolinks. ``code``
puts a name in an inline code span, inside which nothing is markup.
"""

from __future__ import annotations

import re

__all__ = ["code", "literal"]

_SPECIAL = re.compile(r"([\\`*\[\]<>$#|~])")
_TICKS = re.compile(r"`+")


def literal(text: object) -> str:
    """Return ``text`` escaped for Streamlit's markdown, on one line."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).splitlines()))


def code(text: object) -> str:
    """Return ``text`` as an inline code span, shown as typed whatever backticks it holds."""
    line = " ".join(str(text).splitlines())
    fence = "`" * (max((len(run) for run in _TICKS.findall(line)), default=0) + 1)
    pad = " " if line.startswith("`") or line.endswith("`") else ""
    return f"{fence}{pad}{line}{pad}{fence}"
