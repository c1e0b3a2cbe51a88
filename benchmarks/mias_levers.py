"""What each lever gives the MIAS detector: tile AUC against image statistics, same folds, one run.

Chapter 09's tiles and folds (real mini-MIAS, five folds by woman) under a profile's recipe
(``params/<profile>.yaml``, section ``09_real_mias``), then one line per variant of the recipe:
the ConvNet's out-of-fold tile AUC, the statistics classifier's on the same tiles, their paired
difference (95% interval over women) and the minutes the variant took (its training; runs
already cached by content cost nothing). Issue 11 asks which of training length, tile size and
field of view, negatives, width, augmentation and test-time averaging moves the ConvNet past
the statistics; this script measures it and never runs in the test suite.

A variant is ``NAME`` or ``NAME:field=value,field=value`` over :class:`MiasRecipe` fields
(``epochs``, ``width``, ``pos_weight``, ``val_fraction``, ``learning_rate``, ``bn_momentum``) and
its tile fields prefixed ``tiles.`` (``tiles.n_crops``, ``tiles.out_size``, ...); ``tta=1``
scores with the eight flips and quarter turns. Usage::

    .venv/bin/python benchmarks/mias_levers.py --profile quick
    .venv/bin/python benchmarks/mias_levers.py --variants base tta:tta=1 long:epochs=40
    .venv/bin/python benchmarks/mias_levers.py --folds 0 1   # score only these folds' tiles
    .venv/bin/python benchmarks/mias_levers.py --ensemble --variants s0:seed=0 s1:seed=1
    .venv/bin/python benchmarks/mias_levers.py --maps --variants base hn:hn.per_scan=4

Keys prefixed ``hn.`` (``hn.per_scan``, ``hn.epochs``, ``hn.refine``, ``hn.rounds``;
``hn.epochs=null`` retrains from scratch) train each fold in two rounds (``hn.rounds=2``:
three, each mining the round before's maps) with hard negatives mined from its
training scans' maps (:class:`mammo_lib.scan.hard_negatives.HardNegatives`). ``--maps`` also
maps every scan with its own fold's model (the first of an ensemble) and prints the
scan-level AUC and the lesion sensitivity at one false-positive mark per scan (all lesions
and masses), as chapter 09 computes them: one line for each breast alone and one
("bilat.") for the same maps compared with the woman's other breast
(:mod:`mammo_lib.scan.bilateral`). ``hn.per_scan=0`` is the control: the second round without
hard negatives.

``--ensemble`` adds a line for the mean of all variants' out-of-fold ConvNet probabilities
(a fold ensemble: every member of a fold was trained on the same women; the variants must
cut the same tiles).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import yaml  # noqa: E402


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    """``"name:a=1,b=2"`` -> ``("name", {"a": "1", "b": "2"})``."""
    name, _, spec = text.partition(":")
    changes = dict(item.split("=", 1) for item in spec.split(",") if item)
    return name, changes


def apply(recipe, changes: dict[str, str]):
    """`recipe` with `changes` (values parsed as YAML); returns (recipe, tta, trainer)."""
    from mammo_lib.dataset.mias_tiles import MiasTileConfig
    from mammo_lib.scan.hard_negatives import HardNegatives

    changes = dict(changes)
    tta = bool(yaml.safe_load(changes.pop("tta", "0")))
    hard = {k[3:]: yaml.safe_load(changes.pop(k)) for k in list(changes) if k.startswith("hn.")}
    trainer = HardNegatives(**hard) if hard else None
    tiles = {k[6:]: yaml.safe_load(v) for k, v in changes.items() if k.startswith("tiles.")}
    plain = {k: yaml.safe_load(v) for k, v in changes.items() if not k.startswith("tiles.")}
    for key in tiles:
        if key not in {f.name for f in dataclasses.fields(MiasTileConfig)}:
            raise SystemExit(f"unknown tile field {key!r}")
    if "fc_units" in plain:
        plain["fc_units"] = tuple(plain["fc_units"])
    recipe = dataclasses.replace(recipe, tiles=dataclasses.replace(recipe.tiles, **tiles), **plain)
    return recipe, tta, trainer


def main() -> None:
    from mammo_lib.config import load_profile
    from mammo_lib.dataset.mias_tiles import ensure_mias_tiles
    from mammo_lib.evaluate.mias_cv import ensure_mias_cv
    from mammo_lib.train.mias_detector import MiasRecipe

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--variants", nargs="+", default=["base", "tta:tta=1"])
    parser.add_argument("--n-boot", type=int, default=500)
    parser.add_argument(
        "--folds", type=int, nargs="*", help="score only the tiles of these folds (faster)"
    )
    parser.add_argument(
        "--ensemble", action="store_true", help="also score the mean of the variants' scores"
    )
    parser.add_argument(
        "--maps", action="store_true", help="also map every scan with its fold's model"
    )
    args = parser.parse_args()

    params = load_profile(args.profile).get("09_real_mias", {})
    base = MiasRecipe.from_parameters(params)
    n_folds, seed = int(params.get("n_folds", 5)), int(params.get("seed", 0))
    classifier = params.get("statistics_classifier", "boosting")
    print(f"CPU: {platform.machine()}, {os.cpu_count()} cores; profile {args.profile}")
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    rows, members, map_rows = [], [], []
    for text in args.variants:
        name, changes = parse_variant(text)
        recipe, tta, trainer = apply(base, changes)
        if trainer is not None and args.folds:
            raise SystemExit("--folds cannot train hard negatives (hn.): use all folds")
        t0 = time.perf_counter()
        data = ensure_mias_tiles(recipe.tiles, progress=False)
        cv_kw = {"n_splits": n_folds, "seed": seed}
        stats = ensure_mias_cv(data, "statistics", classifier=classifier, **cv_kw)
        if args.folds:
            cnn, keep = some_folds(data, recipe, tta, n_folds, seed, args.folds)
            stats = stats[keep].reset_index(drop=True)
        else:
            extra = {"tta": True} if tta else {}
            if trainer is not None:
                extra["trainer"] = trainer
            cnn = ensure_mias_cv(data, "convnet", recipe=recipe, progress=False, **cv_kw, **extra)
        minutes = (time.perf_counter() - t0) / 60
        members.append((data.config, cnn))
        rows.append(line(name, cnn, stats, args.n_boot, seed, f"{minutes:6.1f}  {text}"))
        print(rows[-1], flush=True)
        if args.maps:
            t0 = time.perf_counter()
            alone, both = map_line(data, cnn, params, n_folds, seed, args.n_boot)
            minutes = (time.perf_counter() - t0) / 60
            map_rows.append(f"{name:<14} {alone}  {minutes:6.1f}")
            map_rows.append(f"{name + ' bilat.':<14} {both}       -")
            print("\n".join(map_rows[-2:]), flush=True)
    if args.ensemble and len(members) > 1:
        if len({m[0] for m in members}) > 1:
            raise SystemExit("--ensemble: the variants cut different tiles")
        mean = members[0][1].assign(
            probability=np.mean([m[1]["probability"].to_numpy() for m in members], axis=0)
        )
        rows.append(line("ensemble", mean, stats, args.n_boot, seed, "     -  mean of the above"))
        print(rows[-1], flush=True)
    print()
    print(f"{'variant':<14} {'ConvNet AUC':<22} {'statistics AUC':<22} {'difference':<25} minutes")
    print("\n".join(rows))
    if map_rows:
        print()
        print(f"{'variant':<14} {'scan AUC':<22} {'sens@1FP':<22} {'masses@1FP':<22} minutes")
        print("\n".join(map_rows))
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def line(name: str, cnn, stats, n_boot: int, seed: int, tail: str) -> str:
    """One result line: both AUCs and their paired difference with intervals over women."""
    from mammo_lib.evaluate.mias_cv import paired_auc_table

    r = paired_auc_table(cnn, stats, classes=("all",), n_boot=n_boot, seed=seed).iloc[0]
    return (
        f"{name:<14} {r.convnet:.3f} [{r.convnet_low:.3f}, {r.convnet_high:.3f}]  "
        f"{r.statistics:.3f} [{r.statistics_low:.3f}, {r.statistics_high:.3f}]  "
        f"{r.difference:+.3f} [{r.difference_low:+.3f}, {r.difference_high:+.3f}]  {tail}"
    )


def map_line(data, cnn, params: dict, n_folds: int, seed: int, n_boot: int) -> list[str]:
    """Scan AUC and sensitivities at 1 FP/scan of the held-out maps, with intervals: one line
    of cells for each breast alone, one for the bilateral comparison
    (:mod:`mammo_lib.scan.bilateral`)."""
    from mammo_lib.evaluate.mias_cv import mias_folds
    from mammo_lib.scan.bilateral import bilateral_tables
    from mammo_lib.scan.mias_maps import map_held_out, map_tables, scan_folds
    from mammo_lib.sources.mias import load_mias

    mias = load_mias()
    folds = mias_folds(data, n_folds, seed)
    run_dirs = [cnn.loc[folds == k, "run"].iloc[0] for k in range(n_folds)]
    n_images = params.get("mias_images")
    images = mias.images if n_images is None else mias.images.iloc[:n_images]
    fold_of_scan = scan_folds(data.meta, folds, images)
    refine = params.get("map_refine")
    cases, _ = map_held_out(run_dirs, fold_of_scan, mias, refine=refine)
    nms = int(params.get("mark_nms", 3))
    tables = map_tables(cases, mias, images, nms=nms, n_boot=n_boot, seed=seed)
    patients = dict(zip(images.index, images["patient_id"], strict=True))
    both = bilateral_tables(tables, cases, patients, n_boot=n_boot, seed=seed)
    return [map_cells(t, n_boot, seed) for t in (tables, both)]


def map_cells(tables, n_boot: int, seed: int) -> str:
    """Scan AUC, sensitivity at 1 FP/scan of all lesions and of masses, with intervals."""
    from mammo_lib.evaluate.bootstrap import bootstrap_ci
    from mammo_lib.evaluate.metrics import roc_auc
    from mammo_lib.sources.mias import MASSES

    s = tables.scores
    y = s["abnormal"].astype(int)
    auc = bootstrap_ci(roc_auc, [y, s["max"]], s["patient_id"], n_boot, seed)
    at = tables.froc.set_index(["abnormality", "fp_per_scan"])
    cells = [f"{auc.estimate:.3f} [{auc.low:.3f}, {auc.high:.3f}]"]
    for group in ("all", MASSES):
        r = at.loc[(group, 1.0)]
        cells.append(f"{r.sensitivity:.3f} [{r.low:.3f}, {r.high:.3f}]")
    return "  ".join(cells)


def some_folds(data, recipe, tta: bool, n_folds: int, seed: int, which: list[int]):
    """Out-of-fold ConvNet scores of the tiles of folds `which` only (training only their
    runs, each on every other fold); returns the scored rows and their mask."""
    from mammo_lib.evaluate.mias_cv import mias_folds
    from mammo_lib.train.mias_detector import tile_probability, train_on_rows

    folds = mias_folds(data, n_folds, seed)
    scores = np.full(len(data.meta), np.nan)
    for k in which:
        run = train_on_rows(data, folds != k, recipe)
        scores[folds == k] = tile_probability(run, data.tiles[folds == k], tta=tta)
    keep = np.isin(folds, which)
    return data.meta.assign(probability=scores)[keep].reset_index(drop=True), keep


if __name__ == "__main__":
    main()
