"""Before upload: the rules, the scan of a JSONL file, token counts, the report and the cost."""
