"""One loopback server for the whole lecture journey: fake OpenAI files and jobs, plus chat.

``serve_journey()`` starts ``FakeOpenAI`` (files, uploads, fine-tuning jobs) and answers
``POST /v1/chat/completions`` on the same port with ``FakeChat``, so the dashboard can upload,
train and evaluate against one ``OPENAI_BASE_URL``. Each answer is a price derived from the
question, so evaluation charts look like a real, imperfect model.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from tests.fake_chat import Action, FakeChat, user_text
from tests.fake_openai import KEY, FakeOpenAI, _Handler

__all__ = ["KEY", "price_answer", "serve_journey"]


def price_answer(body: dict[str, Any], attempt: int) -> Action:
    """Answer with a price between $20 and $520 that depends only on the question."""
    guess = 20 + zlib.crc32(user_text(body).encode()) % 50_000 / 100
    return ("answer", f"{guess:.2f}")


class _JourneyHandler(_Handler):
    """The fake OpenAI's handler, with chat completions answered by the server's ``chat``."""

    def do_POST(self) -> None:
        if urlsplit(self.path).path.endswith("/chat/completions"):
            self.server.chat.handle(self)  # type: ignore[attr-defined]
        else:
            super().do_POST()


@contextmanager
def serve_journey() -> Iterator[tuple[FakeOpenAI, FakeChat]]:
    """Run the fake on 127.0.0.1; yield it (its ``url`` is the /v1 base URL) and its chat record."""
    fake = FakeOpenAI()
    chat = FakeChat(price_answer)
    fake.server.chat = chat  # type: ignore[attr-defined]
    fake.server.RequestHandlerClass = _JourneyHandler
    fake.process_after = 1
    fake.steps = 3
    try:
        yield fake, chat
    finally:
        fake.stop()
