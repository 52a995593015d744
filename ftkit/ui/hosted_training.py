"""The Train page's steps for a provider with its own key (Together, Fireworks).

Each choice shows its key fields (masked, kept in this session), the base models it can tune
(live, once per session), the price estimate, an "Upload and start training" button (files
checked against the provider's rules first) and, once a job succeeded, how the model is served
and a button that hands model, base URL and key to Evaluate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import streamlit as st

from ftkit.errors import FtkitError
from ftkit.preflight.cost import MAX_EPOCHS
from ftkit.providers import HOSTED_KEY, HOSTED_SETTINGS, KEY_PAGES, hosted_missing
from ftkit.training.backends import open_hosted
from ftkit.training.jobs import JobInfo
from ftkit.training.launch import parse_auto, start_job
from ftkit.training.trainer import HostedTrainer, TrainRequest
from ftkit.ui import state
from ftkit.ui.auth import hosting_config
from ftkit.ui.history import record_from_page
from ftkit.ui.markdown import code, literal
from ftkit.ui.providers import KeySource, hosted_settings, key_field

__all__ = [
    "HOSTED_WHERE",
    "check_estimate_line",
    "hand_off",
    "hosted_section",
    "hosted_trainer",
    "show_serving",
]

HOSTED_WHERE = {"together": "Together AI", "fireworks": "Fireworks AI"}
_HANDED = "train_handed_off"  # the line saying what the hand-off to Evaluate set
_FROM = {"session": "key from this session", "server": "the server's key", "none": "no key yet"}

Fail = Callable[[FtkitError], None]
Source = Callable[[str], Path]  # the chosen file's path (hosted: only inside the workspace)


def hosted_trainer(backend: str) -> HostedTrainer:
    """Return the provider's trainer with this session's key (``FtkitError``: what's missing)."""
    return open_hosted(backend, hosted_settings(backend)[0])


def _key_fields(backend: str, source: KeySource) -> None:
    """Draw the provider's key fields (masked) and say where the key in use comes from."""
    with st.expander(f"{HOSTED_WHERE[backend]} key · {_FROM[source]}", expanded=source == "none"):
        for name in HOSTED_SETTINGS[backend]:
            if not name.endswith("_BASE_URL"):  # the operator's setting, never typed
                key_field(name, where="_train_")
        st.caption(
            f"Get one at {KEY_PAGES[backend]}. It stays in this browser session, is never "
            "recorded and is masked in every message."
        )


def _base_models(backend: str, trainer: HostedTrainer | None, fail: Fail) -> str:
    """Draw the base model choice: the provider's live list once loaded, else a typed id."""
    listed = st.session_state.get(f"train_{backend}_models")
    if listed is None and trainer is not None:
        try:
            listed = trainer.base_models()
        except FtkitError as err:
            fail(err)
            listed = []
        st.session_state[f"train_{backend}_models"] = listed
    if listed:
        return str(st.selectbox("Base model", listed, key=f"train_{backend}_model_pick"))
    st.caption(
        "The provider's list of tunable models is not loaded (no key yet, or it could not be "
        "read): type a base model id; docs/training.md lists some."
    )
    return str(st.text_input("Base model", key=f"train_{backend}_model_typed")).strip()


def _request(backend: str, model: str, train: str, val: str | None) -> TrainRequest:
    """Draw the shared settings and return the request; ``FtkitError`` names a bad field."""
    c1, c2, c3 = st.columns(3)
    epochs = c1.selectbox("Epochs", list(range(1, MAX_EPOCHS + 1)), key=f"train_{backend}_epochs")
    batch = c2.text_input("Batch size (or auto)", value="auto", key=f"train_{backend}_batch")
    rate = c3.text_input("Learning rate (or auto)", value="auto", key=f"train_{backend}_lr")
    c4, c5, c6, c7 = st.columns(4)
    lora_r = c4.number_input("LoRA rank", 1, 256, 16, key=f"train_{backend}_lora_r")
    lora_alpha = c5.number_input("LoRA alpha", 1, 512, 32, key=f"train_{backend}_lora_alpha")
    seed = c6.number_input("Seed", value=42, step=1, key=f"train_{backend}_seed")
    suffix = c7.text_input("Suffix", value="pricer", max_chars=40, key=f"train_{backend}_suffix")
    try:
        batch_size = parse_auto(batch, int)
        learning_rate = parse_auto(rate, float)
    except FtkitError as err:
        raise FtkitError(f"Batch size or learning rate: {err}") from None
    return TrainRequest(
        training_file=train,
        validation_file=val,
        base_model=model,
        epochs=int(epochs),
        batch_size=batch_size,  # type: ignore[arg-type]
        learning_rate=learning_rate,  # type: ignore[arg-type]
        lora_r=int(lora_r),
        lora_alpha=int(lora_alpha),
        seed=int(seed),
        suffix=suffix.strip() or None,
    )


def _on_disk(request: TrainRequest, source: Source) -> TrainRequest:
    """Return the request with its files as real paths (``FtkitError`` names a bad one)."""
    val = request.validation_file
    return _with(
        request,
        training_file=str(source(request.training_file)),
        validation_file=str(source(val)) if val else None,
    )


def _estimate(trainer: HostedTrainer, request: TrainRequest, source: Source, fail: Fail) -> None:
    """Show the provider's price estimate for the run, on request."""
    if not st.button("Estimate the price", key=f"train_{trainer.backend}_estimate"):
        return
    try:
        line = trainer.estimate(_on_disk(request, source))
    except FtkitError as err:
        fail(err)
        return
    st.info(line or "The provider gives no estimate for this run.", icon=":material/payments:")
    checked = st.session_state.get(state.CHECK_ESTIMATE)
    if checked:
        st.caption(check_estimate_line(checked))


def check_estimate_line(checked: dict[str, Any]) -> str:
    """Return the Check page's estimate as one line, to read beside a provider's own."""
    about = "about " if checked["approximate"] else ""
    cost = "" if checked["cost"] is None else f", ${checked['cost']:,.2f} on OpenAI"
    return (
        f"The Check page counted {about}{checked['billed_tokens']:,} billed tokens "
        f"({checked['epochs']} epochs, {checked['model']}'s tokenizer{cost}); other "
        "providers' tokenizers count a little differently."
    )


def _start(trainer: HostedTrainer, request: TrainRequest, source: Source, fail: Fail) -> str | None:
    """Check and upload the files, then create the job once; return its id."""
    try:
        request = _on_disk(request, source)
        with st.spinner("Checking and uploading the files"):
            train_id = trainer.upload(request.training_file)
            val = request.validation_file
            val_id = trainer.upload(val) if val else None
        files = {"training_file": train_id, "validation_file": val_id}
        started = start_job(trainer, _with(request, **files), record=record_from_page)
    except FtkitError as err:
        fail(err)
        return None
    return started.job["id"]


def _with(request: TrainRequest, **changes: str | None) -> TrainRequest:
    return replace(request, **changes)  # type: ignore[arg-type]


def hosted_section(
    backend: str,
    train: str,
    val: str,
    *,
    source: Source,
    on_started: Callable[[str], None],
    fail: Fail,
) -> bool:
    """Draw the provider's steps; return True when its key is set (the monitor may call it)."""
    keys, from_where = hosted_settings(backend)
    _key_fields(backend, from_where)
    problem = hosted_missing(backend, keys)
    trainer = None
    if problem is not None:
        st.info(
            f"{HOSTED_WHERE[backend]} needs its own key: {literal(problem)}. Type it above.",
            icon=":material/key:",
        )
    else:
        try:
            trainer = open_hosted(backend, keys)
        except FtkitError as err:
            fail(err)
    st.subheader("2. Choose the model and settings")
    model = _base_models(backend, trainer, fail)
    try:
        request = _request(backend, model, train, val or None)
    except FtkitError as err:
        fail(err)
        return trainer is not None
    if trainer is None:
        return False
    _estimate(trainer, request, source, fail)
    st.subheader("3. Upload and train")
    ready = bool(train) and bool(model)
    if st.button("Upload and start training", key=f"train_{backend}_start", disabled=not ready):
        job_id = _start(trainer, request, source, fail)
        if job_id is not None:
            on_started(job_id)
            st.toast(f"Created {job_id}", icon=":material/rocket_launch:")
    return True


def show_serving(backend: str, trainer: HostedTrainer, job: JobInfo) -> None:
    """Show how the succeeded job's model is called, and offer to hand it to Evaluate."""
    serving = trainer.serving(job)
    where = code(serving.base_url) if serving.base_url else "the endpoint the note names"
    st.info(
        f"Evaluate calls {code(serving.model)} at {where}. {literal(serving.note)}",
        icon=":material/dns:",
    )
    st.button(
        "Use this model on Evaluate",
        key=f"train_{backend}_hand_off",
        on_click=hand_off,
        args=(backend, serving.model, serving.base_url),
    )
    if said := st.session_state.get(_HANDED):
        st.caption(said)


def hand_off(backend: str, model: str, base_url: str | None) -> None:
    """Point Evaluate (and the sidebar) at the provider's endpoint with its key; say what's set.

    A button's callback, so the sidebar's fields may still change. The key is copied only when
    this session typed it, or locally (the server's key is then the user's own); a hosted
    server's key never goes into a field the browser can read.
    """
    st.session_state[_HANDED] = _hand_off(backend, model, base_url)


def _set(field: str, value: str) -> None:
    """Set a provider setting and the sidebar field that shows it."""
    st.session_state[field] = value
    st.session_state.pop(f"_input_{field}", None)  # the sidebar's field starts from the value


def _hand_off(backend: str, model: str, base_url: str | None) -> str:
    keys, source = hosted_settings(backend)
    ss = st.session_state
    ss["finetuned_model"] = model
    _set("openai_base_url", base_url or "")
    _set("azure_openai_endpoint", "")  # an Azure endpoint would win over the base URL
    key = keys.get(HOSTED_KEY[backend], "")
    if source == "session" or (source == "server" and not hosting_config().hosted):
        _set("openai_api_key", key)
        return f"Evaluate will call {model} at {base_url} with your {HOSTED_WHERE[backend]} key."
    return (
        f"Evaluate will call {model} at {base_url}: type your {HOSTED_WHERE[backend]} key as "
        "the OpenAI API key in the sidebar (Provider and keys)."
    )
