"""Where an imaging chapter's scans come from: the user's own download, or a synthetic stand-in.

Chapters 04-08 take ``cbis_root`` (a CBIS-DDSM download in the NBIA Data Retriever layout),
``ddsm_root`` (a DDSM folder holding ``cases/normals``) and ``cbis_tables`` (the four
case-description CSVs; default: beside the scans, else fetched by the registry) as
parameters. With neither root set they run on the project's synthetic tree; with a root set
they use it and never fall back to synthetic scans: a root that is missing is an error.

:func:`scan_data` resolves the parameters into a :class:`ScanData`; its ``label`` is what a
chapter glues as the data it ran on (``c04_data`` ...), so a reader, and the end-to-end test,
can see it. :func:`scan_tree` reads a download into the frames of a synthetic tree (the
scans, their abnormalities with mask bounding boxes, the normal views) for the chapters that
show individual scans.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mammo_lib.dataset.folder import load_manifest
from mammo_lib.dataset.labels import CLASS_NAMES
from mammo_lib.dataset.plan import DatasetInputs, plan_cbis, plan_ddsm
from mammo_lib.dataset.recipes import get_recipe
from mammo_lib.sources.synthetic import SyntheticTree

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class ScanData:
    """The scans a chapter runs on.

    Attributes
    ----------
    kind
        ``"download"`` (the user's own files) or ``"synthetic"``.
    cbis_root, cbis_tables, ddsm_root
        The CBIS-DDSM tree, its case-table folder and the DDSM folder (any may be None for a
        download that lacks that source).
    synthetic_root
        The synthetic tree's folder (``kind == "synthetic"``).
    """

    kind: str
    cbis_root: Path | None
    cbis_tables: Path | None
    ddsm_root: Path | None
    synthetic_root: Path | None = None

    @property
    def label(self) -> str:
        """One line naming the data, for the page (glued by the chapters)."""
        return source_label(self.cbis_root, self.ddsm_root)

    def inputs(
        self,
        *,
        mias_folder: Path | None = None,
        mias_refnums: tuple[str, ...] | None = None,
    ) -> DatasetInputs:
        """The :class:`~mammo_lib.dataset.plan.DatasetInputs` of a build on these scans."""
        return DatasetInputs(
            cbis_root=self.cbis_root,
            cbis_tables=self.cbis_tables,
            ddsm_root=self.ddsm_root,
            mias_folder=mias_folder,
            mias_refnums=mias_refnums,
            cbis_spacing_mm=self.cbis_spacing_mm,
        )

    @property
    def cbis_spacing_mm(self) -> float | None:
        """Pixel spacing of the CBIS-DDSM scans: the synthetic tree's (it records it), else
        None (CBIS-DDSM DICOMs state none; ``mammo build-dataset --cbis-spacing-mm`` sets it)."""
        if self.synthetic_root is None:
            return None
        scans = pd.read_csv(self.synthetic_root / "ground_truth_scans.csv", usecols=["pixel_mm"])
        return float(scans["pixel_mm"].median())


def source_label(cbis_root: PathLike | None, ddsm_root: PathLike | None) -> str:
    """Name the scans behind a chapter or a build: the book's synthetic tree or your files."""
    from mammo_lib.config import work_dir

    synthetic = work_dir().resolve() / "synthetic"
    roots = [Path(p).resolve() for p in (cbis_root, ddsm_root) if p is not None]
    if roots and all(synthetic in p.parents for p in roots):
        return f"synthetic stand-ins (generated tree {roots[0].parent.name})"
    parts = []
    if cbis_root is not None:
        parts.append(f"CBIS-DDSM at {Path(cbis_root).resolve()}")
    if ddsm_root is not None:
        parts.append(f"DDSM normals at {Path(ddsm_root).resolve()}")
    return "your data: " + "; ".join(parts) if parts else "no CBIS-DDSM or DDSM scans"


def dataset_label(folder: PathLike) -> str:
    """Name the scans a finished build was cut from (read from its manifest)."""
    inputs = load_manifest(folder)["inputs"]
    return source_label(inputs.get("cbis_root"), inputs.get("ddsm_root"))


def _folder(value: PathLike | None, what: str) -> Path | None:
    if value is None or str(value) == "":
        return None
    path = Path(value).expanduser().resolve()
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: {what} not found (check the chapter's parameters)")
    return path


def _case_tables(cbis_root: Path, cbis_tables: PathLike | None) -> Path:
    from mammo_lib.sources.cbis_ddsm import CASE_TABLE_FILES

    first = CASE_TABLE_FILES[0][0]
    if cbis_tables is not None and str(cbis_tables) != "":
        folder = _folder(cbis_tables, "CBIS-DDSM case-table folder (cbis_tables)")
        assert folder is not None
        if not (folder / first).is_file():
            raise FileNotFoundError(f"{folder / first}: CBIS-DDSM case-description file not found")
        return folder
    if (cbis_root / first).is_file():
        return cbis_root
    from mammo_lib.sources.registry import fetch

    return fetch("cbis-ddsm-tables")


def scan_data(
    cbis_root: PathLike | None = None,
    ddsm_root: PathLike | None = None,
    cbis_tables: PathLike | None = None,
    *,
    synthetic_cases: int,
    seed: int = 0,
    scan_size: str = "small",
) -> ScanData:
    """Resolve a chapter's data parameters.

    Parameters
    ----------
    cbis_root, ddsm_root
        The user's CBIS-DDSM download and DDSM folder; both None: the synthetic tree.
    cbis_tables
        Folder of the four case-description CSVs; None: `cbis_root` when they lie there,
        else the registry's verified copy.
    synthetic_cases, seed, scan_size
        The synthetic tree used when no root is given (generated once and cached).

    Raises
    ------
    FileNotFoundError
        Naming the parameter, when a given folder does not exist.
    """
    cbis = _folder(cbis_root, "CBIS-DDSM download (cbis_root)")
    ddsm = _folder(ddsm_root, "DDSM folder (ddsm_root)")
    if cbis is None and ddsm is None:
        if cbis_tables is not None and str(cbis_tables) != "":
            raise ValueError("cbis_tables is set but cbis_root is not")
        from mammo_lib.sources.synthetic import ensure_synthetic_tree

        root = ensure_synthetic_tree(synthetic_cases, seed=seed, size=scan_size)
        return ScanData("synthetic", root / "cbis-ddsm", root / "cbis-ddsm", root / "ddsm", root)
    tables = _case_tables(cbis, cbis_tables) if cbis is not None else None
    return ScanData("download", cbis, tables, ddsm)


def scan_tree(
    data: ScanData,
    *,
    max_scans: int | None = None,
    max_normal_views: int | None = None,
    split: str | None = None,
    seed: int = 0,
    recipe: str = "9",
    **recipe_overrides: object,
) -> SyntheticTree:
    """The scans of `data` as a :class:`~mammo_lib.sources.synthetic.SyntheticTree`.

    A synthetic tree is loaded with its ground truth. A download is planned as the dataset
    builder plans it (same files, same patient-level splits for `seed` and `recipe`), and
    read into the same frames: ``scans`` (``subject_id``, ``scan_path``), ``lesions`` (one
    row per abnormality with ``roi_id``, ``abnormality_type``, ``pathology``, ``mask_path``
    and the bounding box of its mask, ``bbox_row0`` ... ``bbox_col1``) and ``normals``
    (``case``, ``view``, ``digitizer``, ``ljpeg_path``, ``bits``).

    Parameters
    ----------
    max_scans, max_normal_views
        Keep only the first this many CBIS scans and DDSM normal views (sorted; None: all).
        Masks are read only for the scans kept.
    split
        Keep only a download's scans of this split (``"test"``: scans no training run saw);
        None: all. A synthetic tree is used whole (a held-out tree is one of another seed).
    seed, recipe, **recipe_overrides
        The build whose splits are meant (e.g. ``val_fraction``), as for the dataset.
    """
    from mammo_lib.sources.synthetic import load_tree

    if data.kind == "synthetic":
        tree = load_tree(data.synthetic_root)
        scans = tree.scans.head(max_scans) if max_scans is not None else tree.scans
        keep = set(scans["subject_id"])
        normals = (
            tree.normals.head(max_normal_views) if max_normal_views is not None else tree.normals
        )
        return dataclasses.replace(
            tree,
            scans=scans,
            lesions=tree.lesions[tree.lesions["subject_id"].isin(keep)],
            normals=normals,
        )
    from mammo_lib.extract.cbis import roi_box_from_mask
    from mammo_lib.imaging.dicom import read_dicom

    chosen = get_recipe(recipe, **recipe_overrides)
    inputs = data.inputs()
    scans, lesions, normals = [], [], []
    if data.cbis_root is not None:
        tasks = [t for t in plan_cbis(inputs, chosen, seed).tasks if split in (None, t.split)]
        for task in tasks[:max_scans]:
            scans.append({"subject_id": task.scan_id, "scan_path": task.path, "split": task.split})
            shape = read_dicom(task.path).shape
            for roi in task.rois:
                if roi.mask_path is None:
                    continue
                pathology, abnormality_type = CLASS_NAMES[roi.label].split("_", 1)
                r0, c0, r1, c1 = roi_box_from_mask(read_dicom(roi.mask_path) > 0, shape)
                lesions.append(
                    {
                        "subject_id": task.scan_id,
                        "roi_id": roi.roi_id,
                        "abnormality_type": abnormality_type,
                        "pathology": pathology,
                        "scan_path": task.path,
                        "mask_path": roi.mask_path,
                        "bbox_row0": r0,
                        "bbox_col0": c0,
                        "bbox_row1": r1,
                        "bbox_col1": c1,
                    }
                )
    if data.ddsm_root is not None:
        tasks = [t for t in plan_ddsm(inputs, chosen, seed).tasks if split in (None, t.split)]
        for task in tasks[:max_normal_views]:
            normals.append(
                {
                    "case": task.scan_id.split(".", 1)[0],
                    "view": task.view,
                    "digitizer": task.digitizer,
                    "ljpeg_path": task.path,
                    "bits": task.extra["view_info"][2],
                    "split": task.split,
                }
            )
    return SyntheticTree(
        root=data.cbis_root or data.ddsm_root,
        cbis_root=data.cbis_root,
        ddsm_root=data.ddsm_root,
        lesions=pd.DataFrame(lesions),
        scans=pd.DataFrame(scans),
        normals=pd.DataFrame(normals),
        params={"download": data.label},
    )
