"""Each trainer's published data rules, in one table: what its checker enforces.

Figures are from each trainer's documentation as reviewed on ``AS_OF``; ``docs/exports.md``
marks the ones that vary by model or that ftkit could not confirm. Token limits are compared
with an estimate (``CHARS_PER_TOKEN`` characters a token): other trainers' tokenizers are not
available offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "AS_OF",
    "BEDROCK_RESERVED",
    "CHARS_PER_TOKEN",
    "FORMATS",
    "RULES",
    "FormatName",
    "TrainerRules",
    "WeightSupport",
]

FormatName = Literal[
    "openai-chat", "azure-openai", "together", "fireworks", "vertex-gemini", "bedrock", "hf-chat"
]
WeightSupport = Literal["assistant", "any", "none"]

AS_OF = "2026-11-26"
CHARS_PER_TOKEN = 4
_MB = 1024 * 1024
_GB = 1024 * _MB

# Amazon Nova fails a job whose user or system prompt contains one of these.
BEDROCK_RESERVED = ("User:", "Bot:", "Assistant:", "System:", "<image>", "<video>", "[EOS]")
# OpenAI (and Azure OpenAI) reject content holding these special tokens.
OPENAI_SPECIAL = (
    "<|endoftext|>",
    "<|endofprompt|>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|im_sep|>",
)


@dataclass(frozen=True)
class TrainerRules:
    """One trainer's rules for a chat fine-tuning dataset.

    ``alternate``: after an optional leading system message, user and assistant turns must
    alternate, starting with user. ``system_first``: a system message may only come first.
    ``ends_with_assistant``: the last message must be the answer. ``max_example_tokens`` is an
    estimated count of every message's text. ``reserved``: strings a prompt must not contain.
    """

    format: FormatName
    trainer: str
    doc_url: str
    weight: WeightSupport
    min_examples: int
    max_examples: int | None = None
    max_validation_examples: int | None = None
    max_example_tokens: int | None = None
    max_file_bytes: int | None = None
    system_first: bool = False
    alternate: bool = False
    ends_with_assistant: bool = False
    reserved: tuple[str, ...] = ()
    reserved_roles: tuple[str, ...] = ("system", "user", "assistant")
    as_of: str = AS_OF


RULES: dict[FormatName, TrainerRules] = {
    rules.format: rules
    for rules in (
        TrainerRules(
            "openai-chat",
            "OpenAI",
            "https://platform.openai.com/docs/guides/supervised-fine-tuning",
            weight="assistant",
            min_examples=10,
            max_example_tokens=65_536,
            max_file_bytes=8 * _GB,
            reserved=OPENAI_SPECIAL,
        ),
        TrainerRules(
            "azure-openai",
            "Azure OpenAI",
            "https://learn.microsoft.com/azure/ai-foundry/openai/how-to/fine-tuning",
            weight="assistant",
            min_examples=10,
            max_example_tokens=65_536,
            max_file_bytes=512 * _MB,
            reserved=OPENAI_SPECIAL,
        ),
        TrainerRules(
            "together",
            "Together AI",
            "https://docs.together.ai/docs/fine-tuning/data-preparation",
            weight="any",
            min_examples=1,
            max_file_bytes=100 * _GB,
            system_first=True,
            alternate=True,
        ),
        TrainerRules(
            "fireworks",
            "Fireworks AI",
            "https://docs.fireworks.ai/fine-tuning/fine-tuning-models",
            weight="any",
            min_examples=3,
            max_examples=3_000_000,
            system_first=True,
        ),
        TrainerRules(
            "vertex-gemini",
            "Vertex AI (Gemini)",
            "https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning-prepare",
            weight="none",
            min_examples=1,
            max_examples=1_000_000,
            max_validation_examples=5_000,
            max_example_tokens=131_072,
            max_file_bytes=1 * _GB,
            system_first=True,
            alternate=True,
            ends_with_assistant=True,
        ),
        TrainerRules(
            "bedrock",
            "Amazon Bedrock (Nova)",
            "https://docs.aws.amazon.com/nova/latest/userguide/fine-tune-prepare-data-understanding.html",
            weight="none",
            min_examples=8,
            max_examples=20_000,
            max_validation_examples=1_000,
            max_example_tokens=32_000,
            system_first=True,
            alternate=True,
            ends_with_assistant=True,
            reserved=BEDROCK_RESERVED,
            reserved_roles=("system", "user"),
        ),
        TrainerRules(
            "hf-chat",
            "Hugging Face TRL (SFTTrainer)",
            "https://huggingface.co/docs/trl/dataset_formats",
            weight="none",
            min_examples=1,
        ),
    )
}

FORMATS: tuple[FormatName, ...] = tuple(RULES)
