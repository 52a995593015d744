"""The monitor's charts: loss and token accuracy apart, titled axes, whole-number steps."""

from __future__ import annotations

from ftkit.training.charts import accuracy_chart, loss_chart, metric_frame
from ftkit.training.events import MetricRow

ROWS = [
    MetricRow(step=1, train_loss=2.0, train_mean_token_accuracy=0.5),
    MetricRow(step=2, train_loss=1.0, valid_loss=1.2, valid_mean_token_accuracy=0.6),
    MetricRow(step=3, train_loss=0.5, full_valid_loss=0.7, full_valid_mean_token_accuracy=0.8),
]


def _spec(chart: object) -> dict:
    assert chart is not None
    return chart.to_dict()  # type: ignore[attr-defined, no-any-return]


def test_the_loss_chart_holds_only_losses_named_for_people() -> None:
    spec = _spec(loss_chart(ROWS))
    assert spec["title"] == "Loss"
    frame = metric_frame(ROWS, ("train_loss", "valid_loss", "full_valid_loss"))
    assert sorted(set(frame["series"])) == ["training", "validation (batch)", "validation (full)"]
    assert list(frame["value"]) == [2.0, 1.0, 1.2, 0.5, 0.7]


def test_the_accuracy_chart_holds_only_accuracies() -> None:
    spec = _spec(accuracy_chart(ROWS))
    assert spec["title"] == "Token accuracy"
    assert spec["encoding"]["y"]["title"] == "Accuracy"
    assert spec["encoding"]["y"]["axis"]["format"] == ".0%"


def test_both_charts_title_their_axes_count_whole_steps_and_keep_the_legend_below() -> None:
    for chart in (loss_chart(ROWS), accuracy_chart(ROWS)):
        encoding = _spec(chart)["encoding"]
        assert encoding["x"]["title"] == "Step"
        assert encoding["x"]["axis"] == {"format": "d", "tickMinStep": 1}
        assert encoding["y"]["title"]
        legend = encoding["color"]["legend"]
        assert legend["orient"] == "bottom" and legend["labelLimit"] == 0
        assert legend["direction"] == "vertical"  # never wider than a phone's screen


def test_no_chart_before_the_first_step_reports() -> None:
    assert loss_chart([]) is None and accuracy_chart([]) is None
    assert accuracy_chart([MetricRow(step=1, train_loss=1.0)]) is None
