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
