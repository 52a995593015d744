"""Measure a model: run a predictor over held-out items, score it like the course, save, chart."""
