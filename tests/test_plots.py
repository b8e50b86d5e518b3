"""Image figures: one mosaic per figure (not one axes per picture), pixels where they belong, clear errors."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from helpers import plots


def test_mosaic_places_every_image_and_leaves_blanks():
    a = torch.full((1, 4, 3), 255, dtype=torch.uint8)  # white on a 0-255 scale -> 1.0
    b = torch.full((1, 4, 3), 0.25)  # float images are taken as already on [0, 1]
    canvas = plots.mosaic([[a, b], [None, a]], gap=2, top=1)
    assert canvas.shape == (2 * (4 + 2 + 1) - 2, 2 * (3 + 2) - 2)
    assert np.all(canvas[1:5, 0:3] == 1.0)
    assert np.allclose(canvas[1:5, 5:8], 0.25)
    assert np.all(np.isnan(canvas[8:12, 0:3]))  # the None cell stays blank
    assert np.all(canvas[8:12, 5:8] == 1.0)
    assert np.all(np.isnan(canvas[0])) and np.all(np.isnan(canvas[:, 3:5]))  # caption room and gaps


def test_image_rows_draws_one_image_with_row_and_column_labels():
    rows = [torch.rand(5, 1, 28, 28), torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8)]
    fig = plots.image_rows(rows, ["first", "second"], "title", col_labels=list("abcde"))
    try:
        assert len(fig.axes) == 1 and len(fig.axes[0].images) == 1
        ax = fig.axes[0]
        assert [t.get_text() for t in ax.get_yticklabels()] == ["first", "second"]
        assert [t.get_text() for t in ax.get_xticklabels()] == list("abcde")
        assert ax.get_title() == "title"
    finally:
        plt.close(fig)


def test_image_grid_captions_every_image():
    fig = plots.image_grid(torch.rand(11, 1, 28, 28), [f"c{i}" for i in range(11)], "grid", n_cols=4)
    try:
        ax = fig.axes[0]
        assert len(fig.axes) == 1 and [t.get_text() for t in ax.texts] == [f"c{i}" for i in range(11)]
    finally:
        plt.close(fig)


def test_mismatched_labels_are_one_clear_error():
    with pytest.raises(ValueError, match="2 rows of images but 1 row labels"):
        plots.image_rows([torch.rand(2, 1, 8, 8)] * 2, ["only one"], "t")
    with pytest.raises(ValueError, match="3 images but 2 captions"):
        plots.image_grid(torch.rand(3, 1, 8, 8), ["a", "b"], "t")


def test_learning_speed_shifts_the_pretrained_curves_by_their_pretraining_seconds():
    from helpers.training import History

    rows = [{"epoch": e, "seconds": 10.0 * e, "val_accuracy": 0.8 + 0.01 * e} for e in (1, 2, 3)]
    histories = {"scratch": History(rows=rows), "pretrained": History(rows=rows)}
    fig = plots.learning_speed(histories, (0.9,), pretrain_seconds={"pretrained": 100.0}, title="t")
    try:
        by_epoch, by_time, whole = fig.axes
        assert [list(line.get_xdata()) for line in by_time.lines[:2]] == [[10.0, 20.0, 30.0]] * 2
        assert list(whole.lines[0].get_xdata()) == [10.0, 20.0, 30.0]  # from scratch: nothing to add
        assert list(whole.lines[1].get_xdata()) == [110.0, 120.0, 130.0]
        assert "pretraining" in whole.get_xlabel()
    finally:
        plt.close(fig)
    fig = plots.learning_speed(histories)
    try:
        assert len(fig.axes) == 2  # without pretraining seconds: per epoch and per second only
    finally:
        plt.close(fig)


def test_legends_print_a_run_s_name_in_words_not_its_short_key():
    from helpers.findings.words import LEGEND_WORDS
    from helpers.training import History

    rows = [{"epoch": e, "seconds": 10.0 * e, "val_accuracy": 0.8 + 0.01 * e} for e in (1, 2, 3)]
    names = list(LEGEND_WORDS)
    fig = plots.learning_speed({name: History(rows=rows) for name in names})
    try:
        printed = [t.get_text() for t in fig.legends[0].get_texts()]
        assert printed == [LEGEND_WORDS[n] for n in names] and not any(" lr" in t for t in printed)
    finally:
        plt.close(fig)
    stats = {name: {100: {"mean": 0.7, "std": 0.01}, 1000: {"mean": 0.8, "std": 0.01}} for name in names}
    fig = plots.label_efficiency(stats, bands=True)
    try:  # labels this long go under the axes, so that they do not squeeze them
        assert fig.axes[0].get_legend() is None
        assert [t.get_text() for t in fig.legends[0].get_texts()] == [LEGEND_WORDS[n] for n in names]
    finally:
        plt.close(fig)
    fig = plots.label_efficiency({"raw pixels": stats[names[0]], "PCA": stats[names[0]]})
    try:  # two short labels stay beside the axes
        assert not fig.legends and [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["raw pixels", "PCA"]
    finally:
        plt.close(fig)


def test_the_quality_map_numbers_points_without_covering_each_other():
    fig, ax = plt.subplots(figsize=(3, 3))
    try:
        ax.set(xlim=(0, 1), ylim=(0, 1))
        points = {1: (0.5, 0.5), 2: (0.5, 0.5), 3: (0.51, 0.5), 4: (0.9, 0.1)}
        offsets = plots._label_offsets(ax, points)
        assert len({offsets[i] for i in (1, 2, 3)}) == 3  # three numbers on one spot: three places
        assert offsets[4] == plots.LABEL_OFFSETS[0]  # a point alone keeps the first place
    finally:
        plt.close(fig)


@pytest.mark.parametrize("low, high, expected", [
    (0.006, 0.03, [0.01, 0.02]),  # 1, 2 and 5 times a power of ten
    (0.012, 0.045, [0.015, 0.02, 0.03]),  # inside one decade: 1, 1.5, 2, 3, 5 and 7 times
])
def test_a_log_axis_labels_a_few_round_values_that_cannot_collide(low, high, expected):
    fig, ax = plt.subplots()
    ax.plot([1, 2], [low, high])
    plots.log_y(ax)
    ax.set_ylim(low, high)
    shown = [t for t in ax.get_yticks() if low <= t <= high]
    assert shown == pytest.approx(expected)
    plt.close(fig)
    narrow = plots._SparseLogLocator().tick_values(0.0102, 0.0118)  # none of those twice: an even grid
    assert 2 <= sum(0.0102 <= t <= 0.0118 for t in narrow) <= 5


def test_a_long_map_name_loses_its_aside_in_the_panel_title():
    points = np.random.default_rng(0).normal(size=(6, 2))
    names = ("raw pixels", "best classifier's features (the tuned fine-tuning)")
    maps = {name: {"pca": points, "tsne": points} for name in names}
    fig = plots.latent_maps(maps, np.array([0, 1, 0, 1, 0, 1]), ["T-shirt/top", "Trouser"], "maps")
    try:
        assert [fig.axes[i].get_title() for i in (0, 1)] == ["raw pixels", "best classifier's\nfeatures"]
    finally:
        plt.close(fig)
