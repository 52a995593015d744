"""A tiny Llama built in code, for the training tests: nothing comes from the Hugging Face Hub.

``build_tiny_llama`` trains a byte-level BPE tokenizer with the ``tokenizers`` library on the
built-in sample's chat messages, gives it a small chat template, makes a randomly initialised
two-layer ``LlamaForCausalLM`` and saves both to a folder that transformers, TRL and ftkit's
``local:`` models load like any downloaded one. It takes about a second.
"""

from __future__ import annotations

import json
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}</s>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>", "<|system|>", "<|user|>", "<|assistant|>"]


def sample_texts(count: int = 300) -> list[str]:
    """Return the chat messages of the first ``count`` sample items, as JSON text."""
    from ftkit.dataset.messages import render_messages
    from ftkit.sources.load import load_items

    items = load_items("sample").items[:count]
    return [json.dumps(render_messages(item)) for item in items]


def build_tiny_llama(folder: Path, *, vocab_size: int = 600, seed: int = 0) -> Path:
    """Save a tiny Llama and its tokenizer (with a chat template) to ``folder``; return it."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    bpe = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(sample_texts(), trainer=bpe)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
    )
    fast.chat_template = CHAT_TEMPLATE
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
        tie_word_embeddings=False,
    )
    folder.mkdir(parents=True, exist_ok=True)
    LlamaForCausalLM(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


def write_sample_split(folder: Path, train: int, validation: int) -> tuple[Path, Path]:
    """Write the first ``train`` and next ``validation`` sample items as ftkit's chat JSONL."""
    from ftkit.dataset.jsonl import write_jsonl
    from ftkit.dataset.messages import render_messages
    from ftkit.sources.load import load_items

    items = load_items("sample").items[: train + validation]
    paths = folder / "train.jsonl", folder / "validation.jsonl"
    write_jsonl(paths[0], [{"messages": render_messages(item)} for item in items[:train]])
    write_jsonl(paths[1], [{"messages": render_messages(item)} for item in items[train:]])
    return paths
