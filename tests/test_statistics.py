"""`statistics.pooled`, the one pooling of repeated measurements: the rows it gives the autoencoder's seeds,
the random encoders' initializations and the generators' draws, key by key and in order, as those sections
stored them before they shared it."""
from __future__ import annotations

import pytest

from helpers import autoencoder as ae, latent, quality, statistics

SEED_ROWS = [
    {"val_mse": 0.0101, "train_mse": 0.008, "gap": 0.0021, "seconds": 12.5, "epochs": 5,
     "stopped_early": True, "parameters": 1234, "kept_epoch": 4},
    {"val_mse": 0.0095, "train_mse": 0.0079, "gap": 0.0016, "seconds": 13.0, "epochs": 5,
     "stopped_early": False, "parameters": 1234, "kept_epoch": 5},
    {"val_mse": 0.0110, "train_mse": 0.0081, "gap": 0.0029, "seconds": 12.0, "epochs": 4,
     "stopped_early": True, "parameters": 1234, "kept_epoch": 3}]

INIT_ROWS = [
    {"dims": 8, "silhouette_sample": 100, "knn_accuracy": 0.5, "silhouette": 0.1,
     "linear_probe_accuracy": 0.6, "probe_c": 1.0},
    {"dims": 8, "silhouette_sample": 100, "knn_accuracy": 0.55, "silhouette": 0.12,
     "linear_probe_accuracy": 0.6, "probe_c": 10.0},
    {"dims": 8, "silhouette_sample": 100, "knn_accuracy": 0.52, "silhouette": 0.08,
     "linear_probe_accuracy": 0.6, "probe_c": 10.0}]


def test_a_variant_over_seeds_keeps_every_key_value_and_position():
    # What `autoencoder.over_seeds` returned for these rows with its own loop over `SEEDED`.
    before = [
        ("val_mse", 0.010199999999999999), ("train_mse", 0.008), ("gap", 0.0022), ("seconds", 12.5),
        ("epochs", 4.666666666666667), ("stopped_early", 2), ("parameters", 1234), ("kept_epoch", 4.0),
        ("seeds", 3), ("val_mse_std", 0.0007549834435270747), ("val_mse_seeds", [0.0101, 0.0095, 0.011]),
        ("train_mse_std", 9.99999999999994e-05), ("train_mse_seeds", [0.008, 0.0079, 0.0081]),
        ("gap_std", 0.0006557438524302), ("gap_seeds", [0.0021, 0.0016, 0.0029]), ("seconds_std", 0.5),
        ("seconds_seeds", [12.5, 13.0, 12.0]), ("epochs_std", 0.5773502691896258),
        ("epochs_seeds", [5, 5, 4]), ("kept_epoch_std", 1.0), ("kept_epoch_seeds", [4, 5, 3])]
    assert list(ae.over_seeds(SEED_ROWS).items()) == before
    one = ae.over_seeds(SEED_ROWS[:1])
    assert one["seeds"] == 1 and one["val_mse"] == 0.0101 and one["val_mse_std"] is None
    assert one["epochs"] == 5.0 and one["epochs_seeds"] == [5] and one["stopped_early"] == 1


def test_a_control_over_initializations_keeps_every_key_value_and_position():
    # What `latent.pooled` returned for these rows with its own loop over `MEASURES`.
    before = [
        ("dims", 8), ("silhouette_sample", 100), ("inits", 3), ("knn_accuracy", 0.5233333333333333),
        ("knn_accuracy_std", 0.025166114784235853), ("knn_accuracy_inits", [0.5, 0.55, 0.52]),
        ("silhouette", 0.09999999999999999), ("silhouette_std", 0.019999999999999997),
        ("silhouette_inits", [0.1, 0.12, 0.08]), ("linear_probe_accuracy", 0.6),
        ("linear_probe_accuracy_std", 0.0), ("linear_probe_accuracy_inits", [0.6, 0.6, 0.6]),
        ("probe_c", 10.0)]
    assert list(latent.pooled(INIT_ROWS).items()) == before


def test_pooled_takes_only_the_keys_asked_for_that_the_rows_have_and_tags_their_values():
    found = statistics.pooled(SEED_ROWS, ("gap", "missing", "val_mse"), tag="draws")
    assert list(found) == ["gap", "gap_std", "gap_draws", "val_mse", "val_mse_std", "val_mse_draws"]
    assert found["gap"] == pytest.approx(0.0022) and found["val_mse_draws"] == [0.0101, 0.0095, 0.011]
    assert list(statistics.pooled(SEED_ROWS, ("gap",), tag=None)) == ["gap", "gap_std"]


def test_pooled_without_keys_pools_what_the_generators_pooling_pools():
    draws = [{"set a": {"fid": 10.0 + d, "precision": 0.5 + d / 10, "n": 500, "k": 3 + d, "passes": True,
                        "name": "a"},
              "set b": {"fid": 20.0 - d, "precision": 0.4, "n": 500, "k": 3, "passes": False, "name": "b"}}
             for d in range(3)]
    for name, row in quality.pooled_scores(draws).items():
        rows = [d[name] for d in draws]
        pooled = statistics.pooled(rows, tag=None)
        assert {"draws": len(rows), **rows[0], **pooled} == row
    assert set(statistics.pooled([d["set b"] for d in draws], tag=None)) == {"fid", "fid_std", "precision",
                                                                              "precision_std"}


def test_the_autoencoder_tables_name_the_seeds_their_pooled_columns_hold():
    three = {"a": ae.over_seeds(SEED_ROWS), "b": {**ae.over_seeds(SEED_ROWS[:1]), "test_mse": 0.01}}
    three["a"]["test_mse"] = 0.012
    one = {"a": {**SEED_ROWS[0], "test_mse": 0.012}}
    for table in (ae.summary_table, ae.decoder_table):
        assert "3 seeds" in table(three).splitlines()[0] and "seeds" not in table(one).splitlines()[0]
    best = {"Adam": {**three["a"], "lr": 0.001, "val_mse_by_lr": {"0.001": 0.0101}},
            "SGD": {**ae.over_seeds(SEED_ROWS[:2]), "lr": 0.1, "val_mse_by_lr": {"0.1": 0.02}}}
    assert "3 seeds" in ae.optimizer_table(best).splitlines()[0]
    single = {"Adam": {**one["a"], "lr": 0.001, "val_mse_by_lr": {"0.001": 0.0101}}}
    assert " seeds" not in ae.optimizer_table(single).splitlines()[0]
