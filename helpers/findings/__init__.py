"""The study's sentences: each module turns sections of `metrics.json` into the sentences the notebook, the report
and the README print. Formatting (lists, numbers, spreads, the tie rule) lives once, in `words`."""
