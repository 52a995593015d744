"""Ask a local model for prices in this process, with transformers: the Tester's local predictor.

The prompt is the model's chat template applied to the same messages the chat Tester sends
(``ftkit.evaluation.chat.messages_for``: the system prompt, the item's lecture prompt and the
assistant prefill "Price is $", continued rather than closed). Prompts are padded on the left
and answered in batches with greedy decoding (``do_sample=False``) and at most ``max_tokens``
new tokens; the answer is read by the same ``parse_guess`` as a chat model's.

torch, transformers and (for an adapter) peft are imported only when a model is loaded; without
them loading is one line saying ``pip install -r requirements-train.txt``. On a CUDA GPU the
model loads in bf16 (fp16 where bf16 is unsupported) with ``device_map="auto"``, else on the CPU
in float32. ``HF_HUB_OFFLINE`` is left as the user set it; ``local_files_only`` keeps a Hub base
model to the local cache.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ftkit.dataset.messages import DEFAULT_SYSTEM_PROMPT
from ftkit.errors import EvaluationError
from ftkit.evaluation.chat import DEFAULT_MAX_TOKENS, MAX_ANSWER_CHARS, messages_for
from ftkit.evaluation.local import DEFAULT_BATCH_SIZE, LocalModel
from ftkit.evaluation.predictors import Guess
from ftkit.evaluation.scoring import parse_guess
from ftkit.items import PRICE_PREFIX, Item

__all__ = ["INSTALL", "LocalPredictor", "load_local"]

INSTALL = "pip install -r requirements-train.txt"
NO_TEMPLATE = (
    "the tokenizer has no chat template; train from a chat (Instruct) model, or add a "
    "chat_template to its tokenizer_config.json"
)


def _first_line(err: BaseException) -> str:
    """Return the first line of ``err``'s message, at most 300 characters."""
    lines = str(err).strip().splitlines()
    return (lines[0] if lines else type(err).__name__)[:300]


@dataclass
class LocalPredictor:
    """Guess prices with a loaded local model; ask it ``batch_size`` items at a time."""

    name: str
    model: Any = field(repr=False)  # a transformers (or PEFT) causal LM, ready to ``generate``
    tokenizer: Any = field(repr=False)  # its tokenizer, padding on the left
    batch_size: int = DEFAULT_BATCH_SIZE
    max_tokens: int = DEFAULT_MAX_TOKENS
    system: str = DEFAULT_SYSTEM_PROMPT
    prefill: bool = True

    def prompt(self, item: Item) -> str:
        """Return the text the model continues: the chat template over the Tester's messages."""
        render = self.tokenizer.apply_chat_template
        if not self.prefill:
            messages = messages_for(item, system=self.system, prefill=False)
            return str(render(messages, tokenize=False, add_generation_prompt=True))
        try:
            messages = messages_for(item, system=self.system)
            return str(render(messages, tokenize=False, continue_final_message=True))
        except Exception:  # a template that cannot end on an open assistant message
            messages = messages_for(item, system=self.system, prefill=False)
            opened = render(messages, tokenize=False, add_generation_prompt=True)
            return str(opened) + PRICE_PREFIX

    def __call__(self, item: Item) -> Guess:
        return self.predict_batch([item])[0]

    def predict_batch(self, items: Sequence[Item]) -> list[Guess]:
        """Return one guess per item, in order; raise ``EvaluationError`` if generation fails."""
        try:
            prompts = [self.prompt(item) for item in items]
        except Exception as err:
            raise EvaluationError(
                f"{self.name}: the chat template cannot render the lecture's messages "
                f"({_first_line(err)})"
            ) from None
        try:
            return self._generate(prompts)
        except Exception as err:  # out of memory, a bad shape, a broken model: stop with one line
            raise EvaluationError(f"{self.name}: generation failed: {_first_line(err)}") from None

    def _generate(self, prompts: list[str]) -> list[Guess]:
        import torch

        batch = self.tokenizer(
            prompts, return_tensors="pt", padding=True, add_special_tokens=False
        ).to(self.model.device)
        with torch.inference_mode():
            output = self.model.generate(
                **batch,
                do_sample=False,
                max_new_tokens=self.max_tokens,
                pad_token_id=self.tokenizer.pad_token_id,
                temperature=None,
                top_p=None,
                top_k=None,
            )
        new = output[:, batch["input_ids"].shape[1] :].tolist()
        sent = batch["attention_mask"].sum(dim=1).tolist()
        stops = _stop_ids(self.model, self.tokenizer)
        return [
            self._guess(tokens, int(count), stops) for tokens, count in zip(new, sent, strict=True)
        ]

    def _guess(self, tokens: list[int], input_tokens: int, stops: set[int]) -> Guess:
        end = next((i + 1 for i, token in enumerate(tokens) if token in stops), len(tokens))
        answer = self.tokenizer.decode(tokens[:end], skip_special_tokens=True)[:MAX_ANSWER_CHARS]
        return Guess(parse_guess(answer), answer, input_tokens=input_tokens, output_tokens=end)


def _stop_ids(model: Any, tokenizer: Any) -> set[int]:
    """Return the token ids that end an answer: the model's and the tokenizer's end of text."""
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids = configured if isinstance(configured, list) else [configured]
    return {int(i) for i in [*ids, tokenizer.eos_token_id] if isinstance(i, int)}


def _imports(name: str, *, adapter: bool) -> None:
    """Import what loading needs; raise one line naming what is missing and how to install it."""
    packages = ["torch", "transformers", *(["peft"] if adapter else [])]
    for package in packages:
        try:
            importlib.import_module(package)
        except ImportError:
            raise EvaluationError(
                f"{name}: evaluating a local model needs {package}, which is not installed: "
                f"{INSTALL}"
            ) from None


def _placement() -> dict[str, Any]:
    """Return how to place the model: bf16/fp16 across GPUs on CUDA, float32 on the CPU."""
    import torch

    if torch.cuda.is_available():
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return {"dtype": dtype, "device_map": "auto"}
    return {"dtype": torch.float32}


def _tokenizer(resolved: LocalModel, local_files_only: bool) -> Any:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(
            resolved.tokenizer, trust_remote_code=False, local_files_only=local_files_only
        )
    except Exception as err:  # transformers raises many kinds on a bad or missing folder
        raise EvaluationError(
            f"{resolved.name}: cannot load the tokenizer ({_first_line(err)})"
        ) from None
    if not getattr(tokenizer, "chat_template", None):
        raise EvaluationError(f"{resolved.name}: {NO_TEMPLATE}")
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise EvaluationError(f"{resolved.name}: the tokenizer has no pad or end-of-text token")
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    return tokenizer


def _model(resolved: LocalModel, local_files_only: bool) -> Any:
    from transformers import AutoModelForCausalLM

    what = "the base model" if resolved.adapter else "the model"
    try:
        model: Any = AutoModelForCausalLM.from_pretrained(
            resolved.model,
            trust_remote_code=False,
            local_files_only=local_files_only,
            **_placement(),
        )
    except Exception as err:
        raise EvaluationError(f"{resolved.name}: cannot load {what} ({_first_line(err)})") from None
    if resolved.adapter is not None:
        from peft import PeftModel

        try:
            model = PeftModel.from_pretrained(model, resolved.adapter, is_trainable=False)
        except Exception as err:
            raise EvaluationError(
                f"{resolved.name}: cannot load the adapter ({_first_line(err)})"
            ) from None
    model.eval()
    return model


def load_local(
    resolved: LocalModel,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    prefill: bool = True,
    local_files_only: bool = False,
) -> LocalPredictor:
    """Load ``resolved`` once (tokenizer first, then the model and any adapter); return it ready.

    Raises ``EvaluationError`` (one line naming the model) when a package is missing, the
    tokenizer has no chat template, or a folder cannot be loaded.
    """
    _imports(resolved.name, adapter=resolved.adapter is not None)
    tokenizer = _tokenizer(resolved, local_files_only)
    model = _model(resolved, local_files_only)
    return LocalPredictor(
        name=resolved.name,
        model=model,
        tokenizer=tokenizer,
        batch_size=max(int(batch_size), 1),
        max_tokens=max(int(max_tokens), 1),
        prefill=prefill,
    )
