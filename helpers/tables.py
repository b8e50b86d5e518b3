"""The report's method tables, generated from the code and the run's configurations: the search space
(`\\searchspacerows`, `\\searchspacesentence`), every network with its blocks and parameter count
(`\\architecturerows`), how each model was trained (`\\trainingrows`) and the trained models side by side
(`\\modelrows`, from `side_by_side.models`). `report.build` writes them to the build folder's `space.tex` and
`tables.tex`."""
from __future__ import annotations

from dataclasses import asdict

from .models import (DCGAN, VAE, AEConfig, AutoEncoder, EncoderClassifier, GANConfig, HW1Autoencoder, HW1Net,
                     SimCLRNet, count_parameters)
from .findings import collections as collection_text
from .findings.words import OPTIMIZERS, SCHEDULES
from .report import latex_value
from .sidebyside import MODEL_COLUMNS, in_order, model_cells
from .data import Augment
from .training import TrainSpec
from .tuning import FIXED, configuration
from .tuning import space_rows as searched_space

SPACE_LABELS = {"lr": "learning rate", "weight_decay": "AdamW's weight decay", "batch_factor": "batch-size factor",
                "schedule": "schedule", "optimizer": "optimizer", "base_channels": "base width $b$",
                "augment": "augmentation"}


def _named(values: str) -> str:
    """A range or list of choices with the optimizers and schedules by name (the part after a colon kept)."""
    head, colon, tail = values.partition(":")
    return ", ".join(OPTIMIZERS.get(v.strip(), SCHEDULES.get(v.strip(), v.strip())) for v in head.split(",")) + (
        colon + tail)


def space_rows() -> str:
    """The macros `\\searchspacerows` (the searched hyperparameters of section 2 as LaTeX table rows: name,
    range or choices, scale) and `\\searchspacesentence` (the same in words), from `tuning.space_rows`, so the
    report's search space is the code's own."""
    searched = [(name, values, scale) for name, values, scale in searched_space() if scale != FIXED]
    table = "\n".join(f"    {SPACE_LABELS.get(name, latex_value(name))} & {latex_value(_named(values))} & "
                      f"{latex_value(scale)} \\\\" for name, values, scale in searched)
    words = []
    for name, values, scale in searched:
        label = SPACE_LABELS.get(name, latex_value(name))
        values = latex_value(_named(values).split(":")[0])
        words.append(f"{label} {values}{' (log scale)' if 'log' in scale else ''}" if " to " in values else
                     f"{label} one of {values}")
    return ("\\newcommand{\\searchspacerows}{%\n" + table + "}\n"
            "\\newcommand{\\searchspacesentence}{" + "; ".join(words) + "}\n")


def _ae_config(config: dict) -> AEConfig:
    return AEConfig(**{**config, "channels": tuple(config["channels"])})


def _times(channels) -> str:
    return ", ".join(str(c) for c in channels)


def _spec(spec: dict) -> TrainSpec:
    """A training recipe as `metrics.json` records it, rebuilt."""
    augment = Augment(**spec["augment"]) if spec.get("augment") else None
    return TrainSpec(**{**spec, "augment": augment, "lr_scales": tuple(map(tuple, spec.get("lr_scales", ())))})


def tuned_autoencoder(metrics: dict) -> tuple[AEConfig, dict] | None:
    """Section 2's tuned autoencoder, (configuration, recipe as `metrics.json` records recipes), where the paired
    cross-validation kept it for the later sections (`search_cv.later_sections_use`) and it differs from section
    1's hand-set one; else None. The recipe is the tuned point of the search space (`tuning.configuration`) on
    the hand-set model's budget, as stage 2 trains it."""
    found, section1 = metrics.get("search_cv", {}), metrics.get("autoencoder", {})
    if found.get("later_sections_use") != "tuned" or found.get("tuned_is_hand_set") or "spec" not in section1:
        return None
    start = (_ae_config(section1["config"]), _spec(section1["spec"]))
    cfg, spec = configuration(found["tuned_params"], start)
    return cfg, asdict(spec)  # nested: the augmentation too


def _autoencoder_rows(title: str, cfg: AEConfig) -> list[tuple[str, str, int]]:
    k, code, widths = cfg.kernel_size, cfg.latent_dim, cfg.channels
    grow = "upsample + conv" if cfg.decoder == "resize" else "transposed conv, stride 2,"
    bn = ", batch norm, ReLU" if cfg.batch_norm else ", ReLU"
    encoder = f"conv {k}$\\times${k}, stride 2, {_times(widths)} channels{bn}; linear to a {code}-number code"
    between = ", batch norm and ReLU between" if cfg.batch_norm else ", ReLU between"
    decoder = (f"linear to {widths[-1]}$\\times$7$\\times$7; {grow} {k}$\\times${k}, "
               f"{_times(list(reversed(widths))[1:] + [1])} channels{between}; sigmoid")
    ae = AutoEncoder(cfg)
    return [(f"{title}: encoder", encoder, count_parameters(ae.encoder)),
            ("\\quad decoder", decoder, count_parameters(ae.decoder))]


def architectures(metrics: dict) -> list[tuple[str, str, int]]:
    """(network, its blocks in words, parameters) for every network of the run, built from the configurations
    in `metrics` (parameters counted on the built network, so they are the run's own)."""
    if "config" not in metrics.get("autoencoder", {}):
        return []  # the notebook's section 1 has not run: the build stops at its first missing metric
    ae_cfg = _ae_config(metrics["autoencoder"]["config"])
    tuned = tuned_autoencoder(metrics)
    rows = _autoencoder_rows("Autoencoder" if tuned is None else "Hand-set autoencoder", ae_cfg)
    if tuned is not None:  # the later models build on the tuned one: its widths are theirs
        ae_cfg = tuned[0]
        rows += _autoencoder_rows("Tuned autoencoder", ae_cfg)
    code, widths = ae_cfg.latent_dim, ae_cfg.channels
    if "config" in metrics.get("vae", {}):
        vae_cfg = _ae_config(metrics["vae"]["config"])
        kind = "upsample + conv" if vae_cfg.decoder == "resize" else "transposed-conv"
        same = ("the tuned autoencoder's" if tuned is not None and vae_cfg.channels == ae_cfg.channels else
                "the autoencoder's" if vae_cfg.channels == ae_cfg.channels else f"{_times(vae_cfg.channels)}-channel")
        rows.append(("VAE", f"{same} blocks; 2$\\times${vae_cfg.latent_dim} code outputs (mean, "
                            f"log-variance); {kind} decoder to Bernoulli logits",
                     count_parameters(VAE(vae_cfg))))
    if "simclr" in metrics:
        rows.append(("SimCLR", f"the same encoder; head linear {code}$\\to$256, batch norm, ReLU, linear to "
                               "64 (dropped after training)", count_parameters(SimCLRNet(ae_cfg))))
    rows.append(("Homework 1 network",
                 "3 $\\times$ (conv 3$\\times$3, batch norm, ReLU, max-pool), 32, 64, 128 channels; "
                 "average pool; dropout 0.25; linear to 10", count_parameters(HW1Net())))
    rows.append(("\\quad pretraining decoder",
                 "linear to 128$\\times$3$\\times$3; 3 $\\times$ (upsample + conv 3$\\times$3), 64, 32, 1 "
                 "channels; sigmoid", count_parameters(HW1Autoencoder().decoder)))
    rows.append(("Encoder + two-layer head",
                 f"encoder to its {widths[-1]}$\\times$7$\\times$7 map; linear to 256, ReLU, dropout 0.2, "
                 "linear to 10", count_parameters(EncoderClassifier(AutoEncoder(ae_cfg).encoder, "mlp"))))
    if "config" in metrics.get("gan", {}):
        gan = DCGAN(GANConfig(**metrics["gan"]["config"]))
        z, w = gan.cfg.z_dim, gan.cfg.width
        rows.append(("DCGAN generator", f"noise ({z}) to {2 * w}$\\times$7$\\times$7; transposed conv "
                                        f"4$\\times$4, stride 2, {w}, 1 channels; batch norm, ReLU; tanh",
                     count_parameters(gan.generator)))
        norm = "; spectral norm" if gan.cfg.spectral_norm else ""
        rows.append(("\\quad discriminator", f"conv 4$\\times$4, stride 2, {w}, {2 * w} channels, LeakyReLU; "
                                             f"linear to a logit{norm}", count_parameters(gan.discriminator)))
    return rows


def _lr(value: float) -> str:
    return f"{value:.3g}"  # a searched rate to three digits


def _augment(augment: dict | None) -> str:
    """A training augmentation in words."""
    if not augment:
        return "none"
    parts = ["flip"] if augment.get("flip") else []
    parts += [f"rotation $\\pm${augment['rotate']:g}$^\\circ$"] if augment.get("rotate") else []
    parts += [f"shift {augment['shift']:g} px"] if augment.get("shift") else []
    parts += [f"noise {augment['noise']:g}"] if augment.get("noise") else []
    return ", ".join(parts) or "none"


def _views(views: dict) -> str:
    """SimCLR's view recipe in words."""
    parts = []
    if "crop_area" in views:
        low, high = views["crop_area"]
        parts.append(f"crop {100 * low:.0f}--{100 * high:.0f}\\%")
    parts += ["flip"] if views.get("flip") else []
    parts += [f"rotation $\\pm${views['rotate']:g}$^\\circ$"] if views.get("rotate") else []
    parts += [f"brightness, contrast $\\pm${views.get('brightness', 0):g}"] if views.get("brightness") else []
    parts += ["erasing"] if views.get("erase") else []
    return ", ".join(parts) or "none"


def training_settings(metrics: dict) -> list[tuple[str, ...]]:
    """(model, optimizer with its learning rate and schedule, batch, epochs, augmentation and other) for each
    trained model."""
    tuned = tuned_autoencoder(metrics)
    specs = [("Autoencoder" if tuned is None else "Hand-set autoencoder", metrics.get("autoencoder", {}).get("spec"),
              "MSE per pixel")]
    if tuned is not None:
        specs.append(("Tuned autoencoder", tuned[1], "MSE per pixel"))
    if "finetune_hw1" in metrics:
        recipe = metrics["finetune_hw1"]["recipe"]
        specs.append(("Homework 1 network", recipe, f"early stopping, patience {recipe['patience']}"))
    if "finetune" in metrics:
        specs.append(("Encoder classifiers", metrics["finetune"]["recipe"], "as Homework 1"))
        tuned_clf = metrics.get("clf_search", {})
        if tuned_clf.get("tuned_params") and not tuned_clf.get("default_kept", True):  # the searched fine-tuning
            p = tuned_clf["tuned_params"]
            recipe = {**metrics["finetune"]["recipe"], "lr": p["lr"], "weight_decay": p["weight_decay"]}
            smoothing = f"label smoothing {p['label_smoothing']:g}" if p.get("label_smoothing") else "no label smoothing"
            specs.append(("\\quad searched fine-tuning", recipe,
                          f"encoder at {p['encoder_lr_scale']:.2g} $\\times$ the rate; {smoothing}"))
    if "spec" in metrics.get("vae", {}):
        vae = metrics["vae"]
        specs.append(("VAE", vae["spec"], f"KL warm-up over {vae['warmup_epochs']} epochs"))
    if "spec" in metrics.get("simclr", {}):
        simclr = metrics["simclr"]
        specs.append(("SimCLR", simclr["spec"], f"temperature {simclr['temperature']:g}"))
    if "spec" in metrics.get("gan", {}):
        specs.append(("DCGAN", metrics["gan"]["spec"],
                      f"$\\beta_1 = 0.5$; real label {metrics['gan']['config']['real_label']:g}"))
    rows = []
    for name, spec, other in specs:
        if spec is None:
            continue
        optimizer = OPTIMIZERS.get(spec["optimizer"], spec["optimizer"])
        if spec.get("weight_decay"):
            optimizer += f" (decay {_lr(spec['weight_decay'])})"
        schedule = SCHEDULES.get(spec.get("scheduler"), str(spec.get("scheduler")))
        optimizer += f", rate {_lr(spec['lr'])}, {schedule}"
        augmentation = (_views(metrics["simclr"].get("views", {})) if name == "SimCLR"
                        else _augment(spec.get("augment")))
        rows.append((name, optimizer, f"{spec['batch_size']:,}", f"{spec['epochs']:,}",
                     f"{augmentation}; {other}"))
    return rows


READ_MARKS = {"code": "c", "feature map": "m"}  # where a model was read, as the models' table marks it


def model_rows(metrics: dict) -> list[str]:
    """The rows of the models' table (`side_by_side.models`, `sidebyside.model_cells`) in LaTeX: a read-out
    marked by where the model was read (`READ_MARKS`), "--" where not measured; one row saying so where the
    run's section 7 predates the table."""
    found = metrics.get("side_by_side", {}).get("models")
    if not found:
        return [f"\\multicolumn{{{len(MODEL_COLUMNS)}}}{{@{{}}l}}{{not in this run: its section 7 ran before "
                "this table was added}"]
    def cell(text: str, where: str | None) -> str:
        return "--" if text == "–" else latex_value(text) + (f"$^\\mathrm{{{READ_MARKS[where]}}}$" if where else "")
    return [" & ".join([latex_value(row["label"]), *[cell(*c) for c in model_cells(row)]])
            for row in in_order(found)]


def tables_tex(metrics: dict) -> str:
    """The macros `\\architecturerows`, `\\trainingrows` and `\\modelrows`: table rows generated from the
    run's configurations and its models' metrics."""
    arch = "\n".join(f"    {name} & {blocks} & {latex_value(n)} \\\\"
                     for name, blocks, n in architectures(metrics))
    training = "\n".join("    " + " & ".join(row) + " \\\\" for row in training_settings(metrics))
    trained = "\n".join(f"    {row} \\\\" for row in model_rows(metrics))
    return (f"\\newcommand{{\\architecturerows}}{{%\n{arch}}}\n"
            f"\\newcommand{{\\trainingrows}}{{%\n{training}}}\n"
            f"\\newcommand{{\\modelrows}}{{%\n{trained}}}\n")


def collections_tex(fashion: dict, mnist: dict | None) -> str:
    """The macro `\\collectiontable`: the headline number of every section on Fashion-MNIST beside MNIST
    (`findings.collections`), after one paragraph saying what changes; empty where no MNIST run is there."""
    if not mnist:
        return "\\newcommand{\\collectiontable}{}\n"
    body = "\n".join(f"    {latex_value(label)} & {latex_value(a)} & {latex_value(b)} \\\\"
                      for label, a, b in collection_text.rows(fashion, mnist))
    return ("\\newcommand{\\collectiontable}{%\n"
            "\\paragraph{The same study on MNIST.} " + latex_value(collection_text.change(fashion, mnist)) +
            " (Table~\\ref{tab:collections}.)\n\n"
            "\\begin{table}[h]\n  \\centering\\footnotesize\n  \\begin{tabular}{@{}lrr@{}}\n    \\toprule\n"
            "    & Fashion-MNIST & MNIST \\\\\n    \\midrule\n" + body + "\n    \\bottomrule\n  \\end{tabular}\n"
            "  \\caption{The headline number of every section on both image collections, one run each (the last row "
            "gives each run's profile and budget). The DCGAN's scores are read in each collection's own judge, so "
            "they compare generators within a column, not across.}\n"
            "  \\label{tab:collections}\n\\end{table}\n}\n")
