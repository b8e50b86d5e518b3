"""What each generator gets wrong (section 7): the class sheets' rows and shares from made-up probabilities,
the sharpness measure on blurred images, the flaws stored beside every set's scores, the sentence's facts
(which generator is blurrier, which classes are rare or missing) and the report's optional figures."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from helpers import plots, quality, report
from helpers.findings import generators as gen_text

from .tiny import GROUPS, SCORES

CLASSES = [f"class {c}" for c in range(10)]


def _one_hot(labels: list[int] | torch.Tensor, n_classes: int = 10, top: float = 0.95) -> torch.Tensor:
    """Probabilities putting `top` on each label and the rest evenly on the other classes."""
    labels = torch.as_tensor(labels)
    probs = torch.full((len(labels), n_classes), (1 - top) / (n_classes - 1))
    probs[torch.arange(len(labels)), labels] = top
    return probs


def _smooth_images(n: int, seed: int = 0) -> torch.Tensor:
    """`n` images with edges: random rectangles of random grey on a black background."""
    g = torch.Generator().manual_seed(seed)
    images = torch.zeros(n, 1, 28, 28)
    for i in range(n):
        top, left = torch.randint(2, 12, (2,), generator=g).tolist()
        height, width = torch.randint(8, 14, (2,), generator=g).tolist()
        images[i, 0, top:top + height, left:left + width] = 0.4 + 0.6 * torch.rand(1, generator=g)
    return images


def _blur(images: torch.Tensor, size: int = 5) -> torch.Tensor:
    return torch.nn.functional.avg_pool2d(images, size, 1, size // 2, count_include_pad=False)


# ----------------------------------------------------------------------------- the class sheets


def test_a_sheet_has_one_row_per_class_in_order_with_the_first_images_and_every_share():
    labels = [0] * 12 + [1] * 3 + [3] * 5  # 20 images: class 0 twelve, class 1 three, class 3 five, none else
    labels = [labels[i] for i in np.random.default_rng(0).permutation(20)]
    images = torch.arange(20, dtype=torch.float32).view(20, 1, 1, 1).expand(20, 1, 28, 28).clone()
    sheet = quality.sheet("gan", images, _one_hot(labels), CLASSES, columns=8)
    assert len(sheet.rows) == 10 and sheet.classes == CLASSES and sheet.total == 20
    assert [len(r) for r in sheet.rows] == [8, 3, 0, 5, 0, 0, 0, 0, 0, 0]  # an empty row: a missing mode
    first_of_0 = [i for i, label in enumerate(labels) if label == 0][:8]
    assert sheet.rows[0][:, 0, 0, 0].tolist() == first_of_0  # the first ones in draw order, none picked
    assert sheet.shares == pytest.approx([0.6, 0.15, 0.0, 0.25, 0, 0, 0, 0, 0, 0])
    assert sheet.labels[0] == "class 0 60.0%" and sheet.labels[2] == "class 2 0.0%"
    assert "gan" in sheet.title
    with pytest.raises(ValueError, match="classes"):
        quality.sheet("gan", images, _one_hot(labels)[:, :9], CLASSES)


def test_the_sheet_figure_prints_every_class_row_legibly_at_the_size_asked(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots.use_style()
    labels = [c % 9 for c in range(60)]  # the last class gets nothing
    sheet = quality.sheet("VAE prior, resize decoder", _smooth_images(60), _one_hot(labels), CLASSES)
    fig = plots.class_sheet(sheet.rows, sheet.labels, sheet.title)
    try:
        ax = fig.axes[0]
        assert [t.get_text() for t in ax.get_yticklabels()] == sheet.labels  # every class, in order
        image = ax.images[0]
        cell = image.get_window_extent().width / fig.dpi / image.get_array().shape[1] * 28  # 28 pixels
        assert cell == pytest.approx(plots.SHEET_CELL, rel=0.02) and plots.SHEET_CELL >= 0.4
        plots.save_figure(fig, tmp_path, "sheet")
        info = json.loads((tmp_path / "figures" / "sheet.json").read_text())
        assert info["width_in"] <= plots.PRINT_WIDTH and info["smallest_font_pt"] >= plots.MIN_FONT
        assert not report.figure_check(r"\graphicsopt{sheet.pdf}", tmp_path / "figures", plots.PRINT_WIDTH)
    finally:
        plt.close(fig)


# ----------------------------------------------------------------------------- the measures


def test_blurring_lowers_the_edge_strength_and_noise_raises_it():
    sharp = _smooth_images(40)
    assert quality.edge_strength(_blur(sharp)) < 0.7 * quality.edge_strength(sharp)
    assert quality.edge_strength(_blur(sharp, 3)) > quality.edge_strength(_blur(sharp, 7))
    noise = torch.rand(40, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    assert quality.edge_strength(noise) > quality.edge_strength(sharp)
    assert quality.edge_strength(torch.full((5, 1, 28, 28), 0.5)) == pytest.approx(0.0, abs=1e-6)
    ramp = torch.linspace(0, 27 / 255 * 4, 28).view(1, 1, 1, 28).expand(3, 1, 28, 28)  # +4 levels per pixel
    assert quality.edge_strength(ramp) == pytest.approx(4 / 255, rel=1e-3)  # scaled to grey levels per pixel
    assert quality.edge_strength(quality.to_uint8(sharp)) == pytest.approx(quality.edge_strength(sharp))


def _drawn(draws: int = 2) -> tuple[list[dict], list[dict]]:
    """Sets of `draws` draws with the judge's probabilities: real images spread over every class, a blurred
    generator that never makes class 5 and makes class 8 rarely, and a sharp one that covers every class."""
    sets, probs = [], []
    for d in range(draws):
        real = _smooth_images(200, seed=d)
        even = [i % 10 for i in range(200)]
        # class 8: 2% (every 50th image), class 5: none
        skewed = [8 if i % 50 == 0 else 9 if i % 10 in (5, 8) else i % 10 for i in range(200)]
        sets.append({quality.REAL: (real, None), "blurry": (_blur(real), None),
                     "sharp": (_smooth_images(200, seed=10 + d), None)})
        probs.append({quality.REAL: _one_hot(even), "blurry": _one_hot(skewed, top=0.6),
                      "sharp": _one_hot(even)})
    return sets, probs


def test_flaws_measure_blur_and_rare_classes_against_the_real_images_over_the_draws():
    sets, probs = _drawn()
    found = quality.flaws(sets, probs, CLASSES)
    assert found[quality.REAL]["edge_strength_of_real"] == pytest.approx(1.0)
    assert found["blurry"]["edge_strength_of_real"] < 0.8 < found["sharp"]["edge_strength_of_real"]
    each = [quality.edge_strength(s["blurry"][0]) for s in sets]
    assert found["blurry"]["edge_strength"] == pytest.approx(np.mean(each))
    assert found["blurry"]["edge_strength_std"] == pytest.approx(np.std(each, ddof=1))
    assert found["blurry"]["rare_classes"] == ["class 5", "class 8"]  # in class order
    assert found["blurry"]["class_shares"]["class 5"] == 0.0
    assert found["blurry"]["class_shares"]["class 8"] == pytest.approx(0.02)
    assert sum(found["blurry"]["class_shares"].values()) == pytest.approx(1.0)
    assert found[quality.REAL]["rare_classes"] == [] and found["sharp"]["rare_classes"] == []
    assert quality.rare_share(10) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="reference"):
        quality.flaws([{"sharp": s["sharp"]} for s in sets], probs, CLASSES)


def test_the_probabilities_kept_are_the_ones_the_scores_were_computed_from():
    sets, _ = _drawn(1)
    train = quality.to_uint8(_smooth_images(100, seed=5))

    def embed(images):  # features: block means; probabilities: a fixed map of them
        x = quality.to_uint8(images).float().div(255)
        feats = torch.nn.functional.avg_pool2d(x, 7).flatten(1)
        return feats.numpy(), (feats @ torch.linspace(-1, 1, 160).view(16, 10) * 20).softmax(1)

    scorer = quality.Scorer(embed, _smooth_images(300, seed=7), train, n=100, seed=0)
    drawn = [(sets[0], {})]
    scores, probs = quality.judged_draws(scorer, drawn)
    assert scores == quality.score_draws(scorer, drawn)
    for name, (images, _) in sets[0].items():
        assert torch.equal(probs[0][name], embed(images)[1])
        assert scores[name]["confident_share"] == pytest.approx(quality.confident_share(probs[0][name]))


def _found(blurry: float = 0.55, sharp: float = 0.93, std: float = 0.001) -> dict:
    """The `generators` section of SCORES with flaws: 'gan' the sharper, 'vae, beta 4' the blurrier with
    class 5 missing and class 8 rare, read back as from metrics.json."""
    scores = {name: {**row, "confident_share": 0.9 if name in quality.ROLES else 0.4}
              for name, row in SCORES.items()}
    found = quality.metrics(scores, GROUPS)
    even = {c: 0.1 for c in CLASSES}
    measured = {name: {"edge_strength": 0.1, "edge_strength_std": std, "class_shares": even,
                       "rare_classes": []} for name in SCORES}
    measured["vae, beta 4"] = {"edge_strength": 0.1 * blurry, "edge_strength_std": std,
                               "class_shares": {**even, "class 5": 0.0, "class 8": 0.03, "class 9": 0.27},
                               "rare_classes": ["class 5", "class 8"]}
    measured["gan"] = {**measured["gan"], "edge_strength": 0.1 * sharp}
    for row in measured.values():
        row["edge_strength_of_real"] = row["edge_strength"] / 0.1
    with_flaws = quality.with_flaws(found, measured, ["vae, beta 4", "gan", "mixture"], CLASSES)
    return json.loads(json.dumps(with_flaws, sort_keys=True))


def test_flaws_are_new_keys_under_each_set_and_every_existing_key_stays():
    found = _found()
    before = json.loads(json.dumps(quality.metrics({n: {**r, "confident_share": found["sets"][quality.key(n)][
        "confident_share"]} for n, r in SCORES.items()}, GROUPS), sort_keys=True))
    for key, row in before["sets"].items():
        assert {k: found["sets"][key][k] for k in row} == row
        new = {"edge_strength", "edge_strength_of_real", "class_shares", "rare_classes"}
        assert new <= found["sets"][key].keys()
    assert {k: v for k, v in found.items() if k not in ("sets", "flaws")} == {
        k: v for k, v in before.items() if k != "sets"}
    assert found["flaws"]["sets"] == ["vae_beta_4", "gan", "mixture"]
    assert found["flaws"]["classes"] == CLASSES and found["flaws"]["rare_below"] == pytest.approx(0.05)
    with pytest.raises(ValueError, match="already has"):
        quality.with_flaws(quality.metrics(SCORES, GROUPS), {"gan": {"frechet": 1.0}}, ["gan"], CLASSES)


# ----------------------------------------------------------------------------- the sentence


def _clause(text: str, name: str) -> str:
    """The part of the flaws sentence about the set `name`: from '<name>:' to the next ';' or '.'."""
    start = text.index(f"{name}: ")
    ends = [i for i in (text.find(";", start), text.find(". ", start)) if i >= 0]
    return text[start:min(ends)]


def test_the_flaws_sentence_names_the_blurrier_generator_and_its_rare_and_missing_classes():
    found = _found()
    text = gen_text.flaws(found)
    assert gen_text.edge_call(found, "vae_beta_4") == -1 and gen_text.edge_call(found, "gan") == -1
    assert gen_text.by_sharpness(found) == [["vae_beta_4"], ["gan"], ["mixture"]]
    vae = _clause(text, "vae, beta 4")
    assert "0.55" in vae and "class 5" in vae and "class 8" in vae and "class 9" not in vae
    assert "0.0%" in vae and "3.0%" in vae
    gan = _clause(text, "gan")
    assert "0.93" in gan and "no class below 5%" in gan and "class 5" not in gan
    assert "class 5" not in _clause(text, "mixture")
    blurriest, sharpest = text.split("Blurriest: ")[1].split("; sharpest: ")
    assert "vae, beta 4" in blurriest and "gan" not in blurriest and sharpest.startswith("mixture")
    swapped = gen_text.flaws(_found(blurry=1.4, sharp=0.5))  # now the VAE is the sharpest, sharper than real
    assert gen_text.edge_call(_found(blurry=1.4), "vae_beta_4") == 1
    assert "vae, beta 4" in swapped.split("sharpest: ")[1] and "gan" in swapped.split("Blurriest: ")[1][:5]


def test_edge_strengths_within_the_spread_over_draws_are_level():
    found = _found(blurry=0.995, sharp=1.004, std=0.002)  # every difference below the spread: level
    assert gen_text.edge_call(found, "gan") == 0 and gen_text.edge_call(found, "vae_beta_4") == 0
    assert len(gen_text.by_sharpness(found)) == 1
    assert "Blurriest" not in gen_text.flaws(found)


def test_the_report_states_the_flaws_only_where_the_run_measured_them():
    metrics = {"generators": _found()}
    assert report.findings(metrics)["flaws"] == gen_text.flaws(metrics["generators"]) != ""
    older = {"generators": json.loads(json.dumps(quality.metrics(SCORES, GROUPS), sort_keys=True))}
    assert report.findings(older)["flaws"] == ""  # the macro exists, empty: the report builds


def test_an_optional_figure_is_checked_only_where_the_run_has_it(tmp_path):
    template = r"\graphicsopt{absent.pdf} \graphicsopt{wide.pdf} \newcommand{\x}[1]{\includegraphics{#1}}"
    assert report.figure_check(template, tmp_path, 6.5) == []  # neither PDF: nothing to check
    (tmp_path / "wide.pdf").write_bytes(b"%PDF")
    problems = report.figure_check(template, tmp_path, 6.5)
    assert len(problems) == 1 and "wide.json is missing" in problems[0]
    record = {"width_in": 9.0, "height_in": 2.0, "smallest_font_pt": 8}
    (tmp_path / "wide.json").write_text(json.dumps(record))
    assert "9.00 in wide" in report.figure_check(template, tmp_path, 6.5)[0]
    names = [name for _, name in report.FIGURE.findall(report.TEMPLATE.read_text())]
    assert not [n for n in names if "#" in n]  # a macro's argument is no figure
    assert {"generators_sheet_vae.pdf", "generators_sheet_dcgan.pdf", "generators_sheet_mixture.pdf"} <= set(
        report.OPTIONAL_FIGURE.findall(report.TEMPLATE.read_text()))
    assert set(quality.sheet_sets("resize")) == {"generators_sheet_vae", "generators_sheet_dcgan",
                                                 "generators_sheet_mixture"}
