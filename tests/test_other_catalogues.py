"""Honest scores on catalogues that are not Best Buy: files a user brings, built here in code."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import ftkit.history as history
from ftkit.cli import main
from ftkit.errors import SourceError
from ftkit.sources.columns import detect_mapping
from ftkit.sources.load import load_items_from_bytes
from ftkit.sources.prices import read_price
from tests.fake_chat import serve

KEYS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY")
SPECS = "a 5.5-inch screen, a 12-megapixel camera and an IP57-waterproof case"


@pytest.fixture(autouse=True)
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in KEYS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FTKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'history.db'}")
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    history.close_all()


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    """Run the CLI with ``--json``; return the exit code, the parsed output and stderr."""
    code = main([*args, "--json", "--no-history"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def user_messages(folder: Path) -> list[str]:
    lines = []
    for name in ("fine_tune_train.jsonl", "fine_tune_validation.jsonl"):
        for line in (folder / name).read_text().splitlines():
            lines.append(json.loads(line)["messages"][1]["content"])
    return lines


def relisted(rows: int, relistings: int) -> list[list[object]]:
    """Return ``rows`` lamps, then the first ``relistings`` of them again at a new price."""
    first = [
        [f"Lamp {n:03d}", f"A desk lamp, model {n}, with {SPECS}.", 10 + n] for n in range(rows)
    ]
    again = [[title, text, price + 7] for title, text, price in first[:relistings]]
    return first + again


@pytest.mark.parametrize("sampling", ["first", "random", "stratified"])
def test_a_listing_seen_in_training_is_never_scored_again_at_another_price(
    cwd: Path, capsys: pytest.CaptureFixture[str], sampling: str
) -> None:
    write_csv(cwd / "lamps.csv", ["title", "description", "price"], relisted(90, 60))
    split = ["--train", "50", "--validation", "10", "--sampling", sampling, "--seed", "3"]
    code, _, err = run(capsys, "prepare", "--source", "lamps.csv", "--out", "out", *split)
    assert code == 0, err
    code, scored, err = run(
        capsys, "evaluate", "--model", "baseline:mean", "--source", "lamps.csv", *split
    )
    assert code == 0, err
    written = "\n".join(user_messages(cwd / "out"))
    titles = [row["title"] for row in scored["items"]]
    assert titles and not [title for title in titles if f"\n{title}\n" in written]


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (
            ["Listing Title", "Item Description", "Price (USD)", "Shop Category"],
            ("Price (USD)", "Listing Title", "Item Description", "Shop Category"),
        ),
        (
            ["Shipping Price", "Listing Title", "Our Price", "Full Description"],
            ("Our Price", "Listing Title", "Full Description", None),
        ),
        (
            ["SKU", "Web Title", "Tax Price", "Listing Price", "Sub Categories"],
            ("Listing Price", "Web Title", None, "Sub Categories"),
        ),
        (
            ["sale price", "name", "title", "price", "description"],
            ("price", "title", "description", None),
        ),
    ],
)
def test_a_header_ending_in_its_role_is_detected(
    columns: list[str], expected: tuple[str, str | None, str | None, str | None]
) -> None:
    mapping = detect_mapping(columns)
    text = mapping.text[0] if mapping.text else None
    assert (mapping.price, mapping.title, text, mapping.category) == expected


def test_a_shipping_price_is_never_the_price() -> None:
    with pytest.raises(SourceError, match="no price column"):
        detect_mapping(["Listing Title", "Shipping Price", "Delivery Fee Price"], "shop.csv")


def etsy(rows: int) -> list[list[object]]:
    return [
        [
            f"Ring {n:03d}",
            f"A silver ring, size {n % 12}, with {SPECS}.",
            f"{5 + n}.50",
            ["Jewelry", "Art"][n % 2],
        ]
        for n in range(rows)
    ]


def test_an_etsy_export_is_mapped_and_printed_and_keeps_its_specs(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = ["Listing Title", "Item Description", "Price (USD)", "Shop Category"]
    write_csv(cwd / "etsy.csv", header, etsy(40))
    code, data, err = run(
        capsys,
        "prepare",
        "--source",
        "etsy.csv",
        "--out",
        "out",
        "--train",
        "30",
        "--validation",
        "5",
    )
    assert code == 0, err
    assert data["mapping"] == {
        "price": "Price (USD)",
        "title": "Listing Title",
        "text": ["Item Description"],
        "category": "Shop Category",
        "min_chars": 0,
        "scrub_part_numbers": False,
    }
    first = user_messages(cwd / "out")[0]
    assert first.splitlines()[2] == "Ring 000"
    assert all(spec in first for spec in ("5.5-inch", "12-megapixel", "IP57-waterproof"))
    assert (
        main(
            [
                "prepare",
                "--source",
                "etsy.csv",
                "--out",
                "out",
                "--train",
                "30",
                "--validation",
                "5",
                "--no-history",
            ]
        )
        == 0
    )
    assert (
        "  columns: price 'Price (USD)', title 'Listing Title', text 'Item Description', "
        "category 'Shop Category', part-number scrub off"
    ) in capsys.readouterr().out.splitlines()


def two_prices(rows: int) -> list[list[object]]:
    """Return mugs with a list price and, on two rows in three, a lower sale price."""
    return [
        [
            f"Mug {n:03d}",
            f"A stoneware mug, pattern {n}.",
            f"{20 + n}.00",
            "" if n % 3 == 0 else f"{10 + n}.00",
        ]
        for n in range(rows)
    ]


def test_evaluate_takes_the_columns_prepare_was_told_and_reruns_with_them(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_csv(cwd / "mugs.csv", ["title", "description", "price", "sale price"], two_prices(150))
    args = [
        "--source",
        "mugs.csv",
        "--price-column",
        "sale price",
        "--train",
        "40",
        "--validation",
        "10",
        "--sampling",
        "random",
        "--seed",
        "5",
    ]
    code, prepared, err = run(capsys, "prepare", "--out", "out", *args)
    assert code == 0, err
    assert prepared["dropped"] == {"no price": 50} and prepared["mapping"]["title"] == "title"
    code = main(["evaluate", "--model", "baseline:mean", "--no-save", "--json", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    scored = json.loads(out)
    assert scored["scored"]["mapping"]["price"] == "sale price"
    assert "columns: price 'sale price', title 'title'" in err
    written = "\n".join(user_messages(cwd / "out"))
    titles = [row["title"] for row in scored["items"]]
    assert len(titles) == 50 and not [t for t in titles if f"\n{t}\n" in written]
    assert all(row["truth"] == 10 + int(row["title"][4:]) for row in scored["items"])
    (recorded,) = history.list_runs("evaluate")
    assert main(["history", "--rerun", str(recorded.id), "--json"]) == 0
    again = history.get_run(json.loads(capsys.readouterr().out)["id"])
    assert again.outputs["metrics"] == recorded.outputs["metrics"]


EUROPEAN = ["€ 12,50", "12,50 €", "1.299,00", "CHF 30", "1.299", "45,-", "EUR 7", "12,5"]
ODD = ["$10 - $20", "From $5", "$5.99/month", "Free", "(5)", "1e400", "$0.00", ""]


def test_a_csv_of_odd_prices_drops_each_by_reason_and_misreads_none(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prices = EUROPEAN + ODD + ["1,299", "USD 1,299.99", " $ 45 ", "45.", ".99"]
    rows = [[f"Vase {n:02d}", f"A glass vase, style {n}.", price] for n, price in enumerate(prices)]
    rows += [[f"Bowl {n:02d}", f"A clay bowl, style {n}.", f"{n + 3}.25"] for n in range(20)]
    write_csv(cwd / "shop.csv", ["title", "description", "price"], rows)
    code, data, err = run(
        capsys,
        "prepare",
        "--source",
        "shop.csv",
        "--out",
        "out",
        "--train",
        "20",
        "--validation",
        "5",
    )
    assert code == 0, err
    assert data["dropped"] == {
        "price in another currency": 4,
        "ambiguous decimal comma in price": 3,
        "ambiguous thousands dot in price": 1,
        "unparseable price": 5,
        "price zero or negative": 2,
        "no price": 1,
    }
    assert data["warnings"] == [
        f"4 prices in 'price' are in another currency (dropped); the {data['loaded']} kept "
        "were read as US dollars: check that they are"
    ]
    answers = [
        m
        for line in (cwd / "out" / "fine_tune_train.jsonl").read_text().splitlines()
        for m in json.loads(line)["messages"]
        if m["role"] == "assistant"
    ]
    assert [m["content"] for m in answers[:5]] == [
        "Price is $1299.00",
        "Price is $1299.99",
        "Price is $45.00",
        "Price is $45.00",
        "Price is $0.99",
    ]


def test_a_parquet_of_broken_numbers_drops_each_by_reason_and_scores_cleanly(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pandas as pd

    broken = [0.0, -5.0, float("nan"), float("inf"), 1e300, 10.0**12]
    prices = broken + [9.0 + n for n in range(60)]
    frame = pd.DataFrame({"name": [f"Kettle {n:02d}" for n in range(len(prices))], "msrp": prices})
    frame.to_parquet(cwd / "kettles.parquet")
    code, data, err = run(
        capsys,
        "prepare",
        "--source",
        "kettles.parquet",
        "--out",
        "out",
        "--train",
        "20",
        "--validation",
        "5",
    )
    assert code == 0, err
    assert data["dropped"] == {
        "price zero or negative": 2,
        "no price": 1,
        "unparseable price": 1,
        "price over $1,000,000,000": 2,
    }
    assert data["mapping"]["price"] == "msrp" and data["mapping"]["title"] == "name"
    code, scored, err = run(
        capsys,
        "evaluate",
        "--model",
        "baseline:regression",
        "--source",
        "kettles.parquet",
        "--train",
        "20",
        "--validation",
        "5",
        "--no-save",
    )
    assert code == 0, err
    assert scored["size"] == 35 and scored["mse"] < 10_000


def test_a_model_answering_an_enormous_number_is_scored_not_a_crash(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def reply(body: dict[str, Any], attempt: int) -> tuple[Any, ...]:
        return ("answer", "9" * 250)

    with serve(reply) as fake:
        code = main(
            [
                "evaluate",
                "--model",
                "gpt-4o-mini",
                "--base-url",
                fake.url,
                "--size",
                "3",
                "--no-save",
                "--no-history",
            ]
        )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "unparsed 3" in out and "inf" not in out  # beyond any sane price: no number


def test_a_csv_price_column_of_thousands_dots_is_read_as_text_not_as_small_numbers(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prices = ["1.299", "2.450", "12.50", "999", "3.5"] * 6
    rows = [[f"Sofa {n:02d}", f"A three-seat sofa, fabric {n}.", p] for n, p in enumerate(prices)]
    write_csv(cwd / "sofas.csv", ["title", "description", "price"], rows)
    code, data, err = run(
        capsys,
        "prepare",
        "--source",
        "sofas.csv",
        "--out",
        "out",
        "--train",
        "10",
        "--validation",
        "2",
    )
    assert code == 0, err
    assert data["dropped"] == {"ambiguous thousands dot in price": 12} and data["loaded"] == 18


def test_a_semicolon_separated_export_is_read_with_its_separator(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        "title;description;price",
        '"Table, round";A round oak table.;"1,299"',
        "Chair;An oak chair.;45.50",
    ]
    (cwd / "moebel.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, data, err = run(
        capsys,
        "prepare",
        "--source",
        "moebel.csv",
        "--out",
        "out",
        "--train",
        "1",
        "--validation",
        "1",
    )
    assert code == 0, err
    assert data["mapping"]["title"] == "title" and data["loaded"] == 2
    assert user_messages(cwd / "out")[0].splitlines()[2] == "Table, round"


@pytest.mark.parametrize(
    ("rows", "hint"),
    [
        (10, "lower --train/--validation: try --train 7 --validation 1 (leaving 2 for evaluate)"),
        (50, "lower --train/--validation: try --train 36 --validation 4 (leaving 10 for evaluate)"),
        (1, "it is too small to split: add items"),
    ],
)
def test_a_small_file_gets_one_line_naming_it_with_sizes_that_work(
    cwd: Path, capsys: pytest.CaptureFixture[str], rows: int, hint: str
) -> None:
    write_csv(cwd / "few.csv", ["title", "price"], [[f"Pen {n}", n + 1] for n in range(rows)])
    code, data, err = run(capsys, "prepare", "--source", "few.csv", "--out", "out")
    assert code == 2 and data is None and err.count("\n") == 1
    assert err.startswith("ftkit: error: few.csv: asked for 500 train + 50 validation items")
    assert err.rstrip().endswith(hint) and not list((cwd / "out").glob("*.jsonl"))
    code, data, err = run(capsys, "evaluate", "--model", "baseline:mean", "--source", "few.csv")
    assert code == 2 and data is None and err.count("\n") == 1
    assert err.startswith("ftkit: error: few.csv: no held-out items to score")
    assert hint in err and err.rstrip().endswith("(e.g. --source test.pkl)")
    if rows > 1:
        sizes = hint.split(" (")[0].split(": try ")[1].split()
        code, _, err = run(capsys, "prepare", "--source", "few.csv", "--out", "out", *sizes)
        assert code == 0, err
        code, scored, err = run(
            capsys,
            "evaluate",
            "--model",
            "baseline:mean",
            "--source",
            "few.csv",
            *sizes,
            "--no-save",
        )
        assert code == 0 and scored["size"] == rows - int(sizes[1]) - int(sizes[3]), err


@pytest.mark.parametrize(("every", "warned"), [(10, True), (2, False), (1, False)])
def test_a_text_column_empty_in_most_rows_is_said_in_one_warning(
    cwd: Path, capsys: pytest.CaptureFixture[str], every: int, warned: bool
) -> None:
    rows = [
        [f"Cap {n:02d}", f"A wool cap, colour {n}." if n % every == 0 else "", n + 5]
        for n in range(40)
    ]
    write_csv(cwd / "caps.csv", ["title", "description", "price"], rows)
    code, data, err = run(
        capsys,
        "prepare",
        "--source",
        "caps.csv",
        "--out",
        "out",
        "--train",
        "30",
        "--validation",
        "5",
    )
    assert code == 0, err
    assert data["loaded"] == 40 and data["dropped"] == {}
    expected = (
        "the text column 'description' is empty in 36 of the 40 items, whose prompts hold only "
        "the title; name a fuller column with --text-column (or the Data page's Text picker) "
        "if there is one"
    )
    assert data["warnings"] == ([expected] if warned else [])


def test_a_shop_export_with_amazon_like_text_fields_keeps_its_specs_and_short_texts(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = ["title", "description", "features", "details", "price"]
    rows = [
        [f"Phone X{n}00", f"A phone with {SPECS}.", "Dual SIM", "Colour black", 199 + n]
        for n in range(12)
    ]
    write_csv(cwd / "phones.csv", header, rows)
    code, data, err = run(
        capsys,
        "prepare",
        "--source",
        "phones.csv",
        "--out",
        "out",
        "--train",
        "10",
        "--validation",
        "2",
    )
    assert code == 0, err
    assert data["loaded"] == 12 and data["dropped"] == {}
    assert data["mapping"]["scrub_part_numbers"] is False and data["mapping"]["min_chars"] == 0
    assert "12-megapixel" in user_messages(cwd / "out")[0]


@pytest.mark.parametrize(
    ("columns", "price"),
    [
        (["title", "Price (cents)", "Price (USD)"], "Price (USD)"),
        (["title", "eur_price", "usd_price"], "usd_price"),
        (["title", "price_cents", "Our Price"], "Our Price"),
        (["title", "EUR Price", "price"], "price"),
        (["title", "Price (€)", "Price ($)"], "Price ($)"),
        (["title", "eur_price"], None),
        (["title", "Price (pence)"], None),
    ],
)
def test_a_price_header_in_cents_or_another_currency_is_never_taken(
    columns: list[str], price: str | None
) -> None:
    if price is None:
        with pytest.raises(SourceError, match="no price column"):
            detect_mapping(columns, "shop.csv")
    else:
        assert detect_mapping(columns).price == price


@pytest.mark.timeout(30)
def test_a_hostile_upload_with_a_long_price_cell_and_header_is_read_at_once() -> None:
    cell = "1 " * 200_000  # price-parser alone takes minutes on this
    header = "Price (" + "1 " * 200_000 + ")"
    data = (f'title,"{header}",price\nLamp,"{cell}","{cell}"\nRug,5,12.50\n').encode()
    loaded = load_items_from_bytes(data, "hostile.csv")
    assert loaded.dropped == {"unparseable price": 1} and [i.title for i in loaded.items] == ["Rug"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("$" + " " * 120 + "12", "unparseable price"), ("$" + " " * 60 + "12", 12.0)],
)
def test_a_price_cell_longer_than_any_price_is_not_read(value: str, expected: object) -> None:
    assert read_price(value) == expected


def test_the_same_file_named_again_as_train_source_is_read_with_the_named_columns(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_csv(cwd / "mugs.csv", ["title", "description", "price", "sale price"], two_prices(150))
    args = [
        "--model",
        "baseline:mean",
        "--price-column",
        "sale price",
        "--train",
        "40",
        "--validation",
        "10",
        "--no-save",
    ]
    code, alone, err = run(capsys, "evaluate", "--source", "mugs.csv", *args)
    assert code == 0, err
    code, again, err = run(
        capsys, "evaluate", "--source", "mugs.csv", "--train-source", "./mugs.csv", *args
    )
    assert code == 0, err
    assert [r["guess"] for r in again["items"]] == [r["guess"] for r in alone["items"]]
