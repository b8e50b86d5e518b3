"""Classification from few labels: one protocol for every representation of the study (and the label draws
section 3's classifiers use).

For each label count, several class-balanced random draws of labelled training images; on each draw an RBF
SVM and a logistic regression whose hyperparameters are chosen by stratified k-fold cross-validation on the
drawn examples only (scikit-learn's `GridSearchCV`), then scored once on the test set. A classifier sees the
features and labels of its drawn examples and nothing else: no validation split, no other training label, and
the test labels only to score predictions already made.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from tqdm.auto import tqdm

from .data import ImageSet, balanced_subset
from .findings.words import plus_minus
from .results import array_digest, cached_json, initialization_name, markdown_table
from .statistics import mean_std

METHODS = ("svm", "logreg")
CONTROL_METHODS = ("svm",)  # how random-encoder controls are read (the study's few-label curves are the SVM's)
SVM_C = (1.0, 10.0, 100.0)
SVM_GAMMA = (0.25, 1.0, 4.0)  # times scikit-learn's "scale" (1 / (dims * variance of the drawn features))
LOGREG_C = (0.001, 0.01, 0.1)  # weaker regularization never won on 100-3000 labels and costs the most


RAW = "raw pixels"  # the representation every learned one is read against (sections 3 to 7)


def pixels(data: ImageSet) -> np.ndarray:
    """The `RAW` representation of `data`: its pixels on [0, 1] as float32 rows."""
    return data.images.flatten(1).cpu().numpy().astype(np.float32) / 255


def draws_for(n: int, draws: int) -> int:
    """Random label subsets drawn at `n` labels: `draws` up to 1000 labels, one above (where draws vary little)."""
    return draws if n <= 1000 else 1


def label_draws(labels: np.ndarray, counts: Sequence[int], draws: int, seed: int) -> dict[int, list[np.ndarray]]:
    """Indices of the labelled examples of every draw: class-balanced, draw `d` seeded with `seed + d` (the
    same subsets section 3 trains its classifiers on)."""
    return {n: [balanced_subset(labels, n, seed + d) for d in range(draws_for(n, draws))] for n in counts}


def make_search(method: str, dims: int, variance: float, n_labels: int, folds: int, seed: int) -> GridSearchCV:
    """The cross-validated model of `method` for `n_labels` drawn examples of `dims` features."""
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    if method == "svm":
        scale = 1.0 / (dims * max(variance, 1e-12))
        return GridSearchCV(SVC(kernel="rbf"), {"C": list(SVM_C), "gamma": [g * scale for g in SVM_GAMMA]}, cv=cv,
                            n_jobs=-1)
    if method == "logreg":
        pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        return GridSearchCV(pipe, {"logisticregression__C": list(LOGREG_C)}, cv=cv, n_jobs=-1)
    raise ValueError(f"Unknown few-label method {method!r}; choose one of {', '.join(METHODS)}.")


def folds_for(n: int, folds: int = 5) -> int:
    """Cross-validation folds for `n` drawn labels: `folds` up to 1000 labels, 3 above (1,000 or more examples per
    fold already; the search over 9 SVM settings is the protocol's largest cost)."""
    return folds if n <= 1000 else min(folds, 3)


def fit_draw(x: np.ndarray, y: np.ndarray, method: str, *, folds: int = 5, seed: int = 0) -> GridSearchCV:
    """`method` fitted on the drawn examples (x, y) alone, its hyperparameters chosen by stratified k-fold CV
    on them (k = `folds_for(len(y), folds)`, fewer when a class has fewer examples), then refitted on all."""
    k = int(min(folds_for(len(y), folds), np.bincount(y).min() if len(y) else 0))
    if k < 2:
        raise ValueError(f"A draw of {len(y)} labels has a class with fewer than 2 examples: cross-validation "
                         f"needs at least 2 per class; draw more labels.")
    return make_search(method, x.shape[1], float(x.var()), len(y), k, seed).fit(x, y)


def evaluate(train: np.ndarray, train_labels: np.ndarray, test: np.ndarray, test_labels: np.ndarray,
             draws: dict[int, list[np.ndarray]], *, methods: Sequence[str] = METHODS, folds: int = 5,
             seed: int = 0, desc: str = "few labels") -> dict[str, dict[int, list[dict]]]:
    """For every method, label count and draw: test accuracy and the hyperparameters CV chose.

    Only `train[idx]` and `train_labels[idx]` of each draw's indices `idx` are read; test labels are compared
    with predictions after those are made."""
    train, test = np.asarray(train, dtype=np.float32), np.asarray(test, dtype=np.float32)
    found: dict[str, dict[int, list[dict]]] = {m: {n: [] for n in draws} for m in methods}
    jobs = [(n, idx) for n, subsets in draws.items() for idx in subsets]
    with tqdm(total=len(jobs) * len(methods), desc=desc, leave=False) as bar:
        for n, idx in jobs:
            x, y = train[idx], np.asarray(train_labels)[idx]
            for method in methods:
                search = fit_draw(x, y, method, folds=folds, seed=seed)
                predicted = search.predict(test)
                found[method][n].append({"accuracy": float(np.mean(predicted == np.asarray(test_labels))),
                                         "params": {k.split("__")[-1]: v for k, v in search.best_params_.items()},
                                         "cv_accuracy": float(search.best_score_)})
                bar.update(1)
    return found


def evaluate_cached(run_dir: str | Path | None, name: str, train: np.ndarray, train_labels: np.ndarray,
                    test: np.ndarray, test_labels: np.ndarray, draws: dict[int, list[np.ndarray]], *,
                    methods: Sequence[str] = METHODS, folds: int = 5, seed: int = 0) -> dict[str, dict[int, list[dict]]]:
    """`evaluate`, stored under `run_dir/cache/` by a key of the features, labels, draws and grids."""
    compute = lambda: evaluate(train, train_labels, test, test_labels, draws, methods=methods, folds=folds, seed=seed,
                               desc=f"few labels: {name}")
    key = [array_digest(train, train_labels, test, test_labels, *[i for d in draws.values() for i in d]),
           list(methods), folds, seed, SVM_C, SVM_GAMMA, LOGREG_C, "folds_for v1"]
    stored = cached_json(run_dir, f"few labels {name}", key, compute)
    return {m: {int(n): rows for n, rows in by_n.items()} for m, by_n in stored.items()}


def stats(found: dict[int, list[dict]] | dict[int, list[float]]) -> dict[int, dict]:
    """Mean and sample standard deviation over draws (`statistics.mean_std`, the study's one convention; 0 for
    one draw), and the draws, per label count."""
    out = {}
    for n, rows in found.items():
        values = [r["accuracy"] if isinstance(r, dict) else r for r in rows]
        spread = mean_std(values)
        out[n] = {"mean": spread["mean"], "std": spread["std"] or 0.0, "draws": values}
    return out


def sweep_stats(sweep: dict[str, dict[int, list[float]]], all_labels: tuple[int, dict[str, float]] | None = None
                ) -> dict[str, dict[int, dict]]:
    """`stats` of several named sweeps; `all_labels = (n, {name: accuracy})` adds the runs on every label as one
    more count."""
    if all_labels is not None:
        n_all, accuracies = all_labels
        sweep = {name: {**by_n, n_all: [accuracies[name]]} for name, by_n in sweep.items()}
    return {name: stats(by_n) for name, by_n in sweep.items()}


def sweep_table(stats_by_name: dict[str, dict[int, dict]], all_label: int | None = None, first: str = "strategy",
                params: dict[str, str] | None = None) -> str:
    """Markdown table: accuracy in percent, mean ± std over draws per name and label count (`all_label`:
    shown as "all"); with `params`, a last column of parameter counts (text per name)."""
    counts = sorted({n for by_n in stats_by_name.values() for n in by_n})

    def cell(s: dict | None) -> str:
        if s is None:
            return ""
        return plus_minus(s["mean"], s["std"], 100, "%")
    extra = ["params (trainable / total)"] if params else []
    return markdown_table([first, *[f"all ({n:,})" if n == all_label else f"{n:,} labels" for n in counts], *extra],
                          [(name, *[cell(by_n.get(n)) for n in counts], *([params[name]] if params else []))
                           for name, by_n in stats_by_name.items()])


def metrics(stats_by_method: dict[str, dict[str, dict[int, dict]]], keys: dict[str, str],
            draws: dict[int, list[np.ndarray]], folds: int = 5) -> dict:
    """The `few_labels` section of metrics.json: per representation (by its key) and method, the mean and std
    over draws at every label count; and the protocol (draws per count, folds, grids)."""
    found = {"protocol": {"draws": {f"n{n}": len(d) for n, d in draws.items()},
                          "folds": {f"n{n}": folds_for(n, folds) for n in draws}, "svm_c": SVM_C,
                          "svm_gamma_times_scale": SVM_GAMMA, "logreg_c": LOGREG_C}}
    for method, by_name in stats_by_method.items():
        for name, by_n in by_name.items():
            found.setdefault(keys[name], {"name": name})[method] = {
                f"n{n}": {"mean": s["mean"], "std": s["std"]} for n, s in by_n.items()}
    return found


@dataclass
class Registry:
    """The study's few-label table: every representation added to it is read by the same protocol on the same
    label draws (`evaluate_cached`), under its name and its key in metrics.json. Sections add rows as their
    representations are learned."""

    run_dir: Path | None
    train_labels: np.ndarray
    test_labels: np.ndarray
    draws: dict[int, list[np.ndarray]]
    keys: dict[str, str] = field(default_factory=dict)  # name -> key in metrics.json
    found: dict[str, dict] = field(default_factory=dict)  # name -> `evaluate`'s results
    inits: dict[str, int] = field(default_factory=dict)  # name of a control -> its random initializations
    control_of: dict[str, str] = field(default_factory=dict)  # key of a trained representation -> its control's

    @classmethod
    def of(cls, run_dir: Path | None, train_labels: np.ndarray, test_labels: np.ndarray,
           counts: Sequence[int], draws: int, seed: int) -> Registry:
        """An empty table over the draws `label_draws(train_labels, counts, draws, seed)`."""
        return cls(run_dir, np.asarray(train_labels), np.asarray(test_labels),
                   label_draws(train_labels, counts, draws, seed))

    def add(self, key: str, name: str, train: np.ndarray, test: np.ndarray) -> None:
        """Read the representation `name` (training and test rows) by the protocol and keep it under `key`."""
        self.keys[name] = key
        self.found[name] = evaluate_cached(self.run_dir, name, train, self.train_labels, test,
                                           self.test_labels, self.draws)

    def add_control(self, key: str, name: str, inits: Sequence[tuple[np.ndarray, np.ndarray]],
                    methods: Sequence[str] = CONTROL_METHODS) -> None:
        """Read a random-encoder control (training and test rows of each random initialization) by the protocol
        with `methods`, each initialization on the same draws; its accuracies pooled over initializations and
        draws, so its spread holds both."""
        runs = [evaluate_cached(self.run_dir, initialization_name(name, i), train, self.train_labels, test,
                                self.test_labels, self.draws, methods=methods)
                for i, (train, test) in enumerate(inits)]
        self.keys[name], self.inits[name] = key, len(runs)
        self.found[name] = {m: {n: [row for run in runs for row in run[m][n]] for n in self.draws} for m in methods}

    def name(self, key: str) -> str:
        """The representation kept under `key`."""
        found = [n for n, k in self.keys.items() if k == key]
        if not found:
            raise KeyError(f"no representation of the few-label table has the key {key!r} (keys: "
                           f"{sorted(self.keys.values())}).")
        return found[0]

    def statistics(self) -> dict[str, dict[str, dict[int, dict]]]:
        """Per method and representation name, `stats` over the draws at every label count."""
        return {m: {n: stats(found[m]) for n, found in self.found.items() if m in found} for m in METHODS}

    def metrics(self) -> dict:
        """The `few_labels` entries of metrics.json for every representation added so far (see `metrics`); a
        control's entry says over how many random initializations (`inits`) its draws are pooled, and a trained
        representation's entry names its control (`random_control`)."""
        found = metrics(self.statistics(), self.keys, self.draws)
        for name, inits in self.inits.items():
            found[self.keys[name]]["inits"] = inits
        for key, control in self.control_of.items():
            if key in found and control in found:
                found[key]["random_control"] = control
        return found
