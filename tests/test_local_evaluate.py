"""``evaluate --model local:DIR``: a model on this computer scored like any chat model.

Uses the tiny Llama built in code (tests/tiny_llama.py); nothing is downloaded.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import orjson
import pytest

from ftkit.cli import main
from ftkit.dataset.messages import DEFAULT_SYSTEM_PROMPT, lecture_prompt
from ftkit.errors import EvaluationError
from ftkit.evaluation.local import resolve_local
from ftkit.evaluation.local_predictor import LocalPredictor, load_local
from ftkit.evaluation.run import evaluate
from ftkit.evaluation.session import local_predictor
from ftkit.sources.load import load_items

pytestmark = pytest.mark.xdist_group("torch")

ITEMS = load_items("sample").items[:10]

LLAMA3_TEMPLATE = (  # the message loop of Llama 3.x Instruct's template
    "{{- bos_token }}{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' "
    "+ message['content'] | trim + '<|eot_id|>' }}{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"
)
QWEN_TEMPLATE = (  # the message loop of Qwen2.5 Instruct's template
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
STRICT_TEMPLATE = (  # refuses to render a conversation that ends with the assistant
    "{%- if messages[-1]['role'] == 'assistant' %}{{ raise_exception('no prefill') }}{% endif %}"
    "{%- for message in messages %}[{{ message['role'] }}] {{ message['content'] }}\n"
    "{% endfor %}{%- if add_generation_prompt %}[assistant] {% endif %}"
)


@pytest.fixture(autouse=True)
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def make_adapter(base: Path, folder: Path) -> Path:
    """Save a LoRA adapter on ``base`` (random, so it changes the answers) with its tokenizer."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(base)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"])
    config.init_lora_weights = False
    get_peft_model(model, config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(base).save_pretrained(folder)
    return folder


def test_evaluate_scores_ten_items_with_a_local_model(
    tiny_llama: Path, here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(tiny_llama, here / "tiny")
    code, out, err = cli(
        ["evaluate", "--model", "local:tiny", "--size", "10", "--batch-size", "4", "--json"], capsys
    )
    assert code == 0, err
    data = orjson.loads(out)
    assert data["model"] == "local:tiny" and data["requested"] == 10 and data["failed"] == 0
    assert len(data["items"]) == 10 and data["size"] == 10
    assert {"average_error", "rmsle", "hit_rate_pct", "unparsed"} <= set(data)
    assert data["input_tokens"] > 10 * 50 and 10 <= data["output_tokens"] <= 10 * 7
    assert "loading local:tiny (a full model)" in err
    assert "cost: local model: no API cost" in err
    saved = sorted((here / ".ftkit" / "runs").iterdir())
    assert [p.suffix for p in saved] == [".csv", ".json"]
    assert orjson.loads(saved[1].read_bytes())["model"] == "local:tiny"


def test_the_text_report_and_history_name_the_local_model(
    tiny_llama: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(
        ["evaluate", "--model", f"local:{tiny_llama}", "--size", "3", "--no-save"], capsys
    )
    assert code == 0, err
    assert out.startswith("local:") and "items 3 of 3" in out
    code, listing, _ = cli(["history", "--json"], capsys)
    runs = orjson.loads(listing)
    mine = [run for run in runs if str(run["settings"].get("model")).startswith("local:")]
    assert mine and mine[0]["settings"].get("base_url") is None


def test_an_adapter_loads_on_its_base_model(
    tiny_llama: Path, here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    adapter = make_adapter(tiny_llama, here / "lora")
    loaded = load_local(resolve_local("local:lora"), batch_size=4)
    base = load_local(resolve_local(f"local:{tiny_llama}"), batch_size=4)
    assert type(loaded.model).__name__ == "PeftModel"
    answers = [guess.answer for guess in loaded.predict_batch(ITEMS[:4])]
    assert answers != [guess.answer for guess in base.predict_batch(ITEMS[:4])]
    code, out, err = cli(
        ["evaluate", "--model", f"local:{adapter}", "--size", "10", "--json", "--no-save"], capsys
    )
    assert code == 0, err
    assert "loading local:lora (a LoRA adapter on its base model folder)" in err
    assert len(orjson.loads(out)["items"]) == 10


def test_a_run_folder_with_an_adapter(
    tiny_llama: Path, here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_adapter(tiny_llama, here / "runs" / "pricer" / "adapter")
    (here / "runs" / "pricer" / "checkpoint-5").mkdir()
    code, out, err = cli(
        ["evaluate", "--model", "local:runs/pricer", "--size", "4", "--json", "--no-save"], capsys
    )
    assert code == 0, err
    assert orjson.loads(out)["model"] == "local:runs/pricer"


def test_batching_gives_the_same_answers_as_one_at_a_time(tiny_llama: Path) -> None:
    predictor = load_local(resolve_local(f"local:{tiny_llama}"), batch_size=1)
    one = evaluate(ITEMS, predictor, model="local:tiny")
    predictor.batch_size = 4
    batched = evaluate(ITEMS, predictor, model="local:tiny")
    assert [row.answer for row in batched.rows] == [row.answer for row in one.rows]
    assert batched.input_tokens == one.input_tokens
    assert batched.output_tokens == one.output_tokens


def test_the_prompt_is_the_testers_messages_with_the_prefill_continued(tiny_llama: Path) -> None:
    predictor = load_local(resolve_local(f"local:{tiny_llama}"))
    prompt = predictor.prompt(ITEMS[0])
    expected = (
        f"<|system|>\n{DEFAULT_SYSTEM_PROMPT}</s>\n<|user|>\n{lecture_prompt(ITEMS[0])}</s>\n"
        "<|assistant|>\nPrice is $"
    )
    assert prompt == expected
    predictor.prefill = False
    assert predictor.prompt(ITEMS[0]).endswith("</s>\n<|assistant|>\n")


@pytest.mark.parametrize(
    ("template", "ending"),
    [
        (LLAMA3_TEMPLATE, "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nPrice is $"),
        (QWEN_TEMPLATE, "<|im_end|>\n<|im_start|>assistant\nPrice is $"),
        (STRICT_TEMPLATE, "\n[assistant] Price is $"),
    ],
    ids=["llama3", "qwen2.5", "no-open-assistant"],
)
def test_real_templates_end_with_the_open_prefill(
    tiny_llama: Path, template: str, ending: str
) -> None:
    predictor = load_local(resolve_local(f"local:{tiny_llama}"))
    predictor.tokenizer.chat_template = template
    prompt = predictor.prompt(ITEMS[0])
    assert prompt.endswith(ending) and prompt.count("Price is $") == 1


def without_template(tiny_llama: Path, folder: Path) -> Path:
    shutil.copytree(tiny_llama, folder)
    (folder / "chat_template.jinja").unlink(missing_ok=True)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return folder


def test_a_tokenizer_without_a_chat_template_is_one_line(
    tiny_llama: Path, here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    without_template(tiny_llama, here / "plain")
    code, out, err = cli(["evaluate", "--model", "local:plain", "--size", "3"], capsys)
    assert code == 2 and out == ""
    assert err.strip().splitlines()[-1] == (
        "ftkit: error: local:plain: the tokenizer has no chat template; train from a chat "
        "(Instruct) model, or add a chat_template to its tokenizer_config.json"
    )


def test_an_adapter_on_a_missing_base_is_one_line(
    tiny_llama: Path, here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = here / "base"
    shutil.copytree(tiny_llama, base)
    make_adapter(base, here / "lora")
    shutil.rmtree(base)
    capsys.readouterr()
    code, _, err = cli(["evaluate", "--model", "local:lora", "--size", "3"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"ftkit: error: local:lora: the adapter's base model folder {base}")


def test_broken_weights_are_one_line(here: Path, tiny_llama: Path) -> None:
    shutil.copytree(tiny_llama, here / "broken")
    (here / "broken" / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(EvaluationError) as caught:
        load_local(resolve_local("local:broken"))
    assert str(caught.value).startswith("local:broken: cannot load the model (")
    assert "\n" not in str(caught.value)


def test_without_peft_an_adapter_says_what_to_install(
    tiny_llama: Path, here: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_adapter(tiny_llama, here / "lora")
    monkeypatch.setitem(sys.modules, "peft", None)
    with pytest.raises(EvaluationError) as caught:
        load_local(resolve_local("local:lora"))
    assert str(caught.value) == (
        "local:lora: evaluating a local model needs peft, which is not installed: "
        "pip install -r requirements-train.txt"
    )


def test_hosted_sessions_load_only_from_their_workspace(tiny_llama: Path, here: Path) -> None:
    workspace = here / "users" / "ana"
    shutil.copytree(tiny_llama, workspace / "models" / "tiny")
    predictor = local_predictor("local:models/tiny", workspace=workspace, batch_size=2)
    assert isinstance(predictor, LocalPredictor) and predictor.name == "local:models/tiny"
    assert len(evaluate(ITEMS[:2], predictor, model=predictor.name).rows) == 2
    with pytest.raises(EvaluationError) as caught:
        local_predictor(f"local:{tiny_llama}", workspace=workspace)
    assert str(caught.value) == f"local:{tiny_llama}: not a folder in your workspace"


def test_hosted_errors_never_show_the_workspace_path(tiny_llama: Path, here: Path) -> None:
    workspace = here / "users" / "ana"
    shutil.copytree(tiny_llama, workspace / "broken")
    (workspace / "broken" / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(EvaluationError) as caught:
        local_predictor("local:broken", workspace=workspace)
    assert str(caught.value).startswith("local:broken: cannot load the model")
    assert str(here) not in str(caught.value)


def test_a_tokenizer_without_a_pad_token_pads_with_end_of_text(
    tiny_llama: Path, here: Path
) -> None:
    folder = shutil.copytree(tiny_llama, here / "nopad")
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config.pop("pad_token")
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    predictor = load_local(resolve_local("local:nopad"), batch_size=4)
    assert predictor.tokenizer.pad_token == predictor.tokenizer.eos_token == "</s>"
    run = evaluate(ITEMS[:4], predictor, model=predictor.name)
    assert len(run.rows) == 4 and run.stopped is None
