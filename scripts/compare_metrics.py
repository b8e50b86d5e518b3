"""Compare the numbers of two runs' metrics.json files: every number, flag and short name must be equal.

    python scripts/compare_metrics.py BEFORE/metrics.json AFTER/metrics.json

Left aside, because they differ between two runs of the same code: times (any key holding "second"), the
`seconds` section, the profile's description, and prose (a string of six words or more, or a key naming a
sentence). Keys only one file has are listed; the exit status is 1 when a compared value differs.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

PROSE_KEYS = {"finding", "closing", "text", "description", "feature_space"}


def leaves(tree, path=""):
    """(path, value) for every leaf; lists are walked by index."""
    items = tree.items() if isinstance(tree, dict) else enumerate(tree)
    for key, value in items:
        name = f"{path}.{key}" if path else str(key)
        if isinstance(value, (dict, list)):
            yield from leaves(value, name)
        else:
            yield name, value


def compared(path: str, value) -> bool:
    parts = path.split(".")
    if parts[0] == "seconds" or any("second" in p for p in parts) or parts[-1] in PROSE_KEYS:
        return False
    return not (isinstance(value, str) and len(value.split()) >= 6)


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b and type(a) is type(b) or (isinstance(a, (int, float)) and isinstance(b, (int, float))
                                                and not isinstance(a, bool) and a == b)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    before, after = (dict(p for p in leaves(json.loads(Path(f).read_text())) if compared(*p)) for f in argv)
    differ = [k for k in before if k in after and not same(before[k], after[k])]
    for key in differ:
        print(f"differs: {key}: {before[key]!r} -> {after[key]!r}")
    for key in sorted(set(before) - set(after)):
        print(f"only before: {key} = {before[key]!r}")
    for key in sorted(set(after) - set(before)):
        print(f"only after: {key} = {after[key]!r}")
    print(f"{len(set(before) & set(after))} values compared, {len(differ)} differ; "
          f"{len(set(before) - set(after))} only before, {len(set(after) - set(before))} only after")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
