"""Generate a whole synthetic data tree: a CBIS-DDSM download and DDSM normals, with ground truth.

``generate(out, cases, seed)`` writes::

    <out>/cbis-ddsm/   the NBIA Data Retriever tree, metadata.csv, the four case tables
    <out>/ddsm/        cases/normals/normal_NN/caseNNNN/ (.ics + four .LJPEG views)
    <out>/ground_truth_lesions.csv   one row per abnormality: files, bbox, labels
    <out>/ground_truth_scans.csv     one row per CBIS full mammogram
    <out>/ground_truth_normals.csv   one row per DDSM normal view
    <out>/synthetic.json             the parameters

``cases`` counts CBIS full mammograms; patients mostly contribute a CC and an MLO view of one
breast with the same abnormalities (as in CBIS-DDSM), and the first four patients go one to each
case table so that eight or more scans cover all four files. Normals default to one DDSM case
(four views) per four CBIS scans, so normal and abnormal scans are about equally many; the first
three normals use the three digitizers.

Sizes: ``"full"`` scans are about 5300 x 3100 pixels (varying per scan), like CBIS-DDSM's mean
scan, rendered at the pitch of the scan's DDSM digitizer (42, 43.5 or 50 um; CBIS-DDSM kept the
digitizers' resolutions). ``"small"`` scans have a third of the pixels per side (about
1770 x 1030) and are rendered at twice the digitizer's pitch (84-100 um), so that masses still
span about 50-500 pixels and calcification specks at least 2: a 598-pixel ROI tile on a small
scan holds about what a 1200-pixel tile holds on a full one, and the study's tiling (598 tiles,
stride 350) still yields several tiles per scan. DDSM normals follow the same rule (their
pixel counts come from a film of 220-250 x 130-160 mm at the digitizer's resolution, a third
of that per side for "small").

Every scan and case has its own random stream (``[seed, kind, index]``), so files are
byte-identical for the same seed, whatever the number of worker processes.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from mammo_lib.io import atomic_path, write_json
from mammo_lib.sources.synthetic.cbis_writer import (
    CbisLesion,
    CbisScan,
    write_case_tables,
    write_metadata,
    write_scan_files,
)
from mammo_lib.sources.synthetic.ddsm_writer import VIEWS, NormalCase, write_normal_case
from mammo_lib.sources.synthetic.digitizers import DIGITIZERS
from mammo_lib.sources.synthetic.scan import (
    DEFAULT_DIFFICULTY,
    LesionSpec,
    compose_scan,
    to_cbis_uint16,
)
from mammo_lib.sources.synthetic.vocabulary import (
    CASE_TABLES,
    load_vocabulary,
    sample_abnormality_count,
    sample_density,
    sample_descriptor,
)

__all__ = ["GENERATOR_VERSION", "SyntheticTree", "ensure_synthetic_tree", "generate", "load_tree"]

#: Bump when the generator's output changes, so cached trees are rebuilt.
GENERATOR_VERSION = 6

Size = Literal["full", "small"]
_FULL = {"rows": 5300, "cols": 3100, "rows_sd": 300, "cols_sd": 250}
_MARKER = ".complete"


def _size(size: str) -> tuple[float, float]:
    """``(pixel-count factor per side, rendering pitch / digitizer pitch)`` of a size name."""
    if size == "full":
        return 1.0, 1.0
    if size == "small":
        return 1.0 / 3.0, 2.0
    raise ValueError(f"size must be 'full' or 'small', not {size!r}")


def _pitch_mm(digitizer: str, size: str) -> float:
    """Rendering pixel pitch (mm) of a scan from `digitizer` at `size`."""
    return DIGITIZERS[digitizer].resolution_um / 1000.0 * _size(size)[1]


@dataclass
class SyntheticTree:
    """A generated tree: its folders and its ground truth.

    Attributes
    ----------
    root
        The output folder.
    cbis_root
        ``root/cbis-ddsm`` (pass it to the CBIS-DDSM readers as the download folder).
    ddsm_root
        ``root/ddsm``.
    lesions
        One row per abnormality: ``table``, ``collection``, ``patient_id``, ``side``,
        ``view``, ``subject_id``, ``roi_id``, ``abnormality_id``, ``abnormality_type``,
        ``pathology``, ``form`` (shape / calc type), ``spread`` (margins / distribution),
        ``assessment``, ``subtlety``, ``density``, ``scan_path``, ``mask_path``,
        ``crop_path`` (absolute), ``bbox_row0``, ``bbox_col0``, ``bbox_row1``,
        ``bbox_col1`` (half-open, of the mask's pixels), ``two_studies``, ``swapped``,
        ``rle``, the CSV paths ``csv_image``, ``csv_crop``, ``csv_mask``.
    scans
        One row per CBIS full mammogram (``subject_id``, ``scan_path``, ``rows``, ``cols``,
        ``digitizer``, ``artifacts`` ...).
    normals
        One row per DDSM normal view (``case``, ``digitizer``, ``view``, ``ljpeg_path``,
        ``ics_path``, ``rows``, ``cols``, ``bits`` ...).
    params
        The generation parameters.
    """

    root: Path
    cbis_root: Path
    ddsm_root: Path
    lesions: pd.DataFrame
    scans: pd.DataFrame
    normals: pd.DataFrame
    params: dict = field(default_factory=dict)


def _plan_cbis(cases: int, seed: int, size: str) -> list[CbisScan]:
    factor, _ = _size(size)
    rng = np.random.default_rng([seed, 0])
    tables = list(CASE_TABLES)
    rows = np.array([load_vocabulary()[t]["rows"] for t in tables], dtype=float)
    first = list(rng.permutation(len(tables)))
    scans: list[CbisScan] = []
    patient = 0
    while len(scans) < cases:
        patient += int(rng.integers(1, 4))
        k = len({s.patient_id for s in scans})
        table = tables[first[k]] if k < len(first) else tables[rng.choice(4, p=rows / rows.sum())]
        remaining = cases - len(scans)
        views = (
            ["CC", "MLO"]
            if remaining >= 2 and rng.uniform() < 0.85
            else [str(rng.choice(["CC", "MLO"]))]
        )
        side = str(rng.choice(["LEFT", "RIGHT"]))
        density = sample_density(rng, table)
        n_lesions = sample_abnormality_count(rng, table)
        descriptors = [sample_descriptor(rng, table) for _ in range(n_lesions)]
        diameters = [
            float(np.clip(rng.lognormal(np.log(13.0), 0.45), 5.0, 45.0)) for _ in descriptors
        ]
        digitizer = str(rng.choice(list(DIGITIZERS)))
        letter = str(rng.choice(DIGITIZERS[digitizer].letters))
        full_date = f"2016{int(rng.integers(7, 11)):02d}{int(rng.integers(1, 29)):02d}"
        roi_date = f"2017{int(rng.integers(8, 10)):02d}{int(rng.integers(1, 29)):02d}"
        for view in views:
            shape = (
                int(round(rng.normal(_FULL["rows"], _FULL["rows_sd"]) * factor)),
                int(round(rng.normal(_FULL["cols"], _FULL["cols_sd"]) * factor)),
            )
            lesions = []
            for i, (d, diam) in enumerate(zip(descriptors, diameters, strict=True)):
                two, swap, rle = rng.uniform(size=3) < (0.06, 0.3, 0.15)
                lesions.append(
                    CbisLesion(
                        abnormality_id=i + 1,
                        descriptor=d,
                        diameter_mm=diam,
                        two_studies=bool(two),
                        swapped=bool(swap and not two),
                        rle=bool(rle),
                    )
                )
            scans.append(
                CbisScan(
                    index=len(scans),
                    table=table,
                    patient_id=f"P_{patient:05d}",
                    side=side,
                    view=view,
                    density=density,
                    shape=shape,
                    pixel_mm=_pitch_mm(digitizer, size),
                    digitizer=digitizer,
                    letter=letter,
                    full_date=full_date,
                    roi_date=roi_date,
                    rle=bool(rng.uniform() < 0.1),
                    lesions=lesions,
                )
            )
    _cover_quirks(scans)
    return scans


def _cover_quirks(scans: list[CbisScan]) -> None:
    """Make sure a tree of a few scans shows each storage quirk at least once.

    The quirks (an RLE-compressed full scan, RLE-compressed ROI files, crop and mask names
    swapped, crop and mask in two studies) are drawn at their seeded rates; when a small tree
    drew none of one, the last scan or lesion that does not already carry another forced quirk
    gets it, so readers are always tested against all of them.
    """
    if len(scans) >= 2 and not any(s.rle for s in scans):
        scans[-1].rle = True
    lesions = [lesion for scan in scans for lesion in scan.lesions]
    if len(lesions) < 4:
        return
    forced: set[int] = set()
    for attribute in ("two_studies", "swapped", "rle"):
        if any(getattr(lesion, attribute) for lesion in lesions):
            continue
        for i in range(len(lesions) - 1, -1, -1):
            if i in forced or (attribute == "swapped" and lesions[i].two_studies):
                continue
            setattr(lesions[i], attribute, True)
            forced.add(i)
            break


def _plan_normals(count: int, seed: int) -> list[NormalCase]:
    rng = np.random.default_rng([seed, 1])
    names = list(DIGITIZERS)
    first = [names[i] for i in rng.permutation(len(names))]
    numbers = {"A": 1, "B": 3000, "C": 200, "D": 4000}
    density_pool = [
        int(v)
        for t in CASE_TABLES
        for v, n in load_vocabulary()[t]["density"].items()
        for _ in range(n)
        if v != "0"
    ]
    out = []
    for i in range(count):
        digitizer = first[i] if i < len(first) else str(rng.choice(names, p=[0.2, 0.3, 0.5]))
        letter = str(rng.choice(DIGITIZERS[digitizer].letters))
        numbers[letter] += int(rng.integers(1, 4))
        year = int(rng.integers(1993, 1999))
        out.append(
            NormalCase(
                index=i,
                letter=letter,
                number=numbers[letter],
                digitizer=digitizer,
                density=int(rng.choice(density_pool)),
                age=int(rng.integers(35, 81)),
                study_date=(int(rng.integers(1, 29)), int(rng.integers(1, 13)), year),
                digitized_date=(int(rng.integers(1, 29)), int(rng.integers(1, 13)), 1997),
            )
        )
    return out


def _normal_shapes(rng: np.random.Generator, digitizer: str, size: str) -> dict:
    factor, _ = _size(size)
    res_mm = DIGITIZERS[digitizer].resolution_um / 1000.0
    height, width = rng.uniform(220.0, 250.0), rng.uniform(130.0, 160.0)
    return {
        v: (
            int(round(height * rng.uniform(0.98, 1.02) / res_mm * factor)),
            int(round(width * rng.uniform(0.97, 1.03) / res_mm * factor)),
        )
        for v in VIEWS
    }


def _write_cbis_scan(root: Path, seed: int, scan: CbisScan, difficulty: float) -> dict:
    rng = np.random.default_rng([seed, 2, scan.index])
    specs = [
        LesionSpec(
            lesion.descriptor.abnormality_type,
            lesion.descriptor.form,
            lesion.descriptor.spread,
            lesion.descriptor.subtlety,
            lesion.diameter_mm,
        )
        for lesion in scan.lesions
    ]
    rendered = compose_scan(
        rng,
        scan.shape,
        scan.view,
        scan.side,
        density=scan.density,
        pixel_mm=scan.pixel_mm,
        lesions=specs,
        difficulty=difficulty,
    )
    pixels = to_cbis_uint16(rng, rendered.brightness, scan.digitizer, scan.letter)
    for lesion, bbox in zip(scan.lesions, rendered.bboxes, strict=True):
        lesion.bbox = bbox
    series = write_scan_files(root, seed, scan, pixels, rendered.lesion_masks)
    return {
        "scan": scan,  # with its file names and boxes filled in (also across processes)
        "series": series,
        "artifacts": ";".join(a.kind for a in rendered.artifacts),
    }


def _write_normal(root: Path, seed: int, case: NormalCase, size: str) -> list[dict]:
    rng = np.random.default_rng([seed, 3, case.index])
    shapes = _normal_shapes(rng, case.digitizer, size)
    return write_normal_case(
        root, case, rng, shapes=shapes, pixel_mm=_pitch_mm(case.digitizer, size)
    )


def _run(tasks: list[tuple], workers: int) -> Iterator:
    """Yield ``function(*args)`` for each ``(function, *args)`` task, in order."""
    if workers <= 1:
        for function, *args in tasks:
            yield function(*args)
        return
    context = multiprocessing.get_context("spawn")  # safe beside threads (TF, Dask)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(function, *args) for function, *args in tasks]
        for future in futures:
            yield future.result()


def generate(
    out: str | os.PathLike[str],
    cases: int,
    seed: int = 0,
    size: Size = "full",
    difficulty: float = DEFAULT_DIFFICULTY,
    normals: int | None = None,
    progress: bool = False,
    workers: int = 1,
    overwrite: bool = False,
) -> SyntheticTree:
    """Write a synthetic CBIS-DDSM download and DDSM normals under `out`.

    Parameters
    ----------
    out
        Output folder (created). Its ``cbis-ddsm/`` and ``ddsm/`` must be absent or empty
        unless `overwrite`.
    cases
        Number of CBIS-DDSM full mammograms (at least 1).
    seed
        Random seed: the same seed gives byte-identical files.
    size
        ``"full"`` (about 5300 x 3100) or ``"small"`` (a third per side); see the module
        docstring.
    difficulty
        Lesion difficulty, 0 (obvious) to 1 (nearly invisible).
    normals
        Number of DDSM normal cases (four views each); default ``max(1, ceil(cases / 4))``.
    progress
        Show a tqdm progress bar.
    workers
        Processes rendering scans in parallel (1: in this process). The files do not depend
        on it: every scan has its own random stream.
    overwrite
        Delete an existing ``cbis-ddsm/`` and ``ddsm/`` under `out` first.

    Returns
    -------
    SyntheticTree

    Raises
    ------
    ValueError
        For fewer than one case or an unknown size.
    FileExistsError
        If `out` already holds a tree and `overwrite` is False.
    """
    if cases < 1:
        raise ValueError(f"cases must be at least 1, not {cases}")
    _size(size)
    out = Path(out)
    cbis_root, ddsm_root = out / "cbis-ddsm", out / "ddsm"
    for folder in (cbis_root, ddsm_root):
        if folder.is_dir() and any(folder.iterdir()):
            if not overwrite:
                raise FileExistsError(
                    f"{folder}: already holds files; pass overwrite=True (--overwrite) to "
                    "replace the tree, or choose another folder"
                )
            shutil.rmtree(folder)
        folder.mkdir(parents=True, exist_ok=True)
    n_normals = max(1, -(-cases // 4)) if normals is None else int(normals)
    planned = _plan_cbis(cases, seed, size)
    cases_n = _plan_normals(n_normals, seed)
    from tqdm.auto import tqdm

    tasks: list[tuple] = [(_write_cbis_scan, cbis_root, seed, s, difficulty) for s in planned]
    tasks += [(_write_normal, ddsm_root, seed, c, size) for c in cases_n]
    bar = tqdm(total=len(tasks), desc="synthetic tree", disable=not progress)
    series: list[dict] = []
    scans: list[CbisScan] = []
    scan_rows, lesion_rows, normal_rows = [], [], []
    for result in _run(tasks, workers):
        bar.update()
        if isinstance(result, list):
            normal_rows += result
            continue
        scan = result["scan"]
        scans.append(scan)
        series += result["series"]
        scan_rows.append(
            {
                "table": scan.table,
                "collection": scan.collection,
                "patient_id": scan.patient_id,
                "side": scan.side,
                "view": scan.view,
                "subject_id": scan.subject_id,
                "density": scan.density,
                "rows": scan.shape[0],
                "cols": scan.shape[1],
                "pixel_mm": scan.pixel_mm,
                "digitizer": scan.digitizer,
                "letter": scan.letter,
                "rle": scan.rle,
                "scan_path": str(Path("cbis-ddsm") / scan.scan_file),
                "csv_image": scan.csv_image,
                "n_lesions": len(scan.lesions),
                "artifacts": result["artifacts"],
            }
        )
        for lesion in scan.lesions:
            d = lesion.descriptor
            r0, c0, r1, c1 = lesion.bbox or (0, 0, 0, 0)
            lesion_rows.append(
                {
                    "table": scan.table,
                    "collection": scan.collection,
                    "patient_id": scan.patient_id,
                    "side": scan.side,
                    "view": scan.view,
                    "subject_id": scan.subject_id,
                    "roi_id": f"{scan.subject_id}_{lesion.abnormality_id}",
                    "abnormality_id": lesion.abnormality_id,
                    "abnormality_type": d.abnormality_type,
                    "pathology": d.pathology,
                    "form": d.form,
                    "spread": d.spread,
                    "assessment": d.assessment,
                    "subtlety": d.subtlety,
                    "density": scan.density,
                    "scan_path": str(Path("cbis-ddsm") / scan.scan_file),
                    "mask_path": str(Path("cbis-ddsm") / lesion.mask_file),
                    "crop_path": str(Path("cbis-ddsm") / lesion.crop_file),
                    "bbox_row0": r0,
                    "bbox_col0": c0,
                    "bbox_row1": r1,
                    "bbox_col1": c1,
                    "two_studies": lesion.two_studies,
                    "swapped": lesion.swapped,
                    "rle": lesion.rle,
                    "csv_image": scan.csv_image,
                    "csv_crop": lesion.csv_crop,
                    "csv_mask": lesion.csv_mask,
                }
            )
    bar.close()
    write_case_tables(cbis_root, scans)
    write_metadata(cbis_root, series, seed)

    params = {
        "cases": cases,
        "seed": seed,
        "size": size,
        "difficulty": difficulty,
        "normals": n_normals,
        "generator_version": GENERATOR_VERSION,
    }
    for name, rows in (("lesions", lesion_rows), ("scans", scan_rows), ("normals", normal_rows)):
        _write_csv(out / f"ground_truth_{name}.csv", pd.DataFrame(rows))
    write_json(out / "synthetic.json", params, indent=1, sort_keys=True)
    return load_tree(out)


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n")


def load_tree(root: str | os.PathLike[str]) -> SyntheticTree:
    """Read a generated tree's ground truth (paths made absolute).

    Raises
    ------
    FileNotFoundError
        If `root` holds no generated tree (``synthetic.json`` missing).
    """
    root = Path(root)
    if not (root / "synthetic.json").is_file():
        raise FileNotFoundError(f"{root}: not a synthetic tree (synthetic.json missing)")
    params = json.loads((root / "synthetic.json").read_text())
    frames = {}
    for name in ("lesions", "scans", "normals"):
        path = root / f"ground_truth_{name}.csv"
        try:
            frame = pd.read_csv(
                path, dtype={"assessment": str, "subtlety": str}, keep_default_na=False
            )
        except pd.errors.EmptyDataError:  # e.g. a tree generated with normals=0
            frame = pd.DataFrame()
        for column in ("scan_path", "mask_path", "crop_path", "ljpeg_path", "ics_path"):
            if column in frame:
                frame[column] = [str(root / p) for p in frame[column]]
        frames[name] = frame
    return SyntheticTree(
        root=root,
        cbis_root=root / "cbis-ddsm",
        ddsm_root=root / "ddsm",
        lesions=frames["lesions"],
        scans=frames["scans"],
        normals=frames["normals"],
        params=params,
    )


def tree_key(cases: int, seed: int, size: str, difficulty: float) -> str:
    """Folder name of a cached tree, e.g. ``cbis20-seed0-small-d0.5-v1``."""
    return f"cbis{cases}-seed{seed}-{size}-d{difficulty:g}-v{GENERATOR_VERSION}"


def ensure_synthetic_tree(
    cases: int,
    seed: int = 0,
    size: Size = "small",
    difficulty: float = DEFAULT_DIFFICULTY,
    workers: int = 1,
) -> Path:
    """Return the root of a cached synthetic tree, generating it when missing.

    The tree lives in ``work_dir()/synthetic/<key>`` (see :func:`tree_key`). It is generated in
    a temporary sibling folder, gets its completion marker last, and is renamed into place,
    so an interrupted run never leaves a tree that looks complete; concurrent callers either
    win the rename or reuse the winner's tree. `workers` parallelises the generation only (the
    files, and the key, do not depend on it).
    """
    from mammo_lib.config import work_dir

    base = work_dir() / "synthetic"
    root = base / tree_key(cases, seed, size, difficulty)
    if (root / _MARKER).is_file():
        return root
    base.mkdir(parents=True, exist_ok=True)
    tmp = base / f".{root.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    generate(tmp, cases, seed=seed, size=size, difficulty=difficulty, workers=workers)
    (tmp / _MARKER).write_text(json.dumps({"generator_version": GENERATOR_VERSION}) + "\n")
    if root.exists() and not (root / _MARKER).is_file():
        shutil.rmtree(root)  # a stale, incomplete tree from an older layout
    try:
        os.replace(tmp, root)
    except OSError:
        if not (root / _MARKER).is_file():
            raise
        shutil.rmtree(tmp)
    return root
