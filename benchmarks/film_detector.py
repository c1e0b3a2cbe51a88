"""What the whole-film detector's maps reach on real mini-MIAS, per variant of its recipe.

Chapter 09's folds by woman under a profile (``params/<profile>.yaml``, section
``09_real_mias``: the tile set that fixes the folds, and the ``film_*`` recipe), then two
lines per variant: the held-out maps' scan-level AUC and lesion sensitivity at one
false-positive mark per scan (all lesions, masses), each film alone and against the woman's
other breast, with 95% intervals over women and the minutes the variant took (runs cached by
content cost nothing). It only reports; chapter 09's profile settings are chosen from such
records, never from one chapter build.

A variant is ``NAME`` or ``NAME:field=value,...`` over
:class:`~mammo_lib.train.scan_detector.ScanDetectorRecipe` fields (``width``, ``levels``,
``epochs``, ``batch_size``, ``learning_rate``, ``pos_weight``, ``augment``, ``tta``, ``seed``)
and the film fields prefixed ``scans.`` (``scans.down``, ``scans.stride``,
``scans.min_radius_cells``). Usage::

    .venv/bin/python benchmarks/film_detector.py --profile quick
    .venv/bin/python benchmarks/film_detector.py --variants d4:scans.down=4 d8:scans.down=8
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import yaml  # noqa: E402


def apply(recipe, text: str):
    """``(name, recipe)`` of a variant ``"name:a=1,scans.b=2"`` (values read as YAML)."""
    name, _, spec = text.partition(":")
    changes = {k: yaml.safe_load(v) for k, v in (i.split("=", 1) for i in spec.split(",") if i)}
    scans = {k[6:]: v for k, v in changes.items() if k.startswith("scans.")}
    plain = {k: v for k, v in changes.items() if not k.startswith("scans.")}
    scans_cfg = dataclasses.replace(recipe.scans, **scans)
    return name, dataclasses.replace(recipe, scans=scans_cfg, **plain)


def main() -> None:
    from mias_levers import map_cells  # this folder's script: the same cells as its --maps

    from mammo_lib.config import load_profile
    from mammo_lib.dataset.mias_scans import ensure_mias_scans
    from mammo_lib.dataset.mias_tiles import ensure_mias_tiles
    from mammo_lib.evaluate.mias_cv import mias_folds
    from mammo_lib.scan.bilateral import bilateral_tables
    from mammo_lib.scan.mias_maps import film_cases, map_tables, scan_folds
    from mammo_lib.sources.mias import load_mias
    from mammo_lib.train.mias_detector import MiasRecipe
    from mammo_lib.train.scan_detector import ScanDetectorRecipe, train_scan_folds

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--variants", nargs="+", default=["base"])
    parser.add_argument("--n-boot", type=int, default=500)
    args = parser.parse_args()

    params = load_profile(args.profile).get("09_real_mias", {})
    n_folds, seed = int(params.get("n_folds", 5)), int(params.get("seed", 0))
    nms = int(params.get("mark_nms", 3))
    print(f"CPU: {platform.machine()}, {os.cpu_count()} cores; profile {args.profile}")
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    mias = load_mias()
    n_images = params.get("mias_images")
    images = mias.images if n_images is None else mias.images.iloc[:n_images]
    tiles = ensure_mias_tiles(MiasRecipe.from_parameters(params).tiles, progress=False)
    fold_of_scan = scan_folds(tiles.meta, mias_folds(tiles, n_folds, seed), images)
    patients = dict(zip(images.index, images["patient_id"], strict=True))
    base = ScanDetectorRecipe.from_parameters(params)
    rows = []
    for text in args.variants:
        name, recipe = apply(base, text)
        t0 = time.perf_counter()
        films = ensure_mias_scans(recipe.scans, progress=False)
        folds = films.meta["scan_id"].map(fold_of_scan).to_numpy()
        _, maps = train_scan_folds(films, folds, recipe, progress=False)
        minutes = (time.perf_counter() - t0) / 60
        cases = film_cases(films, maps)
        tables = map_tables(cases, mias, images, nms=nms, n_boot=args.n_boot, seed=seed)
        both = bilateral_tables(tables, cases, patients, n_boot=args.n_boot, seed=seed)
        rows.append(f"{name:<14} {map_cells(tables, args.n_boot, seed)}  {minutes:6.1f}  {text}")
        rows.append(f"{name + ' bilat.':<14} {map_cells(both, args.n_boot, seed)}       -")
        print("\n".join(rows[-2:]), flush=True)
    print()
    print(f"{'variant':<14} {'scan AUC':<22} {'sens@1FP':<22} {'masses@1FP':<22} minutes")
    print("\n".join(rows))
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
