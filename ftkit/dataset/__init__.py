"""Items to a dataset: draw the split, render messages, write the JSONL pair, and describe it."""
