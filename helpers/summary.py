"""A run's headline table, and the pages generated from the code and the committed files.

`summary(metrics)` is a run's headline (written to `results/<profile>/summary.md`). README.md holds two
generated blocks between markers: the committed run's headline and the profiles table (`profiles_table`, from
`config.PROFILES`). benchmarks/README.md is generated whole from the JSON files beside it
(`benchmarks_readme`). `python -m helpers.report [PROFILE] --readme` rewrites all three; tests check each
against a fresh generation.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Callable

from .config import FASHION_MNIST_TEST, FASHION_MNIST_TRAIN, PROFILES, REPO_ROOT, Profile
from .fewlabels import draws_for
from .findings.autoencoder import pca_clause
from .findings.search import search_verdict
from .findings.words import join, legend, percent, plural, plus_minus, sig
from .results import markdown_table, write_text
from .tuning import SEARCHES, seeded

README = REPO_ROOT / "README.md"
BENCHMARKS = REPO_ROOT / "benchmarks"
# The notebook's sections by their keys in metrics.json → seconds, as the headline names them.
SECTIONS = {"data": "0. data", "autoencoder": "1. autoencoder", "search": "2. search",
            "finetune": "3. fine-tuning", "latent": "4. latent space", "vae": "5. VAE + few labels",
            "simclr": "6. SimCLR", "side_by_side": "7. side by side"}


def markers(name: str) -> tuple[str, str]:
    """The comment lines that open and close README.md's generated block `name`."""
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


HEADLINE_START, HEADLINE_END = markers("headline")
PROFILES_START, PROFILES_END = markers("profiles")

# ----------------------------------------------------------------------------- a run's headline


def search_summary(cv: dict) -> str:
    """Section 2's key numbers: the hand-set configuration's and the search's best cross-validated MSE, paired
    by fold, and how the two compare."""
    side = search_verdict(cv)
    if side is None:
        return (f"no search found another configuration: the hand-set one is kept (test MSE "
                f"{sig(cv['hand_set_test_mse'])})")
    outcome = {-1: "the search's best is lower beyond the paired 95% interval",
               0: "the paired 95% interval contains no difference",
               1: "the hand-set one is lower beyond the paired 95% interval"}[side]
    found_by = f" (found by {cv['compared_from']})" if cv.get("compared_from") else ""
    return (f"{cv['folds']}-fold CV MSE, the search's best{found_by} "
            f"{plus_minus(cv['tuned_mean'], cv['tuned_std'])}, hand-set "
            f"{plus_minus(cv['hand_set_mean'], cv['hand_set_std'])}: {outcome}")


def _finetune_summary(metrics: dict) -> str:
    """Section 3's key numbers: Homework 1's network under its own recipe, from scratch and pretrained, and
    the best classifier on validation."""
    ft, cv, hw1 = metrics["finetune"], metrics.get("finetune_cv", {}), metrics.get("finetune_hw1")
    best = f"best on validation: {legend(ft['best_name'])}, {percent(ft['best_test_accuracy'])}"
    if hw1 is None:
        return (f"Homework 1 network {percent(ft['hw1']['test_accuracy'])} test "
                f"(CV {percent(cv.get('hw1', {}).get('mean'))}); {best}")
    reported = hw1.get("reported_test")  # None on an image collection Homework 1 did not study
    said = "" if reported is None else f" (reported {percent(reported)})"
    return (f"Homework 1 network, its own recipe ({hw1['epochs']} epochs at most): from scratch "
            f"{percent(hw1['scratch']['test_accuracy'])} test{said}, "
            f"pretrained as an autoencoder and fine-tuned {percent(hw1['finetuned']['test_accuracy'])}; "
            f"{best}")


def _generators_summary(found: dict) -> str:
    """Section 7's key numbers from the `generators` section: the Fréchet distance in the judge's features
    (named where the run records its judge; a run without one scored in a classifier's features) of the
    floor, the DCGAN and the ceiling, and the DCGAN's density (fidelity) and coverage (diversity) where each
    passed the check; mean ± standard deviation over draws where the run has one."""
    sets, passed = found["sets"], {by: c["passed"] for by, c in found.get("checks", {}).items()}
    gan = sets["dcgan"]
    value = lambda row, by: plus_minus(row[by], row.get(f"{by}_std"))  # noqa: E731
    space = f"the judge's features ({found['judge']})" if found.get("judge") else "classifier features"
    text = (f"Fréchet distance in {space}: real {value(sets['real_held_out_images'], 'frechet')}, "
            f"DCGAN {value(gan, 'frechet')}, noise {value(sets['uniform_noise'], 'frechet')}")
    kept = [f"{by} {value(gan, by)}" for by in ("density", "coverage") if by in gan and passed.get(by)]
    return text + (f"; DCGAN {join(kept)}" if kept else "")


def summary(metrics: dict) -> str:
    """The headline table of a run (Markdown): profile, device, the notebook sections' seconds, and per
    section the key numbers, every one read from `metrics`."""
    run, sec = metrics["run"], metrics.get("seconds", {})
    reps, gens = metrics.get("representations", {}), metrics.get("generators", {}).get("sets", {})
    data, ae, noise = metrics["data"], metrics["autoencoder"], metrics["ae_denoising"]
    precision = f", {run['precision']}" if "precision" in run else ""
    lines = [f"Profile `{run['profile']['name']}` on {run['device']} (PyTorch {run['versions']['torch']}"
             f"{precision}); notebook sections {sec.get('total', 0):,.0f} s in all.", "",
             "| section | seconds | key numbers |", "|---|---|---|"]
    found = {
        "data": (f"{data['n_train']:,} train / {data['n_validation']:,} validation / {data['n_test']:,} test "
                 f"images"),
        "autoencoder": f"test MSE {sig(ae['test_mse'])} (code {ae['config']['latent_dim']}); "
                       f"{pca_clause(metrics['ae_code_size'])}; denoising {sig(noise['psnr_noisy_db'])} → "
                       f"{sig(noise['psnr_denoised_db'])} dB",
        "search": search_summary(metrics["search_cv"]),
        "finetune": _finetune_summary(metrics),
    }
    if "latent" in metrics:
        recognised = metrics["latent"]["generation"]["recognition"]["recognised"]
        found["latent"] = (f"k-NN: code {percent(reps.get('ae', {}).get('knn_accuracy'))} vs raw pixels "
                           f"{percent(reps.get('raw', {}).get('knn_accuracy'))}; class-conditional samples "
                           f"recognised {percent(recognised)}")
    if "vae" in metrics:
        nll = metrics["vae"]["likelihood"]
        found["vae"] = (f"test NLL {plus_minus(nll['nll'], nll.get('nll_sem'))} nats; SVM with 100 labels: "
                        f"VAE {percent(reps.get('vae', {}).get('few_n100'))}, raw pixels "
                        f"{percent(reps.get('raw', {}).get('few_n100'))}")
    if "simclr" in metrics:
        found["simclr"] = (f"linear probe {percent(metrics['simclr']['linear_probe_accuracy'])}; fine-tuned "
                           f"{percent(metrics['simclr']['finetuned']['test_accuracy'])}")
        semi = metrics.get("unlabeled", {}).get("best", {}).get("n100")
        if semi:  # the closing part of the section: few labels with the unlabeled images
            found["simclr"] += (f"; 100 labels and the unlabeled images: {semi['name']} "
                                f"{plus_minus(semi['mean'], semi['std'], 100, '%')}")
    if gens:
        found["side_by_side"] = _generators_summary(metrics["generators"])
    for key, text in found.items():
        seconds = sec.get(key)
        lines.append(f"| {SECTIONS[key]} | {'–' if seconds is None else f'{seconds:,.0f}'} | {text} |")
    return "\n".join(lines) + "\n"

# ----------------------------------------------------------------------------- README.md's generated blocks


def _images(profile: Profile) -> tuple[int, int, int]:
    """Training, validation and test images of a profile (the validation share rounded up, as in
    `Profile.train_size`)."""
    total = profile.train_limit or FASHION_MNIST_TRAIN
    test = profile.test_limit or FASHION_MNIST_TEST
    return profile.train_size, math.ceil(total * profile.val_fraction), test


def studies(profile: Profile) -> int:
    """Optuna studies of section 2: each seeded search once per sampler seed, grid search once."""
    return sum(profile.sampler_seeds if seeded(name) else 1 for name in SEARCHES)


def _label_draws(profile: Profile) -> str:
    """The label counts of sections 3 and 5 with the random draws made at each (`fewlabels.draws_for`)."""
    counts = sorted(profile.label_counts)
    most = draws_for(counts[0], profile.label_draws)
    fewer = [n for n in counts if draws_for(n, profile.label_draws) < most]
    return (f"{join([f'{n:,}' for n in counts])}: {plural(most, 'draw')}"
            + (f" ({join([f'{n:,}' for n in fewer])}: 1)" if fewer else ""))


def profiles_table() -> str:
    """One row per profile of `config.PROFILES`: its data, and the budgets that set a run's length
    (Markdown)."""
    rows = []
    for profile in PROFILES.values():
        train, val, test = _images(profile)
        search_images = profile.search_limit or profile.compare_limit or train
        rows.append((f"`{profile.name}`", f"{train:,} / {val:,} / {test:,}", profile.ae_epochs,
                     f"{studies(profile)} × {profile.trials}, ≤ {plural(profile.search_epochs, 'epoch')} on "
                     f"{search_images:,} images", profile.hw1_epochs,
                     f"{profile.seeds} × {plural(profile.seed_epochs, 'epoch')}", _label_draws(profile),
                     f"{profile.simclr_epochs} / {profile.gan_epochs}"))
    return markdown_table(["profile", "train / validation / test images", "autoencoder epochs",
                           "search: studies × trials", "Homework 1 recipe: epochs (at most)",
                           "section 3: seeds", "labels: draws", "SimCLR / DCGAN epochs"], rows) + "\n"


def readme_block(readme: str, name: str = "headline") -> str:
    """The text of README.md's generated block `name` (between its markers)."""
    start, end = markers(name)
    if start not in readme or end not in readme:
        raise RuntimeError(f"README.md lacks the markers {start} / {end}.")
    return readme.split(start, 1)[1].split(end, 1)[0].strip("\n") + "\n"


def with_block(readme: str, name: str, text: str) -> str:
    """`readme` with its generated block `name` replaced by `text`."""
    readme_block(readme, name)  # the markers are there
    start, end = markers(name)
    before, rest = readme.split(start, 1)
    return f"{before}{start}\n{text.rstrip()}\n{end}{rest.split(end, 1)[1]}"


def refresh_readme(headline: str, path: Path = README) -> None:
    """Rewrite README.md's generated blocks: the headline (`headline`, a run's `summary`) and the profiles."""
    readme = with_block(path.read_text(), "headline", headline)
    write_text(path, with_block(readme, "profiles", profiles_table()))

# ----------------------------------------------------------------------------- benchmarks/README.md


def machine(report: dict) -> str:
    """The machine a benchmark file was measured on: its CPU model where the file records it."""
    torch = report["versions"]["torch"]
    if "cpu" in report:
        return f"CPU {report['cpu']} (PyTorch {torch})"
    return f"{report['device']} (PyTorch {torch}; the file does not record the host's CPU)"


MODEL_WORDS = {"hw1": "the Homework 1 network", "autoencoder": "the autoencoder"}
DEFAULT_MARK = "(the notebook's"  # the variant the notebook trains with says so in its name


def _variant(row: dict) -> str:
    """A benchmark row's variant without its remark in parentheses."""
    return row["variant"].split(" (")[0]


def _throughput(name: str, report: dict) -> list[str]:
    """A `helpers.bench` file: its table and what it shows, every number read from it."""
    rows = report["rows"]
    models = list(dict.fromkeys(row["model"] for row in rows))
    by_model = {m: [row for row in rows if row["model"] == m] for m in models}
    arithmetic = all("gflops_per_second" in row for row in rows)
    headers = ["model", "pipeline / variant", "images/s", "x conventional"]
    headers += ["GFLOP/s", "share of peak"] if arithmetic else []
    table = [[row["model"], row["variant"], f"{row['images_per_second']:,.0f}", f"{row['ratio']:.2f}x"]
             + ([sig(row["gflops_per_second"]), percent(row["peak_share"])] if arithmetic else [])
             for row in rows]
    fp32 = report.get("peak", {}).get("fp32")
    peak = f"; nominal peak {fp32['derivation']} = {sig(fp32['gflops'])} GFLOP/s" if fp32 else ""
    lines = [f"### Training throughput: {machine(report)}", "",
             f"`python -m helpers.bench --images {report['images']} --repeats {report['repeats']}` "
             f"(`{name}`): {report['images']:,} images an epoch in batches of {report['batch_size']}, the "
             f"median of {plural(report['repeats'], 'timed epoch')} after one warm-up epoch{peak}.", "",
             markdown_table(headers, table), ""]
    default = {m: next(row for row in by_model[m] if DEFAULT_MARK in row["variant"]) for m in models}
    said = join([f"{row['ratio']:.2f}x as fast for {MODEL_WORDS.get(m, m)}" for m, row in default.items()])
    found = [f"Against the conventional pipeline, the project's in the notebook's setting trains {said}."]
    if "cpu" in report:
        bf16 = [row["ratio"] for row in rows if row["variant"].startswith("bf16")]
        if bf16 and "no native bf16" in report["cpu"]:
            found.append(f"This CPU has no native bf16: PyTorch emulates it, the bf16 variants run at "
                         f"{min(bf16):.2f}x to {max(bf16):.2f}x the conventional pipeline's rate, and the "
                         f"notebook trains in fp32 here.")
        compiled = [f"{row['images_per_second'] / default[m]['images_per_second']:.2f} times the rate for "
                    f"{MODEL_WORDS.get(m, m)}" for m in models for row in by_model[m]
                    if row["variant"] == _variant(default[m]) + " + compile"]
        if compiled:
            found.append(f"`torch.compile` on top of that gives {join(compiled)}; it is not the default: "
                         f"compiling is paid once per model (its time is not measured here), and a `quick` "
                         f"run trains over a hundred.")
        if arithmetic:
            best = max(rows, key=lambda row: row["peak_share"])
            found.append(f"The fastest variant uses {percent(best['peak_share'])} of the nominal fp32 peak "
                         f"({MODEL_WORDS.get(best['model'], best['model'])}, {_variant(best)}): convolutions "
                         f"this small, on 28 × 28 images, do not fill the vector units.")
    else:
        eager = [row["images_per_second"] for row in rows if row["ratio"] != 1.0 and "CUDA graph" not in
                 row["variant"]]
        fastest = join([f"{row['ratio']:.2f}x for {MODEL_WORDS.get(m, m)} ({_variant(row)})" for m in models
                        for row in [max(by_model[m], key=lambda r: r["ratio"])]])
        step = join([f"{sig(1000 * report['batch_size'] / row['images_per_second'], 2)} ms for "
                     f"{MODEL_WORDS.get(m, m)}" for m, row in default.items()])
        found.append(f"Eager, every project variant runs at {min(eager):,.0f} to {max(eager):,.0f} "
                     f"images/s whatever the precision, memory format or compilation: a step this small is "
                     f"bound by Python dispatch and kernel launches (our reading, not profiled), and the "
                     f"conventional pipeline's workers keep up with it. So on CUDA the loop captures the "
                     f"whole training step (forward, backward, fused optimizer step, metric sums) as one "
                     f"CUDA graph and replays it for every batch (`training._GraphedStep`): a step of "
                     f"{report['batch_size']} images then takes {step}. The fastest variant reaches "
                     f"{fastest}; compiling is not the default, since it is paid once per model and its time "
                     f"is not measured here.")
    return lines + [" ".join(found), ""]


# The models a parity file may hold: (label, its value in one precision's results, the key of its training
# seconds, the tolerance bf16 training is held to, and whether that tolerance is relative or absolute).
PARITY = (("main autoencoder: test MSE", lambda r: r["autoencoder_test_mse"], "autoencoder_seconds", 0.02,
           "relative"),
          ("main VAE: importance-weighted test NLL, nats", lambda r: r["vae_test"]["nll"], "vae_seconds", 1.0,
           "absolute"),
          ("Homework 1 network: test accuracy", lambda r: r["hw1_test_accuracy"], "hw1_seconds", 0.003,
           "absolute"))


def parity_rows(report: dict) -> list[tuple[str, float, float, float, bool]]:
    """(model, fp32 value, bf16 value, difference, within its tolerance) for each model a parity file holds;
    the difference is relative where the tolerance is."""
    rows = []
    for label, read, _, tolerance, kind in PARITY:
        try:
            fp32, bf16 = read(report["fp32"]), read(report["bf16"])
        except KeyError:
            continue
        difference = bf16 / fp32 - 1 if kind == "relative" else bf16 - fp32
        rows.append((label, fp32, bf16, difference, abs(difference) <= tolerance))
    return rows


def _parity(name: str, report: dict) -> list[str]:
    """A `scripts/precision_parity.py` file: each model trained in fp32 and in bf16, scored in fp32."""
    settings = {label: (seconds, tolerance, kind) for label, _, seconds, tolerance, kind in PARITY}
    table = []
    for label, fp32, bf16, difference, within in parity_rows(report):
        seconds, tolerance, kind = settings[label]
        if kind == "relative":
            shown, limit = f"{100 * difference:+.2f}%", f"{100 * tolerance:g}%"
        elif "accuracy" in label:
            shown, limit = f"{100 * difference:+.2f} points", f"{100 * tolerance:g} points"
        else:
            shown, limit = f"{difference:+.2f}", f"{tolerance:g}"
        table.append((label, sig(fp32, 4), sig(bf16, 4), shown,
                      f"within {limit}: {'yes' if within else 'no'}",
                      f"{report['fp32'][seconds]:,.0f} / {report['bf16'][seconds]:,.0f}"))
    sem = report["fp32"].get("vae_test", {}).get("nll_sem")
    return [f"### Accuracy parity of bf16 training: {machine(report)}", "",
            f"`python scripts/precision_parity.py {report['profile']}` (`{name}`): each model trained as "
            f"the notebook trains it on `{report['profile']}`, once in fp32 and once with "
            f"`HW2_PRECISION=bf16`, and scored in fp32. One seed each, so a difference also holds one "
            f"training's run-to-run noise"
            + (f"; the NLL's standard error over its test images is {sig(sem, 2)} nats" if sem else "") + ".",
            "",
            markdown_table(["model", "fp32 training", "bf16 training", "difference", "tolerance",
                            "training seconds fp32 / bf16"], table), ""]


def _hw1_recipe(name: str, report: dict) -> list[str]:
    """A `scripts/hw1_recipe.py` file: Homework 1's network under its own recipe on a whole profile."""
    reach = [f"{threshold}% at epoch {report[f'epochs_to_{threshold}']} "
             f"({sig(report[f'seconds_to_{threshold}'])} s)" for threshold in (90, 92)
             if report.get(f"epochs_to_{threshold}") is not None]
    return [f"### Homework 1's recipe on `{report['profile']}`: {machine(report)}", "",
            f"`python scripts/hw1_recipe.py {report['profile']}` (`{name}`; {report['precision']}): "
            f"Homework 1's network, trained on {report['train_images']:,} images for "
            f"{plural(report['epochs'], 'epoch')} (kept epoch {report['best_epoch']}), reaches "
            f"{percent(report['test_accuracy'], 2)} test accuracy (validation "
            f"{percent(report['val_accuracy'], 2)}) in {sig(report['seconds'], 4)} s of training and "
            f"validation, {sig(report['seconds'] / report['epochs'])} s an epoch"
            + (f"; validation accuracy {join(reach)}" if reach else "") + ".", ""]


def _notebook_times(name: str, report: dict) -> list[str]:
    """A run's section times, recorded by scripts/record_times.py from its metrics.json, or one session's part
    of a run that spans sessions (`session`) from its executed notebook."""
    headers, costs, owed = ["section", "seconds"], _reused_costs(report), report.get("reused_costs") or None
    keys = list(report["seconds"]) + [key for key in owed or {} if key not in report["seconds"]]
    table = [(SECTIONS.get(key, key), f"{report['seconds'][key]:,.0f}" if key in report["seconds"] else "")
             for key in keys] + [("notebook sections in all", f"{report['notebook_seconds']:,.0f}")]
    if owed is not None:
        headers.append("what its reused results cost (s)")
        spent = [f"{owed[key]:,.0f}" if key in owed else "" for key in keys] + [f"{sum(owed.values()):,.0f}"]
        table = [(*row, cost) for row, cost in zip(table, spent)]
    if "session" not in report:
        return [f"### A `{report['profile']}` run: {machine(report)}", "",
                f"`{name}` ({report['precision']}): {report['what']}. Section seconds are the notebook's own "
                f"(`metrics.json` → `seconds`).{costs}", "", markdown_table(headers, table), ""]
    stopped = report["stopped_in"]
    where = (f"it stopped inside {SECTIONS.get(stopped, stopped)} (its row: the seconds up to then)" if stopped
             else "it ran to the end")
    finished = ", ".join(SECTIONS.get(key, key) for key in report["finished"]) or "none"
    return [f"### Session {report['session']} of a `{report['profile']}` run: {machine(report)}", "",
            f"`{name}` ({report['precision']}): {report['what']}. Sections finished: {finished}; {where}. "
            f"Seconds are papermill's per-cell durations of this session's execution, each cell counted to its "
            f"section.{costs}", "", markdown_table(headers, table), ""]


def _reused_costs(report: dict) -> str:
    """The sentence on what the results an execution reused had cost when computed, and the run's cost from
    nothing where the execution ran to the end ('' for an execution whose `[cache]` lines gave no costs: made
    before costs were printed)."""
    if not report.get("reused_costs"):
        return ""
    text = (" The last column is what the stored results this execution reused had cost when they were computed, "
            "in earlier sessions or earlier in this one (the `[cache]` lines' seconds, each result once)")
    if report.get("costs_unknown"):
        unknown = report["costs_unknown"]
        text += (f"; {plural(unknown, 'reused result')} {'was' if unknown == 1 else 'were'} stored before costs "
                 f"were recorded and add{'s' if unknown == 1 else ''} nothing")
    text += "."
    if "from_nothing_seconds" in report:
        total = report["from_nothing_seconds"]
        text += (f" From nothing, the run costs about {total:,.0f} s ({total / 3600:.1f} h) on this machine: "
                 f"this execution's seconds plus those costs.")
    return text


# file name prefix -> the writer of its section, in the order the page shows them
BENCHMARK_WRITERS: dict[str, Callable[[str, dict], list[str]]] = {
    "notebook-times-": _notebook_times, "bench-": _throughput, "precision-parity-": _parity,
    "hw1-recipe-": _hw1_recipe}

BENCHMARKS_INTRO = """\
# Measured times and the speed study

Generated by `python -m helpers.report [PROFILE] --readme` from the JSON files in this folder: do not edit it
by hand. Each section names its file and the machine it was measured on. Times vary with the load on a shared
machine: there, two runs of the same code differ by 20% or more, so differences of a few per cent mean
nothing.

## How training is made fast

Training computes in bf16 autocast where the hardware does bf16 natively (a CUDA GPU; a CPU with AVX512-BF16
or AMX) and in fp32 elsewhere, with channels-last tensors (`runtime.training_precision`,
`runtime.channels_last`); `HW2_PRECISION=fp32|bf16` overrides the choice. Evaluation and every reported number
are computed in fp32 whatever the training precision, and the precision is part of each run's cache key. The
splits stay on the device as `uint8` tensors; batches are cut from them by index and augmented a whole batch
at once. The loop keeps its per-batch metrics on the device and synchronizes once an epoch (and for a
finite-loss check every 50 steps); on CUDA it replays the training step as a CUDA graph. Timed side by side in
the training loop on the 2-core CPU below, channels-last trained no model of the notebook measurably slower,
so the notebook uses it for all of them.

`make bench` (`python -m helpers.bench`) measures training throughput side by side: the **conventional**
pipeline (`torchvision.datasets.FashionMNIST`, per-sample PIL transforms, a `DataLoader` with one worker per
core, fp32) against the **project**'s, in variants (fp32, channels-last, bf16, `torch.compile`, and on CUDA
the CUDA graph). The warm-up epoch is left out and the median of the timed epochs kept. On a CPU each row also
gives the arithmetic rate: the training step's FLOPs per image (convolutions and matrix products, forward and
backward, counted by `torch.utils.flop_counter`) times images per second, and its share of the cores' nominal
peak.
"""

BENCHMARKS_OUTRO = """\
## Where a run spends its time beyond the training step

Sampled with py-spy on the 2-core CPU: in a cold `quick` run the training step takes 57% of the samples, the
Optuna searches' own bookkeeping under 1% and figures under 1%. In a run that reuses every training run,
scikit-learn takes 47% (the few-label protocol's RBF SVMs, the logistic-regression probes and t-SNE) and the
fp32 evaluation passes 13%. The linear probe solves with Newton-CG, which reaches L-BFGS's optimum in about
half the time on raw pixels; openTSNE's FFT t-SNE took longer than scikit-learn's Barnes-Hut t-SNE at 5,000
points.

`full` has not run end to end on a GPU: the GPU numbers above are the throughput benchmark's.
"""


def benchmarks_readme(folder: Path = BENCHMARKS) -> str:
    """benchmarks/README.md: every JSON file of `folder`, each described by the writer its name selects."""
    parts: dict[str, list[str]] = {prefix: [] for prefix in BENCHMARK_WRITERS}
    for path in sorted(folder.glob("*.json")):
        prefix = next((p for p in BENCHMARK_WRITERS if path.name.startswith(p)), None)
        if prefix is None:
            raise RuntimeError(f"{path} is not a kind of file benchmarks/README.md describes; name it "
                               f"{', '.join(p + '*.json' for p in BENCHMARK_WRITERS)}.")
        parts[prefix] += BENCHMARK_WRITERS[prefix](path.name, json.loads(path.read_text()))
    measured = [line for prefix in BENCHMARK_WRITERS for line in parts[prefix]]
    return BENCHMARKS_INTRO + "\n## Measurements\n\n" + "\n".join(measured) + "\n" + BENCHMARKS_OUTRO


def write_benchmarks_readme(folder: Path = BENCHMARKS) -> Path:
    """Write `benchmarks_readme(folder)` to `folder/README.md`."""
    path = folder / "README.md"
    write_text(path, benchmarks_readme(folder))
    return path
