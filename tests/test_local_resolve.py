"""``local:DIR``: which folder is the model, the adapter and the tokenizer; bad folders in one line.

None of these tests needs torch, and resolving never imports it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ftkit import history
from ftkit.dataset.sampling import SplitSettings
from ftkit.errors import EvaluationError
from ftkit.evaluation.local import LocalModel, is_local, resolve_local
from ftkit.evaluation.predictors import Guess
from ftkit.evaluation.run import evaluate
from ftkit.evaluation.session import record_evaluation, workers_for
from ftkit.history import list_runs, open_store
from ftkit.history.recorder import store_recorder
from ftkit.items import Item
from ftkit.providers import ProviderSettings

ROOT = Path(__file__).resolve().parent.parent


def model_folder(folder: Path, *, tokenizer: bool = True) -> Path:
    """Write the files that make ``folder`` look like a full model (and its tokenizer)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text('{"model_type": "llama"}')
    if tokenizer:
        (folder / "tokenizer_config.json").write_text("{}")
    return folder


def adapter_folder(folder: Path, base: str, *, tokenizer: bool = True) -> Path:
    """Write the files that make ``folder`` look like a PEFT adapter on ``base``."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {"peft_type": "LORA", "base_model_name_or_path": base}
    (folder / "adapter_config.json").write_text(json.dumps(config))
    if tokenizer:
        (folder / "tokenizer_config.json").write_text("{}")
    return folder


@pytest.fixture(autouse=True)
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_local_names_are_recognised() -> None:
    assert is_local("local:runs/pricer") and is_local("  local:x")
    assert not is_local("gpt-4o-mini") and not is_local("ft:gpt-4o-mini:org::abc")


def test_a_local_model_is_asked_on_one_worker() -> None:
    assert workers_for("local:runs/pricer", 8) == 1
    assert workers_for("gpt-4o-mini", 8) == 8


def test_a_local_run_is_recorded_without_an_endpoint(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'history.db'}")
    try:
        items = [Item(f"Widget {i}", 10.0 * (i + 1)) for i in range(3)]
        result = evaluate(items, lambda item: Guess(12.0, "12.00"), model="local:runs/pricer")
        fields = {
            "source": "sample",
            "dataset_hash": "sha256:" + "0" * 64,
            "split": SplitSettings(),
        }
        provider = ProviderSettings(api_key="k", base_url="http://127.0.0.1:9/v1")
        record_evaluation(
            result,
            provider=provider,
            size=3,
            workers=8,
            fields=fields,
            record=store_recorder(store, "ana"),
        )
        (run,) = list_runs("evaluate", store=store)
        assert run.settings["model"] == "local:runs/pricer"
        assert run.settings.get("base_url") is None and run.settings["workers"] == 1
    finally:
        history.close_all()


def test_a_model_folder(tmp_path: Path) -> None:
    model_folder(tmp_path / "tiny")
    resolved = resolve_local("local:tiny")
    assert resolved == LocalModel(
        "local:tiny", str(tmp_path / "tiny"), None, str(tmp_path / "tiny"), False
    )


def test_a_run_folder_prefers_merged_over_the_adapter(tmp_path: Path) -> None:
    model_folder(tmp_path / "run" / "merged")
    adapter_folder(tmp_path / "run" / "adapter", str(model_folder(tmp_path / "base")))
    resolved = resolve_local("local:run")
    assert resolved.model == str(tmp_path / "run" / "merged") and resolved.adapter is None
    assert resolved.tokenizer == str(tmp_path / "run" / "merged")


def test_a_merged_folder_without_a_tokenizer_uses_the_adapters(tmp_path: Path) -> None:
    model_folder(tmp_path / "run" / "merged", tokenizer=False)
    adapter_folder(tmp_path / "run" / "adapter", "org/base")
    assert resolve_local("local:run").tokenizer == str(tmp_path / "run" / "adapter")


def test_a_run_folder_with_only_an_adapter(tmp_path: Path) -> None:
    base = model_folder(tmp_path / "base")
    adapter_folder(tmp_path / "run" / "adapter", str(base))
    resolved = resolve_local("local:run")
    assert resolved.model == str(base) and not resolved.hub_base
    assert resolved.adapter == resolved.tokenizer == str(tmp_path / "run" / "adapter")
    assert resolved.name == "local:run"


def test_an_adapter_on_a_hub_model_without_its_own_tokenizer(tmp_path: Path) -> None:
    adapter_folder(tmp_path / "lora", "Qwen/Qwen2.5-0.5B-Instruct", tokenizer=False)
    resolved = resolve_local("local:lora")
    assert resolved.hub_base and resolved.model == "Qwen/Qwen2.5-0.5B-Instruct"
    assert resolved.tokenizer == "Qwen/Qwen2.5-0.5B-Instruct"
    assert "a LoRA adapter on Qwen/Qwen2.5-0.5B-Instruct" in resolved.describe()


def test_home_is_expanded_and_shown_as_tilde(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(model_folder(tmp_path / "elsewhere"))
    model_folder(home / "models" / "tiny")
    resolved = resolve_local("local:~/models/tiny")
    assert resolved.name == "local:~/models/tiny"
    assert resolved.model == str(home / "models" / "tiny")


def test_an_absolute_folder_under_here_is_named_relative(tmp_path: Path) -> None:
    model_folder(tmp_path / "runs" / "a")
    assert resolve_local(f"local:{tmp_path}/runs/a/").name == "local:runs/a"


def one_line(model: str, **kwargs: Path) -> str:
    with pytest.raises(EvaluationError) as caught:
        resolve_local(model, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        ("missing", "local:gone: no such folder; expected a run folder"),
        ("empty", "local:empty: expected a run folder (with merged/ or adapter/), a PEFT adapter"),
        ("file", "local:file.bin: is a file, not a folder"),
        ("no base", "local:lora: adapter_config.json names no base_model_name_or_path"),
        ("bad json", "local:lora: adapter_config.json is not readable JSON"),
        ("base gone", "local:lora: the adapter's base model folder"),
        ("nothing", "local:: name a folder after it"),
    ],
    ids=["missing", "empty", "file", "no-base", "bad-json", "base-gone", "nothing"],
)
def test_a_bad_folder_is_one_line_naming_it(tmp_path: Path, make: str, expected: str) -> None:
    model = {"missing": "local:gone", "empty": "local:empty", "file": "local:file.bin"}.get(
        make, "local:lora"
    )
    if make == "empty":
        (tmp_path / "empty").mkdir()
    elif make == "file":
        (tmp_path / "file.bin").write_bytes(b"x")
    elif make == "no base":
        (tmp_path / "lora").mkdir()
        (tmp_path / "lora" / "adapter_config.json").write_text('{"peft_type": "LORA"}')
    elif make == "bad json":
        (tmp_path / "lora").mkdir()
        (tmp_path / "lora" / "adapter_config.json").write_text("{not json")
    elif make == "base gone":
        adapter_folder(tmp_path / "lora", str(tmp_path / "deleted-base"))
    elif make == "nothing":
        model = "local:"
    assert expected in one_line(model)


def test_a_missing_base_names_the_base(tmp_path: Path) -> None:
    adapter_folder(tmp_path / "lora", str(tmp_path / "deleted-base"))
    assert str(tmp_path / "deleted-base") in one_line("local:lora")


class TestHosted:
    """In hosted mode ``local:`` names a folder inside the session's workspace, nothing else."""

    @pytest.fixture
    def workspace(self, tmp_path: Path) -> Path:
        folder = tmp_path / "users" / "ana"
        folder.mkdir(parents=True)
        return folder

    def test_a_folder_in_the_workspace(self, workspace: Path) -> None:
        model_folder(workspace / "runs" / "pricer" / "merged")
        resolved = resolve_local("local:runs/pricer", workspace=workspace)
        assert resolved.name == "local:runs/pricer"
        assert resolved.model == str((workspace / "runs" / "pricer" / "merged").resolve())

    @pytest.mark.parametrize(
        "typed",
        ["/etc", "~/models", "../other", "runs/../../other", "C:\\models"],
        ids=["absolute", "home", "parent", "climbs-out", "windows"],
    )
    def test_paths_outside_are_refused(self, workspace: Path, typed: str) -> None:
        model_folder(workspace.parent / "other")
        message = one_line(f"local:{typed}", workspace=workspace)
        assert message == f"local:{typed}: not a folder in your workspace"

    def test_a_symlink_out_is_refused(self, workspace: Path, tmp_path: Path) -> None:
        (workspace / "link").symlink_to(model_folder(tmp_path / "server-model"))
        assert one_line("local:link", workspace=workspace).endswith(
            "not a folder in your workspace"
        )

    def test_a_merged_folder_leading_out_is_refused(self, workspace: Path, tmp_path: Path) -> None:
        (workspace / "run").mkdir()
        (workspace / "run" / "merged").symlink_to(model_folder(tmp_path / "server-model"))
        message = one_line("local:run", workspace=workspace)
        assert message == "local:run: it leads out of your workspace"
        assert str(tmp_path) not in message

    def test_an_adapter_on_a_server_folder_is_refused(
        self, workspace: Path, tmp_path: Path
    ) -> None:
        adapter_folder(workspace / "lora", str(model_folder(tmp_path / "server-base")))
        message = one_line("local:lora", workspace=workspace)
        assert "base model is neither a folder in your workspace nor a Hugging Face Hub id" in (
            message
        )
        assert str(tmp_path) not in message

    def test_an_adapter_on_a_hub_model_or_a_workspace_folder(self, workspace: Path) -> None:
        adapter_folder(workspace / "lora", "org/base-model")
        assert resolve_local("local:lora", workspace=workspace).hub_base
        model_folder(workspace / "bases" / "tiny")
        adapter_folder(workspace / "lora2", "bases/tiny")
        resolved = resolve_local("local:lora2", workspace=workspace)
        assert resolved.model == str((workspace / "bases" / "tiny").resolve())

    def test_a_missing_folder_does_not_show_the_workspace(self, workspace: Path) -> None:
        message = one_line("local:runs/none", workspace=workspace)
        assert message == "local:runs/none: no such folder in your workspace"


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_resolving_and_the_cli_never_import_torch(tmp_path: Path) -> None:
    model_folder(tmp_path / "tiny")
    code = (
        "import sys, ftkit, ftkit.cli.evaluate, ftkit.evaluation.session\n"
        "from ftkit.evaluation.local import resolve_local\n"
        "resolve_local('local:tiny')\n"
        "print(sorted(m for m in ('torch', 'transformers', 'peft') if m in sys.modules))\n"
    )
    done = run_python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_without_the_training_packages_evaluate_says_what_to_install(tmp_path: Path) -> None:
    model_folder(tmp_path / "tiny")
    code = (
        "import sys\n"
        "sys.modules['torch'] = None  # as if torch were not installed\n"
        "from ftkit.cli import main\n"
        "sys.exit(main(['evaluate', '--model', 'local:tiny', '--size', '3', '--no-history']))\n"
    )
    done = run_python(code, tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    last = done.stderr.strip().splitlines()[-1]
    assert last == (
        "ftkit: error: local:tiny: evaluating a local model needs torch, which is not installed: "
        "pip install -r requirements-train.txt"
    )
    assert "Traceback" not in done.stderr
