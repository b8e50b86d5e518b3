"""The latent-space helpers (section 4's library layer): encoding, structure measures, samplers over codes,
interpolation, nearest neighbours and 2-D maps, on made-up data where the right answer is known."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from helpers import data, latent, models, results
from helpers.findings import latent as latent_text
from helpers.findings.words import interval_call
from helpers.models import AEConfig, AutoEncoder


def _images(n: int, seed: int = 0) -> data.ImageSet:
    g = torch.Generator().manual_seed(seed)
    x = torch.nn.functional.avg_pool2d(torch.rand(n, 1, 28, 28, generator=g), 5, 1, 2)
    return data.ImageSet((x * 255).to(torch.uint8), torch.arange(n) % 10, tuple("abcdefghij"))


def _blobs(n_per_class: int, spread: float, seed: int, dims: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Ten classes around well separated centres (spread small) or on top of each other (spread large)."""
    rng = np.random.default_rng(seed)
    centres = np.eye(10, dims) * 10 if dims >= 10 else rng.normal(0, 10, (10, dims))
    labels = np.repeat(np.arange(10), n_per_class)
    return (centres[labels] + rng.normal(0, spread, (len(labels), dims))).astype(np.float32), labels


def test_batched_encoding_equals_one_forward_pass():
    torch.manual_seed(0)
    model = AutoEncoder(AEConfig(channels=(8, 16), latent_dim=6)).eval()
    images = _images(50)
    codes = latent.encode(model.encoder, images, mean=0.3, std=0.3, batch_size=7)
    with torch.no_grad():
        reference = model.encoder((images.images.float() / 255 - 0.3) / 0.3)
    assert codes.shape == (50, 6) and torch.allclose(codes, reference, atol=1e-5)


def test_knn_is_perfect_on_separated_codes_and_near_chance_on_random_ones():
    x, y = _blobs(40, 0.1, seed=0, dims=10)
    xt, yt = _blobs(20, 0.1, seed=1, dims=10)
    separated = latent.structure(x, y, xt, yt, seed=0)
    assert separated["knn_accuracy"] == 1.0 and separated["linear_probe_accuracy"] == 1.0
    rng = np.random.default_rng(2)
    noise = latent.structure(rng.normal(size=(400, 10)), y, rng.normal(size=(200, 10)), yt, seed=0)
    assert noise["knn_accuracy"] < 0.25  # chance is 0.1


def test_silhouette_ranks_separated_codes_above_mixed_ones_and_says_its_sample():
    x, y = _blobs(40, 0.5, seed=0)
    mixed, _ = _blobs(40, 30.0, seed=0)
    separated = latent.structure(x, y, x, y, seed=0, silhouette_sample=150)
    overlapping = latent.structure(mixed, y, mixed, y, seed=0, silhouette_sample=150)
    assert separated["silhouette"] > 0.5 > overlapping["silhouette"]
    assert separated["silhouette_sample"] == 150 and separated["dims"] == 8


def test_the_gaussian_sampler_reproduces_the_mean_and_covariance_of_the_codes():
    rng = np.random.default_rng(0)
    cov = np.array([[2.0, 0.8, 0.0], [0.8, 1.0, -0.3], [0.0, -0.3, 0.5]])
    codes = rng.multivariate_normal([1.0, -2.0, 0.5], cov, size=4000)
    drawn = latent.sample(latent.fit_gaussian(codes, seed=0), 20000, seed=1)
    assert np.allclose(drawn.mean(0), codes.mean(0), atol=0.04)  # the codes' own moments, not the generator's
    assert np.allclose(np.cov(drawn.T), np.cov(codes.T), atol=0.06)
    assert np.array_equal(drawn, latent.sample(latent.fit_gaussian(codes, seed=0), 20000, seed=1))  # seeded


def test_per_class_mixture_samples_fall_near_their_class():
    x, y = _blobs(60, 0.3, seed=0, dims=10)
    mixtures = latent.fit_class_mixtures(x, y, components=2, seed=0)
    codes, labels = latent.sample_classes(mixtures, 25, seed=3)
    assert codes.shape == (250, 10) and list(labels) == list(np.repeat(np.arange(10), 25))
    centres = np.stack([x[y == c].mean(0) for c in range(10)])
    closest = np.linalg.norm(codes[:, None] - centres[None], axis=2).argmin(1)
    assert (closest == labels).all()


def test_interpolation_ends_are_its_inputs():
    a, b = torch.randn(32), torch.randn(32)
    path = latent.interpolate(a, b, 10)
    assert path.shape == (10, 32) and torch.equal(path[0], a) and torch.equal(path[-1], b)
    assert torch.allclose(path[5] - path[4], (b - a) / 9, atol=1e-6)
    with pytest.raises(ValueError, match="steps >= 2"):
        latent.interpolate(a, b, 1)


def test_nearest_neighbours_match_a_brute_force_search():
    reference = _images(300, seed=0).images
    queries = torch.rand(37, 1, 28, 28)
    index, distance = latent.nearest(queries, reference, batch_size=16)
    r = reference.flatten(1).double() / 255
    q = queries.flatten(1).double()
    brute = ((q[:, None] - r[None]) ** 2).mean(2)
    assert torch.equal(index, brute.argmin(1))
    assert torch.allclose(distance.double(), brute.min(1).values, atol=1e-5)
    same, zero = latent.nearest(reference[:5], reference)  # a training image is its own nearest, at distance 0
    assert same.tolist() == [0, 1, 2, 3, 4] and torch.all(zero < 1e-6)


def test_decoding_is_batched_and_gives_images_on_the_unit_interval():
    torch.manual_seed(0)
    model = AutoEncoder(AEConfig(channels=(8, 16), latent_dim=6))
    codes = np.random.default_rng(0).normal(size=(23, 6)).astype(np.float32)
    images = latent.decode(model.decoder, codes, device="cpu", batch_size=5)
    with torch.no_grad():
        reference = model.decoder.eval()(torch.from_numpy(codes))
    assert images.shape == (23, 1, 28, 28) and torch.allclose(images, reference, atol=1e-6)
    assert images.min() >= 0 and images.max() <= 1


@pytest.mark.parametrize("method, least", [("pca", 0.5), ("tsne", 0.95)])
def test_2d_maps_are_seeded_and_keep_separated_classes_apart(method, least):
    # ten equidistant centres: a linear 2-D map must overlap some (chance is 0.1); t-SNE keeps all apart
    x, y = _blobs(30, 0.3, seed=0, dims=60)
    coords, _ = latent.embed_2d(x, method, seed=0, pca_dims=20)
    again, _ = latent.embed_2d(x, method, seed=0, pca_dims=20)
    assert coords.shape == (300, 2) and np.allclose(coords, again)
    assert latent.structure(coords, y, coords, y, seed=0)["knn_accuracy"] > least
    with pytest.raises(ValueError, match="choose 'pca' or 'tsne'"):
        latent.embed_2d(x, "umap", seed=0)


def test_penultimate_features_are_what_the_last_linear_layer_reads():
    torch.manual_seed(0)
    x = torch.randn(6, 1, 28, 28)
    hw1 = models.HW1Net().eval()
    with torch.no_grad():
        assert torch.allclose(latent.Penultimate(hw1)(x), hw1.features(x))
        head = models.EncoderClassifier(models.Encoder(AEConfig(channels=(8, 16))), "mlp").eval()
        view = latent.Penultimate(head)
        assert view.width == 256 and torch.allclose(head.head[-1](view(x)), head(x), atol=1e-6)
    with pytest.raises(ValueError, match="no nn.Linear"):
        latent.Penultimate(torch.nn.Conv2d(1, 2, 3))


def test_the_probe_chooses_c_on_validation_labels_by_its_stated_rule():
    x, y = _blobs(30, 6.0, seed=0, dims=40)  # overlapping classes: regularization matters
    xv, yv = _blobs(20, 6.0, seed=1, dims=40)
    xt, yt = _blobs(20, 6.0, seed=2, dims=40)
    found = latent.structure(x, y, xt, yt, val=xv, val_labels=yv, seed=0)
    scaler = StandardScaler().fit(x)
    accuracy = {c: LogisticRegression(C=c, max_iter=1000).fit(scaler.transform(x), y).score(scaler.transform(xv), yv)
                for c in latent.PROBE_CS}
    best = None  # strongest regularization first, stop once validation accuracy falls
    for c in latent.PROBE_CS:
        if best is not None and accuracy[c] < accuracy[best]:
            break
        best = c
    assert found["probe_c"] == best and found["probe_val_accuracy"] == pytest.approx(accuracy[best])
    assert latent.structure(x, y, xt, yt, seed=0)["probe_c"] == 1.0  # no validation split: scikit-learn's default


def _splits(n_train: int = 60, seed: int = 0) -> data.Splits:
    return data.Splits(_images(n_train, seed), _images(30, seed + 1), _images(40, seed + 2), 0.3, 0.3)


def test_structure_and_maps_are_cached_by_their_inputs(tmp_path, capsys):
    splits = _splits()
    reps = {"raw pixels": latent.pixel_features(splits), "PCA (5)": latent.pca_features(splits, 5, seed=0)}
    assert reps["PCA (5)"].dims == 5 and reps["raw pixels"].test.shape == (40, 784)
    first = latent.measure(reps, splits, seed=0, run_dir=tmp_path, silhouette_sample=30)
    again = latent.measure(reps, splits, seed=0, run_dir=tmp_path, silhouette_sample=30)
    assert first == again and capsys.readouterr().out.count("reused") == 2
    changed = {"raw pixels": latent.pixel_features(_splits(seed=5))}
    latent.measure(changed, _splits(seed=5), seed=0, run_dir=tmp_path, silhouette_sample=30)
    assert "computed" in capsys.readouterr().out  # other features: another key
    found = latent.maps({"PCA (5)": reps["PCA (5)"].test}, seed=0, run_dir=tmp_path, pca_dims=3)
    reused = latent.maps({"PCA (5)": reps["PCA (5)"].test}, seed=0, run_dir=tmp_path, pca_dims=3)
    assert found["PCA (5)"]["tsne"].shape == (40, 2) and np.array_equal(found["PCA (5)"]["tsne"], reused["PCA (5)"]["tsne"])
    assert reused["PCA (5)"]["tsne_seconds"] == found["PCA (5)"]["tsne_seconds"] > 0


def test_generation_is_seeded_and_labelled_by_intended_class():
    torch.manual_seed(0)
    decoder = AutoEncoder(AEConfig(channels=(8,), latent_dim=4)).decoder
    codes, labels = _blobs(20, 0.5, seed=0, dims=4)
    made = latent.generate(decoder, codes, labels, "abcdefghij", per_class=3, gaussian=7, components=2, seed=1,
                           device="cpu")
    again = latent.generate(decoder, codes, labels, "abcdefghij", per_class=3, gaussian=7, components=2, seed=1,
                            device="cpu")
    assert made.per_class.images.dtype == torch.uint8 and made.per_class.images.shape == (30, 1, 28, 28)
    assert made.per_class.labels.tolist() == [c for c in range(10) for _ in range(3)] and len(made.gaussian) == 7
    assert torch.equal(made.per_class.images, again.per_class.images)
    assert torch.equal(made.gaussian.images, again.gaussian.images) and (made.gaussian.labels == -1).all()


def test_recognition_counts_intended_classes_and_confidence():
    probs = torch.tensor([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.6, 0.4, 0.0], [0.0, 0.3, 0.7]])
    found = latent.recognition(probs, torch.tensor([0, 1, 1, 2]), ("T-shirt/top", "b", "c"))
    assert found["recognised"] == 0.75 and found["per_class"] == {"t_shirt_top": 1.0, "b": 0.5, "c": 1.0}
    assert found["mean_confidence"] == pytest.approx((0.9 + 0.8 + 0.4 + 0.7) / 4)
    assert found["mean_top_probability"] == pytest.approx((0.9 + 0.8 + 0.6 + 0.7) / 4)
    shares = latent.predicted_shares(probs, ("T-shirt/top", "b", "c"))["shares"]
    assert shares == {"t_shirt_top": 0.5, "b": 0.25, "c": 0.25}


def test_novelty_finds_exact_copies_and_measures_real_test_images():
    train, test = _images(200, seed=0).images, _images(50, seed=1).images
    fresh = _images(9, seed=2).images
    generated = torch.cat([fresh, train[17:18]])  # one exact copy of training image 17
    found = latent.novelty(generated, train, test, seed=0)
    assert found["identical"] == 1 and found["index"][-1] == 17 and found["min_mse"] < 1e-6
    assert found["median_mse"] > 0 and found["test_median_mse"] > 0 and "reconstruction_median_mse" not in found
    blurred = torch.nn.functional.avg_pool2d(test.float(), 3, 1, 1).round().to(torch.uint8)  # aligned with test
    yardsticks = latent.novelty(generated, train, test, seed=0, reconstructed=blurred)
    assert yardsticks["test_median_mse"] == found["test_median_mse"]  # the same test images, seeded
    assert 0 < yardsticks["reconstruction_median_mse"] != found["test_median_mse"]
    assert latent.novelty(fresh, train, test, seed=0)["identical"] == 0


def test_paths_start_and_end_at_the_two_images():
    torch.manual_seed(0)
    model = AutoEncoder(AEConfig(channels=(8, 16), latent_dim=6)).eval()
    images = _images(40)
    pairs = latent.interpolation_pairs(images.labels, [(0, 1), (2, 5)], seed=0)
    assert [(int(images.labels[i]), int(images.labels[j])) for i, j in pairs] == [(0, 1), (2, 5)]
    (code_path, pixel_path), _ = latent.paths(model.encoder, model.decoder, images, pairs, 10, mean=0.3, std=0.3)
    i, j = pairs[0]
    ends = model(((images.images[[i, j]].float() / 255) - 0.3) / 0.3).detach()
    assert code_path.shape == pixel_path.shape == (10, 1, 28, 28)
    assert torch.allclose(code_path[[0, -1]], ends, atol=1e-5)
    assert torch.equal(pixel_path[0], images.images[i].float() / 255)
    assert torch.allclose(pixel_path[-1], images.images[j].float() / 255)


def test_random_pairs_are_seeded_half_within_a_class_and_half_across():
    labels = torch.arange(60) % 10
    drawn = latent.random_pairs(labels, 100, seed=3)
    assert len(drawn["within"]) == len(drawn["across"]) == 50
    assert all(labels[i] == labels[j] and i != j for i, j in drawn["within"])
    assert all(labels[i] != labels[j] for i, j in drawn["across"])
    assert drawn == latent.random_pairs(labels, 100, seed=3) != latent.random_pairs(labels, 100, seed=4)
    assert [len(v) for v in latent.random_pairs(labels, 7, seed=0).values()] == [3, 4]
    with pytest.raises(ValueError, match="two images of one class"):
        latent.random_pairs(torch.arange(5), 4, seed=0)  # no class has a second image


def test_batched_paths_equal_the_paths_of_each_pair_and_inner_images_drop_the_ends():
    torch.manual_seed(0)
    model = AutoEncoder(AEConfig(channels=(8, 16), latent_dim=6)).eval()
    images = _images(40)
    pairs = [(0, 1), (5, 17), (3, 3)]
    code_paths, pixel_paths = latent.path_batch(model.encoder, model.decoder, images, pairs, 5, mean=0.3,
                                                std=0.3)
    assert code_paths.shape == pixel_paths.shape == (3, 5, 1, 28, 28)
    one = latent.paths(model.encoder, model.decoder, images, [pairs[1]], 5, mean=0.3, std=0.3)[0]
    assert torch.allclose(code_paths[1], one[0], atol=1e-5) and torch.equal(pixel_paths[1], one[1])
    inside = latent.inner(pixel_paths)
    assert inside.shape == (3 * 3, 1, 28, 28) and torch.equal(inside[3], pixel_paths[1, 1])
    assert latent.per_pair(np.arange(9.0), 3).tolist() == [1.0, 4.0, 7.0]


def test_path_statistics_give_each_kind_of_pair_its_paired_difference_and_wins():
    rng = np.random.default_rng(0)
    kinds = ["within"] * 60 + ["across"] * 60
    pixels = rng.uniform(0.2, 0.8, 120)
    code = pixels + np.r_[rng.normal(0.3, 0.05, 60), rng.normal(0.0, 0.05, 60)]  # ahead within, level across
    found = latent.path_statistics(code, pixels, kinds, seed=0)
    assert list(found) == ["within", "across", "all"]
    assert [found[k]["pairs"] for k in found] == [60, 60, 120]
    within, across = found["within"]["difference"], found["across"]["difference"]
    assert within["mean"] == pytest.approx(found["within"]["code"] - found["within"]["pixels"])
    assert 0 < within["low"] <= within["mean"] <= within["high"] and not within["within_spread"]
    assert across["within_spread"] and found["within"]["code_wins"] == 1.0
    assert interval_call(within) == 1 and interval_call(across) == 0
    behind = latent.path_statistics(pixels, code, kinds, seed=0)["within"]["difference"]
    assert behind["high"] < 0 and interval_call(behind) == -1
    assert "code − pixels" in latent.path_table(found) and "within a class" in latent.path_table(found)
    with pytest.raises(ValueError, match="aligned"):
        latent.path_statistics(code, pixels[:-1], kinds, seed=0)


def test_principal_sweep_is_centred_and_scaled_to_the_codes_spread():
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(3000, 5)) * np.array([3.0, 1.0, 0.5, 0.2, 0.1]) + 7.0
    axes = latent.principal_axes(codes, 2, seed=0)
    grid = latent.sweep(axes, 5, spread=2.0)
    assert grid.shape == (2, 5, 5) and np.allclose(grid[:, 2], axes["mean"], atol=1e-5)
    assert np.allclose(np.linalg.norm(axes["axes"], axis=1), [3.0, 1.0], rtol=0.05)  # one standard deviation
    assert axes["explained"][0] > axes["explained"][1]


def test_the_explorer_redraws_as_a_slider_moves_without_a_front_end():
    torch.manual_seed(0)
    decoder = AutoEncoder(AEConfig(channels=(8,), latent_dim=4)).decoder
    axes = latent.principal_axes(np.random.default_rng(0).normal(size=(500, 4)), 3, seed=0)
    box = latent.explorer(decoder, axes, device="cpu")
    assert len(box.sliders) == 3
    before = box.picture.value
    box.sliders[0].value = 2.0  # what dragging the slider does
    expected = latent._png(latent.decode(decoder, (axes["mean"] + 2.0 * axes["axes"][0])[None], device="cpu")[0])
    assert box.picture.value != before and box.picture.value == expected


def test_the_explorer_cell_runs_headless_in_a_kernel(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    cells = ["import numpy as np, torch\nfrom IPython.display import display\n"
             "from helpers import latent\nfrom helpers.models import AEConfig, AutoEncoder",
             "decoder = AutoEncoder(AEConfig(channels=(8,), latent_dim=4)).decoder\n"
             "axes = latent.principal_axes(np.random.default_rng(0).normal(size=(200, 4)), 2, seed=0)\n"
             "display(latent.explorer(decoder, axes, device='cpu'))"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(Path(__file__).resolve().parents[1])}}).execute()
    shown = notebook.cells[1].outputs
    assert shown and "application/vnd.jupyter.widget-view+json" in shown[0]["data"]


def test_projection_keeps_distances_up_to_the_variance_left_out():
    rng = np.random.default_rng(0)
    low_rank = rng.normal(size=(300, 5)) @ rng.normal(size=(5, 40))  # 40 numbers, 5 directions of variance
    split = lambda a: latent.Features(a[:200].astype(np.float32), a[200:250].astype(np.float32),
                                      a[250:].astype(np.float32))
    reduced, kept = latent.project(split(low_rank), 5, seed=0)
    assert reduced.dims == 5 and kept == pytest.approx(1.0, abs=1e-5)
    before = np.linalg.norm(low_rank[250:][:, None] - low_rank[250:][None], axis=2)
    after = np.linalg.norm(reduced.test[:, None] - reduced.test[None], axis=2)
    assert np.allclose(before, after, atol=1e-3)
    _, partial = latent.project(split(low_rank), 2, seed=0)
    assert partial < 1.0


def test_structure_metrics_keep_every_representation_when_merged_again(tmp_path):
    from helpers import results
    rows = {"raw pixels": {"knn_accuracy": 0.8}, "code": {"knn_accuracy": 0.85}}
    keys = {"raw pixels": "raw", "code": "ae", "VAE": "vae"}
    results.merge_metrics(tmp_path, "latent", {"structure": latent.structure_metrics(rows, keys)})
    rows["VAE"] = {"knn_accuracy": 0.84}  # a later section adds its row and merges the whole table again
    merged = results.merge_metrics(tmp_path, "latent", {"structure": latent.structure_metrics(rows, keys)})
    assert merged["latent"]["structure"] == {"raw": {"name": "raw pixels", "knn_accuracy": 0.8},
                                             "ae": {"name": "code", "knn_accuracy": 0.85},
                                             "vae": {"name": "VAE", "knn_accuracy": 0.84}}


def test_class_mixing_names_the_classes_a_space_keeps_apart_and_the_ones_it_mixes():
    from helpers import latent
    from helpers.data import ImageSet, Splits
    rng = np.random.default_rng(0)
    classes = ("Shirt", "T-shirt/top", "Bag")
    centres = np.array([[0.0, 0.0], [0.0, 0.0], [10.0, 10.0]])  # shirts and T-shirts share one place; bags apart

    def make(n):
        labels = np.repeat(np.arange(3), n)
        return (centres[labels] + rng.normal(size=(3 * n, 2))).astype(np.float32), labels

    (train, train_y), (test, test_y) = make(200), make(100)
    as_set = lambda y: ImageSet(torch.zeros(len(y), 1, 28, 28, dtype=torch.uint8), torch.as_tensor(y), classes)
    splits = Splits(as_set(train_y), as_set(test_y), as_set(test_y), 0.3, 0.3)
    mixing = latent.class_mixing(latent.Features(train, test, test), splits, classes)
    assert mixing["bag"]["recall"] == 1.0
    assert 0.3 < mixing["shirt"]["recall"] < 0.7 and mixing["shirt"]["confused_with"] == "T-shirt/top"
    text = latent_text.mixing({"raw": mixing})
    apart, mixed = text.split(". ", 1)
    assert "apart" in apart and "Bag" in apart and "Shirt" not in apart, text
    assert "most mixed" in mixed and "Shirt" in mixed and "T-shirt/top" in mixed and "Bag" not in mixed
    assert "in raw pixels" in mixed


# ----------------------------------------------------------------------------- the random-encoder control


def _control_splits(n: int = 60) -> data.Splits:
    return data.Splits(_images(n, 0), _images(20, 1), _images(30, 2), mean=0.4, std=0.3)


def test_batch_norm_calibration_takes_the_data_statistics_and_changes_no_weight():
    torch.manual_seed(0)
    encoder = models.Encoder(AEConfig(channels=(8, 16), latent_dim=4, batch_norm=True))
    weights = {k: v.clone() for k, v in encoder.state_dict().items() if "running" not in k and "batches" not in k}
    images = _images(64)
    latent.calibrate_batch_norm(encoder, images, mean=0.4, std=0.3, seed=0, images=64, batch_size=16)
    assert not encoder.training
    assert all(torch.equal(v, encoder.state_dict()[k]) for k, v in weights.items())
    conv, norm = encoder.features[0], encoder.features[1]
    with torch.no_grad():
        pre = conv((images.images.float() / 255 - 0.4) / 0.3)  # what the first batch norm sees
    assert torch.allclose(norm.running_mean, pre.mean((0, 2, 3)), atol=1e-4)
    assert norm.momentum == 0.1  # left as a trained network's


def test_batch_norm_calibration_leaves_dropout_off():
    """Only the batch norms learn during calibration: a dropout before one would inflate its variance."""
    module = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Dropout(0.5), torch.nn.BatchNorm1d(28 * 28))
    images = _images(64)
    latent.calibrate_batch_norm(module, images, mean=0.0, std=1.0, seed=0, images=64, batch_size=64)
    seen = (images.images.float() / 255).flatten(1)
    assert torch.allclose(module[2].running_mean, seen.mean(0), atol=1e-5)
    assert torch.allclose(module[2].running_var, seen.var(0), atol=1e-5)


def test_random_encoders_are_seeded_distinct_and_leave_the_global_random_state_alone():
    splits, build = _control_splits(), lambda: models.Encoder(AEConfig(channels=(8, 16), latent_dim=4))
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    first = latent.random_encoders(build, splits, seed=5, inits=3)
    assert torch.equal(torch.rand(1), before)  # the caller's random stream is untouched
    again = latent.random_encoders(build, splits, seed=5, inits=3)
    w = lambda e: e.to_code.weight  # noqa: E731
    assert len(first) == 3 and all(torch.equal(w(a), w(b)) for a, b in zip(first, again))
    assert not torch.equal(w(first[0]), w(first[1])) and not torch.equal(w(first[1]), w(first[2]))


def test_a_control_is_measured_per_initialization_and_pooled(tmp_path):
    x, y = _blobs(30, 0.5, seed=0)
    xt, yt = _blobs(10, 0.5, seed=1)
    noisy = [np.random.default_rng(s).normal(size=x.shape).astype(np.float32) for s in range(3)]
    inits = [latent.Features(x + 10 * n, x[:20], xt) for n in noisy]
    rows = [latent.structure(f.train, y, f.test, yt, seed=0) for f in inits]
    found = latent.pooled(rows)
    values = [r["knn_accuracy"] for r in rows]
    assert found["inits"] == 3 and found["knn_accuracy_inits"] == values
    assert found["knn_accuracy"] == pytest.approx(np.mean(values))
    assert found["knn_accuracy_std"] == pytest.approx(np.std(values, ddof=1))
    table = latent.structure_table({"control": found})
    assert "±" in table  # a control's cells carry their spread


def test_a_control_s_initializations_are_cached_under_the_names_they_always_had():
    name = "random encoder, code (32)"
    assert results.initialization_name(name, 0) == "random encoder, code (32), initialization 1"
    assert results.initialization_name("x", 2) == "x, initialization 3"
    assert results.is_control({"knn_accuracy": 0.7, "inits": 3})
    assert not results.is_control({"knn_accuracy": 0.9})
