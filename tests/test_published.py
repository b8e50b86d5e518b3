"""Published numbers: each has a checkable source in the bibliography; only helpers.published types them."""
from __future__ import annotations

import ast
import json
import os
import re
from pathlib import Path

import pytest

from helpers import config, published, report

BIB = config.REPO_ROOT / "report" / "references.bib"
NOTEBOOK = config.REPO_ROOT / "homework2.ipynb"
# a sheet of references or its file; the pattern is split so that this file, scanned too, does not match
SHEET = re.compile("reference" + r"\s+sheet|REFERENCE" + r"\.md", re.IGNORECASE)
SKIPPED_DIRS = {".git", ".venv", "results", "__pycache__", ".pytest_cache", "build"}
TEXT_SUFFIXES = {".py", ".ipynb", ".md", ".tex", ".bib", ".txt", ".ini", ".toml", ".cfg", ".sh", ".json", ""}


def _bib_entries() -> dict[str, str]:
    """Each entry of references.bib by its citation key, with its text."""
    text = BIB.read_text(encoding="utf-8")
    starts = [(m.start(), m.group(1)) for m in re.finditer(r"@\w+\{([^,\s]+),", text)]
    return {key: text[start:(starts[i + 1][0] if i + 1 < len(starts) else len(text))]
            for i, (start, key) in enumerate(starts)}


def _every_entry() -> list[published.Published]:
    """Every `Published` the module defines, at top level or inside a dict."""
    found = []
    for value in vars(published).values():
        if isinstance(value, published.Published):
            found.append(value)
        elif isinstance(value, dict):
            found += [v for v in value.values() if isinstance(v, published.Published)]
    return found


def test_every_published_number_cites_an_entry_of_the_bibliography():
    entries, keys = _every_entry(), _bib_entries()
    assert len(entries) >= 6
    for entry in entries:
        assert entry.cite in keys, f"{entry}: no entry {entry.cite!r} in {BIB.name}"
        assert entry.what.strip() and entry.unit in ("accuracy", "nats")
        assert 0 < entry.value <= 1 if entry.unit == "accuracy" else entry.value > 1


def test_every_published_entry_is_reachable_by_the_report():
    listed = {id(entry) for entry in published.ENTRIES.values()}
    assert all(id(entry) in listed for entry in _every_entry())
    values = published.report_values()
    assert values["vae_nll_gaussian"]["value"] == published.VAE_NLL["VAE, Gaussian prior (MLP)"].value
    assert published.values(published.VAE_NLL)["Exemplar VAE"] == published.VAE_NLL["Exemplar VAE"].value


def test_no_bibliography_entry_cites_a_reference_sheet():
    entries = _bib_entries()
    assert "hw1" in entries and "norouzi2020" in entries
    assert [key for key, text in entries.items() if SHEET.search(text)] == []


def test_nothing_in_the_repository_points_to_a_reference_sheet_or_its_file():
    hits, scanned = [], 0
    for folder, dirs, files in os.walk(config.REPO_ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
        for path in (Path(folder) / name for name in files):
            if path.suffix in TEXT_SUFFIXES:
                scanned += 1
                text = path.read_text(encoding="utf-8", errors="ignore")
                hits += [f"{path.relative_to(config.REPO_ROOT)}: {m.group(0)}" for m in SHEET.finditer(text)]
    assert scanned > 30 and hits == []


def test_the_report_reads_published_numbers_under_their_key_and_types_none():
    tex = re.sub(r"(?<!\\)%.*", "", report.TEMPLATE.read_text(encoding="utf-8"))
    used = set(re.findall(r"\\(?:metric|pct)(?:opt)?\{(published\.[^}]*)\}", tex))
    assert used, "the report compares with no published number"
    defined = {key for key, _ in report.flatten({"published": published.report_values()})}
    assert used <= defined, sorted(used - defined)
    for key, entry in published.ENTRIES.items():
        shown = {f"{entry.value:.2f}", f"{entry.value:.1f}"} if entry.unit == "nats" else \
            {f"{100 * entry.value:.2f}", f"{100 * entry.value:.1f}"}
        typed = [s for s in shown if re.search(rf"(?<![\d.]){re.escape(s)}(?![\d])", tex)]
        assert not typed, f"report.tex types {key} ({typed}); use \\metric{{published.{key}.value}}"
    assert "published" in report.with_findings({})


def _float_literal(node: ast.AST) -> bool:
    """A float literal, or a literal dict / list / tuple / set holding one (at any depth)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, float)
    if isinstance(node, ast.UnaryOp):
        return _float_literal(node.operand)
    if isinstance(node, ast.Dict):
        return any(_float_literal(n) for n in [*node.keys, *node.values] if n is not None)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return any(_float_literal(n) for n in node.elts)
    return False


def _constant_name(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id.isupper()


def typed_constants(source: str) -> list[str]:
    """Upper-case names that `source` assigns a float literal (alone or in a literal container)."""
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    found = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Assign):
            pairs = []
            for target in node.targets:
                if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple) \
                        and len(target.elts) == len(node.value.elts):
                    pairs += zip(target.elts, node.value.elts)
                elif isinstance(target, ast.Tuple):
                    pairs += [(t, node.value) for t in target.elts]
                else:
                    pairs.append((target, node.value))
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            pairs = [(node.target, node.value)]
        else:
            continue
        found += [t.id for t, value in pairs if _constant_name(t) and _float_literal(value)]
    return found


@pytest.mark.parametrize("source, names", [
    ("EARLIER_BEST = 0.0025  # a published number", ["EARLIER_BEST"]),
    ("SVM = {100: 0.655, 600: 0.794}", ["SVM"]),
    ("A, b = (1, -0.5), 0.1", ["A"]),
    ("LIMIT: float = 1e-3", ["LIMIT"]),
    ("small = 0.5\nN = 10\nSPEC = make(lr=1e-3)\nREPORTED = published.HW1_TEST_ACCURACY.value", []),
])
def test_typed_constants_finds_float_literals_given_upper_case_names(source, names):
    assert typed_constants(source) == names


def test_no_notebook_cell_types_a_float_constant():
    cells = json.loads(Path(NOTEBOOK).read_text(encoding="utf-8"))["cells"]
    code = [("".join(c["source"]), i) for i, c in enumerate(cells) if c["cell_type"] == "code"]
    assert len(code) > 20
    typed = {i: names for source, i in code if (names := typed_constants(source))}
    assert typed == {}, f"float literals given to constants (published ones: helpers/published.py): {typed}"
