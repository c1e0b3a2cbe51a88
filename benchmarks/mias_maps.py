"""What map ensembles and other scan scores give chapter 09's whole-scan reading, one run.

Chapter 09 maps every held-out MIAS scan with one model per fold (its recipe's first
ensemble member, after a second round with hard negatives) and scores a scan by its map's
maximum. Issue 11 asks for a scan-level AUC of 0.85 and a mass sensitivity of 0.80 at one
false positive per scan, which these maps miss. This script measures two levers on the same
folds, with the profile's recipe (``params/<profile>.yaml``, section ``09_real_mias``):

* **map ensembles**: the first ``--members`` ensemble members each get their own
  hard-negative round and map the held-out scans; one line per member, then one for the
  cell-wise mean of the first 2, 3, ... maps (:func:`mammo_lib.scan.mias_maps.mean_maps`);
* **scan scores** on one set of maps (the last line's): the maximum, the top-5 mean, and
  the maximum taken in logits less a reference per scan, from the scan itself (its breast's
  median or 90th-percentile cell) or from the woman's other breast (its maximum: chapter
  09's bilateral reading; the difference of the two breasts' contrasts). Each reference also
  re-scores the marks, so the FROC sensitivities move with it.

Every score here is a fixed formula: nothing is fitted, so no fold sees another's labels;
but choosing among them on these scans would be a selection on the test set, which is why
the chapter keeps its two pre-registered readings (alone, against the other breast) and this
script only reports; its last line is the regression of
:mod:`mammo_lib.scan.learned_reading`, fitted on the other folds' films only. Models already
trained (chapter 09 or ``benchmarks/mias_levers.py``, same content hash) are reused. Usage::

    .venv/bin/python benchmarks/mias_maps.py --profile quick --members 3
    .venv/bin/python benchmarks/mias_maps.py --profile paper --members 1
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def references(cases, patients: dict[str, str]) -> dict[str, pd.Series]:
    """Per-scan logit references: from the breast itself and from the woman's other breast."""
    from mammo_lib.scan.bilateral import contralateral_reference, logit
    from mammo_lib.scan.learned_reading import breast_logits

    logits = {c.scan_id: breast_logits(c) for c in cases}
    median = pd.Series({s: float(np.median(v)) for s, v in logits.items()})
    q90 = pd.Series({s: float(np.quantile(v, 0.9)) for s, v in logits.items()})
    maxima = {c.scan_id: float(np.max(c.prob_map)) if c.prob_map.size else 0.0 for c in cases}
    other_max = contralateral_reference(maxima, patients)
    # the other breast's contrast (its max less its median), over the own breast's median
    contrast = pd.Series({s: float(logit(maxima[s])) - median[s] for s in maxima})
    other_contrast = contralateral_reference(
        {s: float(1 / (1 + np.exp(-c))) for s, c in contrast.items()}, patients
    )
    return {
        "max - own median": median,
        "max - own q90": q90,
        "max - other max": other_max,
        "contrast - other's": median + other_contrast,
    }


def main() -> None:
    from mias_levers import map_cells as cells  # this folder's script: the same cells

    from mammo_lib.config import load_profile
    from mammo_lib.dataset.mias_tiles import ensure_mias_tiles
    from mammo_lib.evaluate.mias_cv import mias_folds
    from mammo_lib.scan.bilateral import referenced_tables
    from mammo_lib.scan.hard_negatives import HardNegatives
    from mammo_lib.scan.learned_reading import learned_reference, scan_features
    from mammo_lib.scan.localisation import scan_score
    from mammo_lib.scan.mias_maps import map_held_out, map_tables, mean_maps, scan_folds
    from mammo_lib.sources.mias import load_mias
    from mammo_lib.train.mias_detector import MiasRecipe

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--members", type=int, default=1, help="ensemble members mapped")
    parser.add_argument("--n-boot", type=int, default=500)
    args = parser.parse_args()

    params = {"mias_ensemble": 1, "n_folds": 5, "seed": 0}
    params |= load_profile(args.profile).get("09_real_mias", {})
    recipe = MiasRecipe.from_parameters(params)
    members = recipe.members()
    if not 1 <= args.members <= len(members):
        raise SystemExit(f"--members: the {args.profile} recipe has {len(members)} members")
    n_folds, seed, n_boot = int(params["n_folds"]), int(params["seed"]), args.n_boot
    per_scan = int(params.get("map_hard_negatives") or 0)
    if not per_scan:
        raise SystemExit(f"the {args.profile} profile's chapter 09 mines no hard negatives")
    hard = HardNegatives(per_scan=per_scan, epochs=params.get("map_hard_epochs"))
    print(f"CPU: {platform.machine()}, {os.cpu_count()} cores; profile {args.profile}")
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")

    data = ensure_mias_tiles(recipe.tiles, progress=False)
    folds = mias_folds(data, n_folds, seed)
    mias = load_mias()
    images = mias.images
    fold_of_scan = scan_folds(data.meta, folds, images)
    patients = dict(zip(images.index, images["patient_id"], strict=True))
    nms = int(params.get("mark_nms", 3))

    def tables_of(cases):
        return map_tables(cases, mias, images, nms=nms, n_boot=n_boot, seed=seed)

    header = f"{'maps':<22} {'scan AUC':<22} {'sens@1FP':<22} {'masses@1FP':<22}"
    print(f"\n{header} minutes", flush=True)
    case_sets = []
    for m, member in enumerate(members[: args.members]):
        t0 = time.perf_counter()
        run_dirs = [str(r) for r in hard(data, folds, member, progress=False)]
        cases, _ = map_held_out(run_dirs, fold_of_scan, mias, refine=params.get("map_refine"))
        case_sets.append(cases)
        minutes = (time.perf_counter() - t0) / 60
        print(
            f"{f'member {m} (seed {member.seed})':<22} {cells(tables_of(cases), n_boot, seed)}"
            f"  {minutes:6.1f}",
            flush=True,
        )
    for n in range(2, len(case_sets) + 1):
        mean = mean_maps(case_sets[:n])
        print(f"{f'mean of {n} members':<22} {cells(tables_of(mean), n_boot, seed)}       -")
    chosen = mean_maps(case_sets)
    name = "member 0" if len(case_sets) == 1 else f"the mean of {len(case_sets)}"
    tables = tables_of(chosen)
    print(f"\nscan scores on the maps of {name}\n{header}")
    print(f"{'max':<22} {cells(tables, n_boot, seed)}")
    top = tables.scores.assign(max=[scan_score(c.prob_map, "topk", 5) for c in tables.located])
    print(
        f"{'top-5 mean':<22} {cells(dataclasses.replace(tables, scores=top), n_boot, seed)}"
        "  (marks: as max)"
    )
    for label, reference in references(chosen, patients).items():
        shifted = referenced_tables(tables, reference, n_boot=n_boot, seed=seed)
        print(f"{label:<22} {cells(shifted, n_boot, seed)}")
    labelled = dict(zip(tables.scores["scan_id"], tables.scores["abnormal"], strict=True))
    reference = learned_reference(scan_features(chosen, patients), labelled, fold_of_scan)
    learned = referenced_tables(tables, reference, n_boot=n_boot, seed=seed)
    print(f"{'learned (other folds)':<22} {cells(learned, n_boot, seed)}")
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
