"""Build a run's PDF report: every number comes from its `metrics.json`, every figure from its folder.

`python -m helpers.report [PROFILE]` writes `results/<profile>/report.pdf` where LaTeX (latexmk) is
installed. In `report/report.tex` a number is written `\\metric{section.key}`; a missing key stops
the build with an error naming it, so no number can be typed in by hand or silently left out.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

from .config import REPO_ROOT, ConfigError, resolve_profile, results_dir
from .results import atomic_path, load_metrics, write_text

TEMPLATE = REPO_ROOT / "report" / "report.tex"
LATEX_HINT = "apt-get install texlive-latex-recommended texlive-fonts-recommended latexmk"
_ESCAPES = {"\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def flatten(tree: dict, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield (`section.key.subkey`, value) for every leaf that is not a list."""
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from flatten(value, f"{name}.")
        elif not isinstance(value, list):
            yield name, value


def latex_value(value: Any) -> str:
    """Numbers typeset for the report: thousands separators, four significant digits."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}".replace(",", "{,}")
    if isinstance(value, float):
        text = f"{value:.4g}"
        if "e" in text:
            mantissa, exponent = text.split("e")
            return rf"\ensuremath{{{mantissa}\times 10^{{{int(exponent)}}}}}"
        return text
    return "".join(_ESCAPES.get(ch, ch) for ch in str(value))


def metric_macros(metrics: dict) -> str:
    lines = ["% Generated from metrics.json by helpers/report.py; do not edit.", r"\makeatletter"]
    lines += [rf"\expandafter\def\csname hwmetric@{key}\endcsname{{{latex_value(value)}}}"
              for key, value in flatten(metrics)]
    lines += [r"\makeatother", ""]
    return "\n".join(lines)


def build(run_dir: Path) -> Path | None:
    """Write the macros and run latexmk; returns the PDF, or None where LaTeX is not installed."""
    metrics = load_metrics(run_dir)
    if not metrics:
        raise FileNotFoundError(f"{run_dir / 'metrics.json'} is missing: run the notebook first (make run).")
    build_dir = run_dir / "report"
    write_text(build_dir / "metrics.tex", metric_macros(metrics))
    if shutil.which("latexmk") is None:
        print(f"LaTeX not found: skipped the PDF report (install it with: {LATEX_HINT}).")
        return None
    search = os.pathsep.join([str(TEMPLATE.parent), str(build_dir), str(run_dir / "figures"), ""])
    command = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", f"-outdir={build_dir}",
               str(TEMPLATE)]
    done = subprocess.run(command, env={**os.environ, "TEXINPUTS": search}, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"LaTeX failed; see {build_dir / 'report.log'}. Last lines:\n"
                           + "\n".join(done.stdout.splitlines()[-25:]))
    pdf = run_dir / "report.pdf"
    with atomic_path(pdf) as tmp:
        shutil.copyfile(build_dir / "report.pdf", tmp)
    return pdf


def main(argv: list[str]) -> int:
    try:
        run_dir = results_dir(resolve_profile(argv[0] if argv else None))
        pdf = build(run_dir)
    except (ConfigError, FileNotFoundError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if pdf:
        print(f"report: {pdf}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
