"""Figures in one consistent style, saved as PDF (for the report) and PNG."""
from __future__ import annotations

import contextlib
import json
import textwrap
import math
import re
import unittest.mock
from pathlib import Path
from typing import Sequence

import matplotlib
import matplotlib.lines
import matplotlib.ticker
import matplotlib.pyplot as plt
import numpy as np
import torch

from .data import Augment, ImageSet, augment, fitted
from .findings.words import legend
from .training import History
from .results import atomic_path

# Every figure is drawn at the size it is printed in the report (at most PRINT_WIDTH wide, placed at its natural
# size), so a font size here is the printed size; `save_figure` records the smallest one, and the report's build
# refuses a figure whose text would print below MIN_FONT points.
PRINT_WIDTH = 6.5  # inches: the report's text width
HALF_WIDTH = 3.2  # two figures side by side
MIN_FONT = 7.0  # points, as printed
STYLE = {
    "figure.dpi": 150,  # on screen: the figures are small in inches, so more pixels per inch
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.03,
    "font.size": 8,
    "axes.titlesize": 8.5,
    "axes.labelsize": 8,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "legend.fontsize": 7.5,
    "figure.titlesize": 9,
    "lines.linewidth": 1.2,
    "lines.markersize": 3.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
    "image.cmap": "gray_r",
}


class _SparseLogLocator(matplotlib.ticker.Locator):
    """Ticks at 1, 2 and 5 times each power of ten; where fewer than two of them fall in view (a range inside one
    decade), at 1, 1.5, 2, 3, 5 and 7 times; failing that, evenly spaced (matplotlib's own fallback labels every
    step of an even grid, 0.015, 0.02, 0.025, ..., so that its labels collide)."""

    SUBS = ((1.0, 2.0, 5.0), (1.0, 1.5, 2.0, 3.0, 5.0, 7.0))

    def __call__(self):
        return self.tick_values(*self.axis.get_view_interval())

    def tick_values(self, vmin, vmax):
        vmin, vmax = sorted((vmin, vmax))
        if vmin <= 0:  # not yet a log view
            return matplotlib.ticker.MaxNLocator(nbins=4).tick_values(vmin, vmax)
        decades = range(math.floor(math.log10(vmin)) - 1, math.ceil(math.log10(vmax)) + 1)
        for subs in self.SUBS:
            ticks = np.array([s * 10.0 ** d for d in decades for s in subs])
            if np.count_nonzero((ticks >= vmin) & (ticks <= vmax)) >= 2:
                return ticks
        return matplotlib.ticker.MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]).tick_values(vmin, vmax)


def log_y(ax: plt.Axes, axis: str = "y") -> None:
    """A log y axis (`axis="x"`: x axis) labelled at 1, 2 and 5 times each power of ten in plain numbers (0.005,
    0.01, 0.02; more within one decade, `_SparseLogLocator`): no minor labels to collide."""
    getattr(ax, f"set_{axis}scale")("log")
    scale = getattr(ax, f"{axis}axis")
    scale.set_major_locator(_SparseLogLocator())
    scale.set_minor_locator(matplotlib.ticker.NullLocator())
    scale.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}"))


def use_style() -> None:
    matplotlib.rcParams.update(STYLE)


def smallest_font(fig: plt.Figure) -> float:
    """The smallest font size (points) of any visible, non-empty text of `fig`: titles, labels, tick labels,
    legends, annotations."""
    import matplotlib.text

    sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text)
             if t.get_visible() and t.get_text().strip() and _shown(t)]
    return float(min(sizes)) if sizes else float("inf")


def _shown(text) -> bool:
    """False for an artist inside an axes or legend that is itself hidden."""
    parent = getattr(text, "axes", None)
    return parent is None or parent.get_visible()


def pdf_size(path: str | Path) -> tuple[float, float]:
    """Width and height in inches of the first page of a PDF written by matplotlib (its MediaBox)."""
    found = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", Path(path).read_bytes())
    if not found:
        raise ValueError(f"{path}: no MediaBox found; is it a PDF written by matplotlib?")
    return float(found.group(1)) / 72, float(found.group(2)) / 72


def save_figure(fig: plt.Figure, run_dir: str | Path, name: str) -> list[Path]:
    """Write `figures/<name>.pdf` and `.png` under `run_dir`, each atomically, and `figures/<name>.json`: the PDF's
    size in inches and the figure's smallest font size in points (what the report's build checks for legibility)."""
    paths = []
    for ext in ("pdf", "png"):
        path = Path(run_dir) / "figures" / f"{name}.{ext}"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=ext)
        paths.append(path)
    width, height = pdf_size(paths[0])
    info = {"width_in": round(width, 3), "height_in": round(height, 3), "smallest_font_pt": smallest_font(fig)}
    path = Path(run_dir) / "figures" / f"{name}.json"
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(info, indent=1) + "\n")
    return paths + [path]


def _as_unit(image: torch.Tensor) -> np.ndarray:
    """One image [1, H, W] or [H, W] (uint8 0-255 or float 0-1) as a float array in [0, 1]."""
    array = image.detach().squeeze().float().cpu().numpy()
    return array / 255.0 if image.dtype == torch.uint8 else array


def mosaic(cells: Sequence[Sequence[torch.Tensor | None]], gap: int = 2, top: int = 0) -> np.ndarray:
    """Images laid out in a grid as one float array: `cells[r][c]` an image or None (left blank); `gap` blank
    pixels between neighbours and `top` extra blank pixels above every row (room for captions). Blanks are NaN,
    drawn in the background colour."""
    images = [image for row in cells for image in row if image is not None]
    if not images:
        raise ValueError("mosaic needs at least one image")
    height, width = images[0].shape[-2:]
    n_rows, n_cols = len(cells), max(len(row) for row in cells)
    pitch_y, pitch_x = height + gap + top, width + gap
    canvas = np.full((n_rows * pitch_y - gap, n_cols * pitch_x - gap), np.nan, dtype=np.float32)
    for r, row in enumerate(cells):
        for c, image in enumerate(row):
            if image is not None:
                y, x = r * pitch_y + top, c * pitch_x
                canvas[y:y + height, x:x + width] = _as_unit(image)
    return canvas


def _centres(count: int, size: int, gap: int, top: int = 0) -> list[float]:
    """Pixel coordinate of the middle of each of `count` cells along one axis of a `mosaic` laid out with the
    same `gap` and `top` (cells `size` pixels long)."""
    return [i * (size + gap + top) + top + (size - 1) / 2 for i in range(count)]


def _draw_mosaic(ax: plt.Axes, canvas: np.ndarray) -> None:
    """One imshow for a whole grid of images (one image per figure keeps drawing and saving fast: an axes per
    small picture cost seconds per figure)."""
    cmap = plt.get_cmap(STYLE["image.cmap"]).with_extremes(bad="white")
    ax.imshow(np.ma.masked_invalid(canvas), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.grid(False)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)


def _broken(label: str) -> str:
    """A column label on two lines: after its first slash, else at its first space (unchanged without either)."""
    return label.replace("/", "/\n", 1) if "/" in label else label.replace(" ", "\n", 1)


def image_rows(rows: Sequence[torch.Tensor], row_labels: Sequence[str], title: str,
               col_labels: Sequence[str] | None = None, max_cell: float = 0.55) -> plt.Figure:
    """A grid of images, one tensor [N, 1, H, W] per row, rows labelled on the left (column labels on top); each
    image at most `max_cell` inches wide, the whole grid at most the print width."""
    if len(rows) != len(row_labels):
        raise ValueError(f"image_rows: {len(rows)} rows of images but {len(row_labels)} row labels")
    n_cols = max(len(r) for r in rows)
    gap = 2
    height, width = rows[0].shape[-2:]
    labels_width = 0.08 * max((len(line) for label in row_labels for line in str(label).split("\n")), default=0)
    cell = min(max_cell, (PRINT_WIDTH - labels_width - 0.1) / n_cols)
    if col_labels is not None:  # a label wider than its column breaks after a slash ("T-shirt/" over "top")
        col_labels = [_broken(label) if "\n" not in label and 0.075 * len(label) > cell else label  # or a space
                      for label in col_labels]
    lines = max((str(label).count("\n") + 1 for label in col_labels or []), default=0)
    extra = 0.3 + 0.15 * lines + (0.15 if lines else 0.0)
    fig, ax = plt.subplots(figsize=(cell * n_cols + labels_width + 0.1, cell * len(rows) + extra))
    _draw_mosaic(ax, mosaic([list(images) for images in rows], gap=gap))
    ax.set_yticks(_centres(len(rows), height, gap), list(row_labels))
    if col_labels is not None:
        ax.xaxis.tick_top()
        ax.set_xticks(_centres(len(col_labels), width, gap), list(col_labels))
    else:
        ax.set_xticks([])
    ax.set_title(title)
    fig.tight_layout()
    return fig


def class_examples(data: ImageSet, per_class: int = 8, seed: int = 0, collection: str = "Fashion-MNIST") -> plt.Figure:
    """`per_class` random images of each class, one row per class, titled with the image `collection`."""
    rng = np.random.default_rng(seed)
    labels = data.labels.cpu().numpy()
    rows = [data.images[rng.choice(np.flatnonzero(labels == c), per_class, replace=False)]
            for c in range(len(data.classes))]
    return image_rows(rows, data.classes, f"{collection}: {per_class} random training images per class")


def augmentation_examples(data: ImageSet, aug: Augment, n: int = 8, repeats: int = 3,
                          seed: int = 0) -> plt.Figure:
    """The same `n` images, then `repeats` random augmentations of them (`aug` as it applies to `data`: no flip
    of digits)."""
    aug = fitted(aug, data)
    generator = torch.Generator(device=data.device).manual_seed(seed)
    originals = data.images[:n].float().div(255)
    rows = [originals] + [augment(originals, aug, generator) for _ in range(repeats)]
    labels = ["original"] + [f"augmented #{i + 1}" for i in range(repeats)]
    names = [data.classes[int(y)] for y in data.labels[:n]]
    detail = f"{'flip, ' if aug.flip else ''}rotation ±{aug.rotate:g}°, shift ±{aug.shift:g} px"
    return image_rows(rows, labels, f"Batched on-device augmentation ({detail})", col_labels=names)


def class_counts(splits: dict[str, ImageSet], classes: Sequence[str]) -> plt.Figure:
    """Bar chart of images per class in each split."""
    fig, ax = plt.subplots(figsize=(PRINT_WIDTH, 2.6))
    width = 0.8 / len(splits)
    x = np.arange(len(classes))
    for i, (name, data) in enumerate(splits.items()):
        counts = torch.bincount(data.labels, minlength=len(classes)).cpu().numpy()
        ax.bar(x + (i - (len(splits) - 1) / 2) * width, counts, width, label=f"{name} ({len(data):,})")
    ax.set_xticks(x, classes, rotation=30, ha="right")
    ax.set_ylabel("images")
    ax.set_title("Images per class in each split (stratified, class-balanced)")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.25)
    ax.legend(loc="upper center", ncol=len(splits))
    fig.tight_layout()
    return fig


Seeded = History | Sequence[History]  # one run, or the same run over several seeds


def seed_band(runs: Seeded, column: str, x: str = "epoch") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`column` against `x` over the seeds of a run, at each epoch that every seed reached (a seed stopped early
    ends the band, so its mean never switches to fewer seeds): x (the seeds' mean), the mean over the seeds,
    and their lowest and highest value (equal to the mean for one run)."""
    histories = [runs] if isinstance(runs, History) else list(runs)
    rows = [[h.rows[i] for h in histories] for i in range(min(len(h.rows) for h in histories))]
    return tuple(np.asarray(v) for v in (
        [float(np.mean([r[x] for r in at])) for at in rows], [float(np.mean([r[column] for r in at])) for at in rows],
        [min(r[column] for r in at) for at in rows], [max(r[column] for r in at) for at in rows]))


def draw_seeds(ax: plt.Axes, runs: Seeded, column: str, x: str = "epoch", *, colour: str, **line) -> None:
    """`column` of a run on `ax`: over several seeds, the mean with a shaded band from the lowest to the highest
    seed (`seed_band`), and beyond the epoch every seed reached, each longer seed's own thin line; one run as
    its line. `line`: the mean line's style (linestyle, marker, label, ...)."""
    xs, mean, low, high = seed_band(runs, column, x)
    if _seeds(runs) > 1:
        ax.fill_between(xs, low, high, color=colour, alpha=0.2, linewidth=0)
        for h in runs:
            if len(h.rows) > len(xs):
                tail = h.rows[len(xs) - 1:]
                ax.plot([r[x] for r in tail], [r[column] for r in tail], color=colour,
                        linestyle=line.get("linestyle", "-"), linewidth=0.8, alpha=0.6)
    ax.plot(xs, mean, color=colour, **line)


def _seeds(runs: Seeded) -> int:
    return 1 if isinstance(runs, History) else len(runs)


COLUMN_WORDS = {"train_loss": "training", "val_loss": "validation", "train_accuracy": "training",
                "val_accuracy": "validation", "lr": "learning rate"}  # a history column in a legend


def curves(histories: dict[str, Seeded], columns: Sequence[str], title: str, ylabel: str,
           x: str = "epoch", log: bool = True) -> plt.Figure:
    """One colour and one marker per run, one line style per column (solid, dashed, dotted: say which in the title);
    with one column, each run also gets its own line style, so runs that overlap stay distinguishable. A run given
    over several seeds is drawn as the mean with a shaded band from the lowest to the highest seed (`draw_seeds`).
    Half the print width; the legend inside with one run, below the axes with several."""
    single = len(histories) == 1
    fig, ax = plt.subplots(figsize=(HALF_WIDTH, 2.3 if single else 2.2 + 0.16 * len(histories)))
    for i, (name, history) in enumerate(histories.items()):
        for j, column in enumerate(columns):
            label = COLUMN_WORDS.get(column, column.replace("_", " ")) if single else (name if j == 0 else None)
            style = ("-", "--", ":")[j % 3] if len(columns) > 1 else ("-", "--", "-.", ":")[i % 4]
            short = len(seed_band(history, column, x)[0]) < 15
            draw_seeds(ax, history, column, x, colour=f"C{(j if single else i) % 10}",
                       linestyle="-" if single else style, marker=MARKERS[i % len(MARKERS)] if short else None,
                       markersize=4, markerfacecolor="none", label=label)
    ax.set_xlabel("epoch" if x == "epoch" else "wall-clock seconds")
    if x == "epoch":
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    if log:
        log_y(ax)
    ax.set_title(title)
    if single:
        ax.legend(loc="upper right")
    else:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=1)
    fig.tight_layout()
    return fig


MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def train_val_panels(histories: dict[str, Seeded], title: str, ylabel: str = "MSE per pixel") -> plt.Figure:
    """One panel per run, sharing both axes: training loss (solid, the mean over each epoch) and validation loss
    (dashed); a dotted vertical line marks the epoch whose weights were kept when that is not the last. A run
    given over several seeds is drawn as the mean over its seeds with a band from the lowest to the highest
    (`draw_seeds`; the kept epoch: the first seed's)."""
    n = len(histories)
    cols = min(3, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(PRINT_WIDTH, 1.05 * rows + 0.55), sharex=True, sharey=True,
                             squeeze=False)
    for ax, (name, history) in zip(axes.flat, histories.items()):
        for column, colour, style, label in (("train_loss", "C0", "-", "training"),
                                             ("val_loss", "C3", "--", "validation")):
            draw_seeds(ax, history, column, colour=colour, linestyle=style, label=label)
        first = history if isinstance(history, History) else history[0]
        epochs, kept = first.column("epoch"), first.kept["epoch"]
        if kept != epochs[-1]:
            ax.axvline(kept, color="0.4", linestyle=":", linewidth=1, label="kept epoch")
        ax.set_title(name)
        log_y(ax)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    handles = {}
    for ax in axes.flat[:n]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=len(handles))
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.35 / fig.get_figheight(), 1, 1))
    return fig


def regularizers(histories: dict[str, Seeded], title: str, ylabel: str = "MSE per pixel") -> plt.Figure:
    """Regularizers side by side on two panels, one colour each: validation loss per epoch (left, the y axis
    zoomed to the curves after their first fifth, where the differences lie) and training loss (right, log
    axis: the mean over each epoch). A run over several seeds is its mean with a band from the lowest to the
    highest seed (`draw_seeds`); a triangle marks the epoch whose weights early stopping kept in the first
    seed, where that is not the last."""
    legend = 0.17 * math.ceil(len(histories) / 3)  # inches: the key under the panels, three entries a row
    fig, (val_ax, train_ax) = plt.subplots(1, 2, figsize=(PRINT_WIDTH, 2.4 + legend))
    shown = []
    for i, (name, history) in enumerate(histories.items()):
        colour, style = f"C{i}", ("-", "--", "-.", ":")[i % 4]
        draw_seeds(val_ax, history, "val_loss", colour=colour, linestyle=style, label=name)
        draw_seeds(train_ax, history, "train_loss", colour=colour, linestyle=style)
        xs, mean, _, _ = seed_band(history, "val_loss")
        shown += list(mean[len(mean) // 5:])
        first = history if isinstance(history, History) else history[0]
        kept = first.kept
        if kept["epoch"] != first.column("epoch")[-1]:
            val_ax.plot([kept["epoch"]], [kept["val_loss"]], marker="v", color=colour, markersize=6,
                        linestyle="none")
    low, high = min(shown), max(shown)
    val_ax.set_ylim(low - 0.08 * (high - low), high + 0.08 * (high - low))
    val_ax.set(xlabel="epoch", ylabel=f"validation {ylabel}", title="validation")
    train_ax.set(xlabel="epoch", ylabel=f"training {ylabel}", title="training (mean over each epoch)")
    log_y(train_ax)
    fig.legend(*val_ax.get_legend_handles_labels(), loc="lower center", ncol=3, frameon=False)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, legend / fig.get_figheight() + 0.02, 1, 1))
    return fig


def code_size_sweep(sizes: Sequence[int], ae_mse: Sequence[float], pca_mse: Sequence[float]) -> plt.Figure:
    """Test MSE against code size: the autoencoder and PCA on one log-log plot."""
    fig, ax = plt.subplots(figsize=(HALF_WIDTH, 2.4))
    ax.plot(sizes, pca_mse, "s--", color="C7", label="PCA (as many components)")
    ax.plot(sizes, ae_mse, "o-", color="C0", label="convolutional autoencoder")
    ax.set_xscale("log", base=2)
    log_y(ax)
    ax.set_xticks(list(sizes), [str(s) for s in sizes])
    ax.set_xlabel("code size (numbers)")
    ax.set_ylabel("test MSE per pixel")
    ax.set_title("Test error against code size")
    ax.legend()
    fig.tight_layout()
    return fig


def search_progress(curves: dict[str, dict], start: float | None = None) -> plt.Figure:
    """Best validation MSE so far of each search over its sampler seeds (`tuning.progress_over_seeds`, keyed by
    the search's name): the median over seeds as a line, the range from the lowest to the highest seed shaded,
    against finished trials (left) and against cumulative training seconds of the trials (right); `start`: the
    value of the hand-set start configuration (trial 0 of every study), drawn as a dotted reference line."""
    fig, (by_trial, by_time) = plt.subplots(1, 2, figsize=(PRINT_WIDTH, 2.35), sharey=True)
    for i, (name, curve) in enumerate(curves.items()):
        colour, seeds = f"C{i % 10}", curve["seeds"]
        label = f"{name}: median and range over {seeds} seeds" if seeds > 1 else f"{name} (one run)"
        for ax, band in ((by_trial, curve["by_trial"]), (by_time, curve["by_seconds"])):
            x = np.asarray(band["x"], dtype=float)
            median, low, high = (np.array([np.nan if v is None else v for v in band[key]], dtype=float)
                                 for key in ("median", "min", "max"))
            ax.plot(x, median, color=colour, drawstyle="steps-post", linewidth=1.6, linestyle=("-", "--", "-.")[i % 3],
                    label=label if ax is by_trial else None)  # line styles keep coinciding medians apart
            if seeds > 1:
                ax.fill_between(x, low, high, step="post", color=colour, alpha=0.18, linewidth=0)
    if start is not None:
        for ax in (by_trial, by_time):
            ax.axhline(start, color="0.3", linewidth=1.0, linestyle=":",
                       label="hand-set start" if ax is by_trial else None)
    by_trial.set_xlabel("finished trials")
    by_trial.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    by_time.set_xlabel("seconds (sum of the trials' training time)")
    by_trial.set_ylabel("best validation MSE so far")
    log_y(by_trial)  # plain-number ticks, no minor labels (the y axis is shared)
    by_trial.set_title("Best so far against trials")
    by_time.set_title("Best so far against training time")
    handles, labels = by_trial.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 2))
    rows = math.ceil(len(labels) / 2)
    fig.tight_layout(rect=(0, (0.1 + 0.15 * rows) / fig.get_figheight(), 1, 1))
    return fig


def trial_values(values: dict[str, dict], start: float | None = None) -> plt.Figure:
    """Every finished trial of each search, all its seeds pooled (`tuning.trial_values`, keyed by the search's
    name): completed trials as filled dots, pruned ones (at their last report, so after fewer epochs) as open
    ones, spread sideways to show how many lie where; `start`: the hand-set start's value, dotted. A flat
    best-so-far curve is then told apart from a search whose trials were all worse than the start."""
    fig, ax = plt.subplots(figsize=(PRINT_WIDTH, 2.7))
    rng = np.random.default_rng(0)
    for i, (name, found) in enumerate(values.items()):
        value, pruned = np.asarray(found["value"], dtype=float), np.asarray(found["pruned"], dtype=bool)
        x = i + rng.uniform(-0.25, 0.25, len(value))
        ax.scatter(x[~pruned], value[~pruned], s=12, color=f"C{i % 10}", label="completed" if i == 0 else None)
        ax.scatter(x[pruned], value[pruned], s=12, facecolors="none", edgecolors=f"C{i % 10}", linewidths=0.8,
                   label="pruned (last report)" if i == 0 else None)
    if start is not None:
        ax.axhline(start, color="0.3", linewidth=1.0, linestyle=":", label="hand-set start")
    ax.set_xticks(range(len(values)), list(values))
    ax.set_xlabel("search (every seed's trials pooled)")
    ax.set_ylabel("validation MSE of the trial")
    log_y(ax)
    ax.set_title("Where the trials landed")
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=3)
    fig.tight_layout(rect=(0, 0.3 / fig.get_figheight(), 1, 1))
    return fig


def fidelity(found: dict) -> plt.Figure:
    """The fidelity check (`tuning.fidelity`): each configuration's validation MSE after a whole stage-1 trial
    against its validation MSE at the final budget (left; the hand-set start ringed), and Spearman's rank
    correlation between the two after each epoch of the trial with its bootstrap interval (right; the target
    dashed)."""
    fig, (scatter, rho) = plt.subplots(1, 2, figsize=(PRINT_WIDTH, 2.7))
    points = [p for p in found["points"] if p["final"] is not None and p["trial_curve"][-1] is not None]
    trial = np.array([p["trial_curve"][-1] for p in points], dtype=float)
    final = np.array([p["final"] for p in points], dtype=float)
    start = np.array([p["start"] for p in points], dtype=bool)
    scatter.scatter(trial[~start], final[~start], s=16, color="C0", label="a configuration")
    scatter.scatter(trial[start], final[start], s=44, facecolors="none", edgecolors="C3", linewidths=1.4,
                    label="hand-set start")
    log_y(scatter, "x")
    log_y(scatter)
    scatter.set_xlabel(f"after a trial ({found['trial_epochs']} epochs, {found['trial_images']:,} images)")
    scatter.set_ylabel("final budget")
    scatter.set_title("Validation MSE, trial and final")
    rows = found["by_epoch"]
    epochs = np.array([r["epoch"] for r in rows])
    rho.plot(epochs, [r["rho"] for r in rows], marker="o", color="C0", label="Spearman's ρ")
    if all(r["low"] is not None for r in rows):
        rho.fill_between(epochs, [r["low"] for r in rows], [r["high"] for r in rows], color="C0", alpha=0.18,
                         linewidth=0, label="95% bootstrap interval")
    rho.axhline(found["target"], color="0.3", linestyle="--", linewidth=1.0, label=f"target {found['target']:g}")
    rho.set_ylim(-1.05, 1.05)
    rho.set_xlim(epochs.min() - 0.5, epochs.max() + 0.5)
    rho.set_xlabel("epochs of the trial")
    rho.set_ylabel("Spearman's ρ")
    rho.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    rho.set_title("Rank agreement by epoch")
    handles, labels = [], []
    for ax in (scatter, rho):
        h, lab = ax.get_legend_handles_labels()
        handles += h
        labels += lab
    fig.legend(handles, labels, loc="lower center", ncol=3)
    fig.tight_layout(rect=(0, 0.55 / fig.get_figheight(), 1, 1))
    return fig


@contextlib.contextmanager
def _house_style_only():
    """Run plotting code that calls `matplotlib.style.use` (Optuna's switches to "ggplot") with that call made
    a no-op and every rc setting restored afterwards: its figures get this module's style, and the global style
    is the same after as before."""
    with matplotlib.rc_context(), unittest.mock.patch.object(matplotlib.style, "use", lambda *args, **kwargs: None):
        use_style()
        yield


def optuna_figures(study) -> dict[str, plt.Figure]:
    """Optuna's own plots (matplotlib backend): history, parameter importances, parallel coordinates, drawn in
    this module's style without changing the global one."""
    import warnings

    import optuna.visualization.matplotlib as ov
    from optuna.exceptions import ExperimentalWarning

    figures = {}
    with warnings.catch_warnings(), _house_style_only():
        warnings.simplefilter("ignore", ExperimentalWarning)
        warnings.filterwarnings("ignore", message="Some regimes for parameter")  # few trials per regime
        for name, draw in (("history", ov.plot_optimization_history), ("importances", ov.plot_param_importances),
                           ("parallel", ov.plot_parallel_coordinate)):
            fig = np.atleast_1d(draw(study)).flat[0].figure
            fig.set_size_inches(PRINT_WIDTH, 3.2)
            figures[name] = fig
    return figures


def _colour(name: str, i: int, colours: dict[str, str] | None) -> str:
    return (colours or {}).get(name, f"C{i % 10}")


def learning_speed(histories: dict[str, History], thresholds: Sequence[float] = (),
                   colours: dict[str, str] | None = None, pretrain_seconds: dict[str, float] | None = None,
                   title: str | None = None) -> plt.Figure:
    """Validation accuracy against epoch and against wall-clock seconds, every run on each panel; with
    `pretrain_seconds`, a third panel against seconds with each run's pretraining added (its curve shifted right).
    The legend sits below the panels."""
    panels = 3 if pretrain_seconds else 2
    fig, axes = plt.subplots(1, panels, figsize=(PRINT_WIDTH, 2.0), sharey=True)
    by_epoch, by_time = axes[0], axes[1]
    for i, (name, history) in enumerate(histories.items()):
        style = dict(color=_colour(name, i, colours), marker="o" if len(history.rows) < 25 else None, markersize=3)
        by_epoch.plot(history.column("epoch"), history.column("val_accuracy"), label=legend(name), **style)
        by_time.plot(history.column("seconds"), history.column("val_accuracy"), **style)
        if pretrain_seconds:
            shift = pretrain_seconds.get(name, 0.0)
            axes[2].plot([t + shift for t in history.column("seconds")], history.column("val_accuracy"), **style)
    for ax in axes:
        for t in thresholds:
            ax.axhline(t, color="0.4", linewidth=0.8, linestyle=":")
    low = min(min(h.column("val_accuracy")) for h in histories.values())
    by_epoch.set_ylim(max(low - 0.01, 0.5 if low > 0.6 else 0.0), None)
    by_epoch.set_xlabel("epoch")
    by_epoch.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    by_time.set_xlabel("seconds of training")
    by_epoch.set_ylabel("validation accuracy")
    by_epoch.set_title("Per epoch")
    by_time.set_title("Per second")
    if pretrain_seconds:
        axes[2].set_xlabel("seconds, pretraining included")
        axes[2].set_title("Per second, whole cost")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    handles, labels = by_epoch.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(len(labels), 2))
    return fig


LEGEND_BESIDE_CHARS = 26  # a longer legend label beside a label-efficiency plot squeezes its axes to ~2 inches


def label_efficiency(stats: dict[str, dict[int, dict]], references: dict[str, dict[int, float]] | None = None,
                     all_label: int | None = None, colours: dict[str, str] | None = None,
                     title: str = "Test accuracy against labels (mean ± std over draws)", *,
                     styles: dict[str, dict] | None = None, bands: bool = False,
                     size: tuple[float, float] | None = None, grouped: bool = False) -> plt.Figure:
    """Test accuracy against the number of labels (log axis), mean and std over draws per strategy: error
    bars, or with `bands` a shaded band of ± one std (a curve of one count keeps its error bar). `styles`: per
    name, line keywords (line style, marker) over the default solid line with round markers; `size`: the
    figure's in inches, the legend beside the axes included. Without a `size`, a legend of more than 6 entries
    or with a label longer than `LEGEND_BESIDE_CHARS` goes under the axes in two columns, so that it does not
    squeeze them. With `grouped`, every name reads
    "<method>, <representation>" and the legend is two short keys beside the axes (`_grouped_legend`): the
    methods by line style, the representations by colour."""
    entries = [legend(name) for name in stats] + list(references or {})
    beside = len(entries) <= 6 and max(map(len, entries), default=0) <= LEGEND_BESIDE_CHARS
    below = None if size is not None or grouped or beside else \
        0.17 * math.ceil(len(entries) / 2) + 0.05  # inches under the axes
    fig, ax = plt.subplots(figsize=size or (PRINT_WIDTH - 0.5, 2.6 + (below or 0.0)))  # a legend beside: axes ~3.5 in
    for i, (name, by_n) in enumerate(stats.items()):
        counts = sorted(by_n)
        mean, std = (np.array([by_n[n][k] for n in counts], dtype=float) for k in ("mean", "std"))
        colour = _colour(name, i, colours)
        style = {"marker": "o", "markersize": 4, **(styles or {}).get(name, {})}
        if bands and len(counts) > 1:
            ax.plot(counts, mean, color=colour, label=legend(name), **style)
            ax.fill_between(counts, mean - std, mean + std, color=colour, alpha=0.12, linewidth=0)
        else:
            ax.errorbar(counts, mean, yerr=std, color=colour, capsize=3, label=legend(name), **style)
    for j, (name, by_n) in enumerate((references or {}).items()):
        counts = sorted(by_n)
        ax.plot(counts, [by_n[n] for n in counts], color="0.5", linestyle=(":", "--")[j % 2], marker="x",
                label=name)
    ax.set_xscale("log")
    ticks = sorted({n for by_n in [*stats.values(), *(references or {}).values()] for n in by_n})
    ax.set_xticks(ticks, [f"all\n({n:,})" if n == all_label else f"{n:,}" for n in ticks], rotation=45)
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_xlabel("labelled training images (class-balanced)")
    ax.set_ylabel("test accuracy")
    ax.set_title(title)
    if grouped:
        _grouped_legend(ax, stats, colours, styles, references)
        fig.tight_layout()
    elif below:
        fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=2, frameon=False)
        fig.tight_layout(rect=(0, below / fig.get_figheight(), 1, 1))
    else:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        fig.tight_layout()
    return fig


def _grouped_legend(ax: plt.Axes, stats: dict, colours: dict[str, str] | None, styles: dict[str, dict] | None,
                    references: dict | None) -> None:
    """Two keys beside `ax` for curves named "<method>, <representation>": each method once with its line
    style (in grey), each representation once with its colour; the references (grey crosses) under the
    representations."""
    methods, reps = {}, {}
    for i, name in enumerate(stats):
        method, _, rep = name.partition(", ")
        style = {"marker": "o", "markersize": 4, **(styles or {}).get(name, {})}
        methods.setdefault(method, matplotlib.lines.Line2D([], [], color="0.35", **style))
        reps.setdefault(rep or method, matplotlib.lines.Line2D([], [], color=_colour(name, i, colours), lw=4))
    for j, name in enumerate(references or {}):
        reps[name] = matplotlib.lines.Line2D([], [], color="0.5", linestyle=(":", "--")[j % 2], marker="x")
    blank = matplotlib.lines.Line2D([], [], alpha=0)  # a header row: its text only
    handles = [blank, *methods.values(), blank, *reps.values()]
    labels = ["method", *methods, "representation", *reps]
    legend = ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.04), handlelength=2.2)
    for text in legend.get_texts():
        if text.get_text() in ("method", "representation"):
            text.set_fontweight("bold")
            text.set_x(-30)  # flush left, over the handles


def confusion(matrix: np.ndarray, classes: Sequence[str], title: str) -> plt.Figure:
    """Confusion matrix as row percentages (each true class sums to 100)."""
    share = 100 * matrix / matrix.sum(1, keepdims=True).clip(min=1)
    fig, ax = plt.subplots(figsize=(4.4, 3.9))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=100)
    for (r, c), value in np.ndenumerate(share):
        if value >= 0.5:
            ax.text(c, r, f"{value:.0f}", ha="center", va="center", fontsize=7,
                    color="white" if value > 60 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=40, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.grid(False)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def image_grid(images: torch.Tensor, captions: Sequence[str], title: str, n_cols: int = 8) -> plt.Figure:
    """Images [N, 1, H, W] in rows of `n_cols`, each with a small caption above it."""
    if len(images) != len(captions):
        raise ValueError(f"image_grid: {len(images)} images but {len(captions)} captions")
    n_rows = max(1, math.ceil(len(images) / n_cols))
    top, gap = 16, 8  # room for a caption above each image and between neighbours' captions
    cell = min(0.8, PRINT_WIDTH / n_cols)
    fig, ax = plt.subplots(figsize=(cell * n_cols, 1.35 * cell * n_rows + 0.35))
    _draw_mosaic(ax, mosaic([list(images[i:i + n_cols]) for i in range(0, len(images), n_cols)], gap=gap, top=top))
    height, width = images.shape[-2:]
    xs, ys = _centres(n_cols, width, gap), _centres(n_rows, height, gap, top)
    for i, caption in enumerate(captions):
        r, c = divmod(i, n_cols)
        ax.text(xs[c], ys[r] - height / 2 - 1, caption, ha="center", va="bottom", fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    fig.tight_layout()
    return fig


def _class_scatter(ax: plt.Axes, xy: np.ndarray, labels: np.ndarray, classes: Sequence[str]) -> None:
    """2-D points coloured by class (one tab10 colour and one legend entry per class)."""
    colours = plt.get_cmap("tab10")
    for k, name in enumerate(classes):
        chosen = labels == k
        ax.scatter(xy[chosen, 0], xy[chosen, 1], s=2, alpha=0.6, color=colours(k), label=name, rasterized=True)


MAP_TITLE_CHARS = 24  # a map's column title per line; a longer name drops its parenthesis (the caption says it)


def latent_maps(maps: dict[str, dict], labels: np.ndarray | torch.Tensor, classes: Sequence[str],
                title: str) -> plt.Figure:
    """One column per representation, its PCA map above its t-SNE map, points coloured by class, one legend
    beside them (one class a line), so the maps keep their size in less height."""
    labels = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels)
    legend_width = 1.15  # inches: the longest class name beside its marker
    panel = min(1.5, (PRINT_WIDTH - legend_width) / len(maps))
    fig, axes = plt.subplots(2, len(maps), figsize=(panel * len(maps) + legend_width, 2 * panel + 0.55),
                             squeeze=False)
    for c, (name, found) in enumerate(maps.items()):
        for r, method in enumerate(("pca", "tsne")):
            ax = axes[r, c]
            _class_scatter(ax, found[method], labels, classes)
            if method == "pca":  # the column's name once, over its PCA map; a long name without its aside
                short = name if len(name) <= MAP_TITLE_CHARS else name.split(" (")[0]
                ax.set_title("\n".join(textwrap.wrap(short, MAP_TITLE_CHARS)))
            ax.set_xlabel("PCA 1" if method == "pca" else "t-SNE 1", labelpad=1)
            ax.set_ylabel("PCA 2" if method == "pca" else "t-SNE 2", labelpad=1)
            ax.set_xticks([])
            ax.set_yticks([])
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, loc="center right", ncol=1, markerscale=4, handletextpad=0.2, frameon=False)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 1 - legend_width / fig.get_figwidth(), 1), h_pad=0.4, w_pad=0.4)
    return fig


def nearest_pairs(generated: torch.Tensor, neighbours: torch.Tensor, distances: Sequence[float],
                  captions: Sequence[str], title: str) -> plt.Figure:
    """Generated images (top row) above their nearest training images (bottom row), with the distance."""
    labels = [f"{c}\nMSE {d:.4f}" for c, d in zip(captions, distances)]
    return image_rows([generated, neighbours], ["generated", "nearest\ntraining image"], title, col_labels=labels)


def vae_curves(history: History, warmup_epochs: float) -> plt.Figure:
    """A VAE's two loss terms per epoch, training and validation, with the end of the KL warm-up marked."""
    fig, axes = plt.subplots(1, 2, figsize=(PRINT_WIDTH, 2.4))
    epochs = history.column("epoch")
    for ax, term, label in zip(axes, ("recon", "kl"), ("reconstruction term −log p(x|z)", "KL(q(z|x) ‖ p(z))")):
        ax.plot(epochs, history.column(f"train_{term}"), marker="o", markersize=3, label="training")
        ax.plot(epochs, history.column(f"val_{term}"), marker="o", markersize=3, linestyle="--", label="validation")
        if warmup_epochs:
            ax.axvline(warmup_epochs + 0.5, color="0.6", linestyle=":",
                       label=f"KL warm-up ends (after epoch {warmup_epochs:g})")
        ax.set_xlabel("epoch")
        ax.set_ylabel("nats per image")
        ax.set_title(label)
        ax.legend()
    fig.suptitle("VAE: the two terms of the negative ELBO per epoch")
    fig.tight_layout()
    return fig


def scatter_2d(coords: np.ndarray, labels: np.ndarray, classes: Sequence[str], title: str,
               axis_labels: tuple[str, str] = ("z1", "z2")) -> plt.Figure:
    """Points coloured by class with a legend of class names."""
    fig, ax = plt.subplots(figsize=(4.4, 3.4))
    _class_scatter(ax, coords, labels, classes)
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.set_title(title)
    ax.legend(markerscale=4, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def simclr_curves(history: History) -> plt.Figure:
    """SimCLR per epoch: the NT-Xent loss and the share of views that find their partner, and the k-NN
    monitor on held-out labelled images."""
    fig, axes = plt.subplots(1, 2, figsize=(PRINT_WIDTH, 2.4))
    epochs = history.column("epoch")
    axes[0].plot(epochs, history.column("train_loss"), marker="o", markersize=3)
    axes[0].set_ylabel("contrastive loss (NT-Xent)")
    axes[0].set_title("contrastive loss (training)")
    axes[1].plot(epochs, history.column("train_pair_accuracy"), marker="o", markersize=3, label="partner found (training views)")
    axes[1].plot(epochs, history.column("knn_monitor"), marker="o", markersize=3, label="k-NN accuracy (validation, monitor)")
    axes[1].set_ylabel("share")
    axes[1].set_title("what the encoder has learned")
    axes[1].legend()
    for ax in axes:
        ax.set_xlabel("epoch")
    fig.suptitle("SimCLR per epoch (no label reaches training)")
    fig.tight_layout()
    return fig


def gan_curves(history: History) -> plt.Figure:
    """DCGAN per epoch: both players' losses, and the discriminator's mean output on real and generated images
    (the real targets are smoothed to 0.9)."""
    fig, axes = plt.subplots(1, 2, figsize=(PRINT_WIDTH, 2.4))
    epochs = history.column("epoch")
    axes[0].plot(epochs, history.column("train_d_loss"), marker="o", markersize=3, label="discriminator")
    axes[0].plot(epochs, history.column("train_g_loss"), marker="o", markersize=3, label="generator (non-saturating)")
    axes[0].set_ylabel("binary cross-entropy")
    axes[0].set_title("losses (training)")
    axes[1].plot(epochs, history.column("train_d_real"), marker="o", markersize=3, label="D(real image)")
    axes[1].plot(epochs, history.column("train_d_fake"), marker="o", markersize=3, label="D(generated image)")
    axes[1].set_ylabel("mean discriminator output")
    axes[1].set_ylim(0, 1)
    axes[1].set_title("the discriminator's view")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.legend()
    fig.suptitle("DCGAN per epoch (alternating updates, one step each)")
    fig.tight_layout()
    return fig


LABEL_OFFSETS = ((5, 3), (-11, 3), (5, -11), (-11, -11), (7, -4), (-13, -4), (-3, 6), (-3, -15), (12, 6),
                 (-18, 6), (12, -15), (-18, -15))  # points from a marker to its number's lower left, nearest first


def _label_offsets(ax: plt.Axes, points: dict[int, tuple[float, float]], size: float = 7.0) -> dict[int, tuple]:
    """For each numbered point (data coordinates), the offset (points) of its number: the first of
    `LABEL_OFFSETS` whose box (`size`-point text) covers no marker and no number placed before it, or the one
    that overlaps least. Call it once the axes' limits and the figure's layout are final."""
    scale = ax.figure.dpi / 72  # points -> pixels
    where = {i: ax.transData.transform(p) for i, p in points.items()}
    marker = 4.5 * scale  # a marker's half width
    boxes: list[tuple[float, float, float, float]] = [(c[0] - marker, c[1] - marker, c[0] + marker, c[1] + marker)
                                                      for c in where.values()]
    chosen = {}
    for i, centre in where.items():
        width, height = 0.62 * size * len(str(i)) * scale, 0.8 * size * scale

        def overlap(offset: tuple[float, float]) -> float:
            x0, y0 = centre[0] + offset[0] * scale, centre[1] + offset[1] * scale
            return sum(max(0.0, min(x0 + width, b[2]) - max(x0, b[0]))
                       * max(0.0, min(y0 + height, b[3]) - max(y0, b[1])) for b in boxes)

        best = min(LABEL_OFFSETS, key=lambda o: (overlap(o) > 0, overlap(o)))  # the first free one, else the least
        chosen[i] = best
        x0, y0 = centre[0] + best[0] * scale, centre[1] + best[1] * scale
        boxes.append((x0, y0, x0 + width, y0 + height))
    return chosen


def quality_map(scores: dict[str, dict], references: Sequence[str],
                groups: dict[str, Sequence[str]] | None = None) -> plt.Figure:
    """Every image set as a numbered point in two panels: precision against recall (Kynkaanniemi et al. 2019; a
    tight cluster such as uniform noise can score a high precision) and density against coverage (Naeem et al.
    2020: fidelity and diversity, as the text ranks them). Marker and colour tell the group of generators
    (`groups`: group name -> names; default one group of every non-reference set); `references` are grey squares.
    The key below names each number with its group and Frechet distance."""
    from matplotlib.lines import Line2D

    from .findings.words import sig

    references = [n for n in references if n in scores]
    groups = {"generators": [n for n in scores if n not in references]} if groups is None else dict(groups)
    style = {n: ("reference", "s", "0.55") for n in references}
    looks = [("o", "tab:blue"), ("^", "tab:orange"), ("D", "tab:green"), ("v", "tab:purple"), ("P", "tab:brown")]
    for (group, names), (marker, colour) in zip(groups.items(), looks * len(groups)):
        style.update({n: (group, marker, colour) for n in names})
    unknown = [n for n in scores if n not in style]
    if unknown:
        raise ValueError(f"quality_map: {unknown} are neither references nor in a group of {list(groups)}.")
    names = [n for n in references] + [n for g in groups.values() for n in g if n in scores]
    fig, axes = plt.subplots(1, 2, figsize=(PRINT_WIDTH, 2.9 + 0.16 * len(names)))
    panels = [("recall", "precision", "recall (share of real images covered by the samples)",
               "precision (share of samples\ninside the real manifold)", "Precision and recall (k = {k})", "k"),
              ("coverage", "density", "coverage (diversity)", "density (fidelity;\nabout 1 for real images)",
               "Density and coverage (k = {k})", "density_coverage_k")]
    numbered = []  # per panel, each shown point's number -> its place: numbered once the layout is final
    for ax, (x, y, xlabel, ylabel, title, k) in zip(axes, panels):
        top = max([1.05] + [1.08 * scores[n][y] for n in names if y in scores[n]])
        ax.set(xlim=(-0.03, 1.05), ylim=(-0.03, top), xlabel=xlabel, ylabel=ylabel)  # first: data -> pixels is final
        shown = [(i, n) for i, n in enumerate(names, 1) if x in scores[n] and y in scores[n]]
        points = {i: (scores[n][x], scores[n][y]) for i, n in shown}
        for i, n in shown:
            _, marker, colour = style[n]
            ax.scatter(*points[i], marker=marker, c=colour, s=30, edgecolors="black", linewidths=0.5, zorder=3)
        numbered.append(points)
        ks = {scores[n][k] for n in names if k in scores[n]}
        ax.set_title(title.format(k=ks.pop()) if len(ks) == 1 else title.replace(" (k = {k})", ""))
    handles = [Line2D([], [], linestyle="", marker=style[n][1], color=style[n][2], markeredgecolor="black",
                      markersize=5,
                      label=f"{i}  {n} ({style[n][0].replace('_', '-')}; Fréchet distance "
                            f"{sig(scores[n]['frechet'])})")
               for i, n in enumerate(names, 1)]
    rows = len(names)
    fig.legend(handles=handles, loc="lower center", ncol=1, bbox_to_anchor=(0.5, 0.0))
    fig.suptitle("Sample quality in the judge's features: every generator against real images and noise")
    fig.tight_layout(rect=(0, (0.1 + 0.15 * rows) / fig.get_figheight(), 1, 1))
    for ax, points in zip(axes, numbered):  # after the layout: the numbers dodge markers where they are drawn
        for i, offset in _label_offsets(ax, points).items():
            ax.annotate(str(i), points[i], textcoords="offset points", xytext=offset)
    return fig


def training_curves(vae_history: History, simclr_history: History, gan_history: History,
                    warmup_epochs: float = 0.0) -> plt.Figure:
    """The three models learned without labels side by side, one panel each at a third of the print width: the
    VAE's validation negative ELBO and its two terms, SimCLR's contrastive loss with its k-NN monitor on a second
    axis, and the DCGAN's two losses."""
    fig, (vae_ax, simclr_ax, gan_ax) = plt.subplots(1, 3, figsize=(PRINT_WIDTH, 2.25),
                                                    gridspec_kw={"width_ratios": (1.15, 1, 1)})  # room for a legend
    epochs = vae_history.column("epoch")
    for column, label, style in (("val_nelbo", "negative ELBO", "-"), ("val_recon", "reconstruction", "--")):
        vae_ax.plot(epochs, vae_history.column(column), linestyle=style, marker="o", markersize=2.5, label=label)
    if warmup_epochs:
        vae_ax.axvline(warmup_epochs + 0.5, color="0.6", linewidth=0.8, linestyle="-.", label="warm-up ends")
    vae_ax.set(xlabel="epoch", ylabel="nats per image (validation)", title="VAE")
    low, high = vae_ax.get_ylim()
    vae_ax.set_ylim(low, high + 0.6 * (high - low))  # headroom: the legend above the curves
    vae_ax.legend(loc="upper right", handlelength=1.4, borderaxespad=0.2)
    kl = vae_ax.twinx()  # the KL term is ten times smaller: its own axis, labelled in its line's colour
    kl.plot(epochs, vae_history.column("val_kl"), color="C2", linestyle=":", marker="o", markersize=2.5)
    kl.set_ylabel("KL (dotted)", color="C2")
    kl.grid(False)
    kl.spines["right"].set_visible(True)
    epochs = simclr_history.column("epoch")
    simclr_ax.plot(epochs, simclr_history.column("train_loss"), color="C0")
    simclr_ax.set(xlabel="epoch", title="SimCLR")
    simclr_ax.set_ylabel("contrastive loss (training, solid)", color="C0")
    monitor = simclr_ax.twinx()  # each axis labelled in its line's colour
    monitor.plot(epochs, simclr_history.column("knn_monitor"), color="C3", linestyle="--")
    monitor.set_ylabel("k-NN accuracy (dashed)", color="C3")
    monitor.grid(False)
    monitor.spines["right"].set_visible(True)
    epochs = gan_history.column("epoch")
    gan_ax.plot(epochs, gan_history.column("train_d_loss"), marker="o", markersize=2.5, label="discriminator")
    gan_ax.plot(epochs, gan_history.column("train_g_loss"), marker="o", markersize=2.5, linestyle="--",
                label="generator")
    gan_ax.set(xlabel="epoch", ylabel="cross-entropy (training)", title="DCGAN")
    gan_ax.legend()
    for ax in (vae_ax, simclr_ax, gan_ax):
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(nbins=5, integer=True))
    fig.tight_layout(w_pad=1.2)
    return fig


SHEET_CELL = 0.4  # inches per image of a class sheet, as printed


def class_sheet(rows: Sequence[torch.Tensor], labels: Sequence[str], title: str) -> plt.Figure:
    """A class sheet (`quality.Sheet`): one row of images per class, labelled on the left with the class and
    its share, each image printed `SHEET_CELL` inches wide (the axes placed in inches, not left to the
    layout), the title wrapped to the sheet's width; a class without images leaves its row blank."""
    if len(rows) != len(labels):
        raise ValueError(f"class_sheet: {len(rows)} rows of images but {len(labels)} labels")
    gap = 2
    height, width = rows[0].shape[-2:]
    canvas = mosaic([list(images) for images in rows], gap=gap)  # at least one image in some row
    inch = SHEET_CELL / width  # inches per pixel of the mosaic
    grid_w, grid_h = inch * canvas.shape[1], inch * canvas.shape[0]
    left = 0.06 * max(len(str(label)) for label in labels) + 0.1
    title = "\n".join(textwrap.wrap(title, int((left + grid_w) / 0.07)))  # about 0.07 in per character
    fig = plt.figure(figsize=(left + grid_w + 0.05, grid_h + 0.2 + 0.15 * title.count("\n") + 0.1))
    ax = fig.add_axes((left / fig.get_figwidth(), 0.05 / fig.get_figheight(), grid_w / fig.get_figwidth(),
                       grid_h / fig.get_figheight()))
    _draw_mosaic(ax, canvas)
    ax.set_yticks(_centres(len(rows), height, gap), list(labels))
    ax.set_xticks([])
    ax.set_title(title, loc="left")
    return fig


def class_columns(images: torch.Tensor, labels: torch.Tensor, classes: Sequence[str], title: str,
                  per_class: int = 2) -> plt.Figure:
    """`per_class` images of each class in one column per class, the class name on top."""
    chosen = [images[labels == c][:per_class] for c in range(len(classes))]
    rows = [torch.stack([column[k] for column in chosen]) for k in range(min(len(c) for c in chosen))]
    return image_rows(rows, [""] * len(rows), title, col_labels=[name.replace("/", "/\n") for name in classes],
                      max_cell=0.55)
