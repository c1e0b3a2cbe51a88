"""Synthetic stand-ins for CBIS-DDSM and the DDSM normals, in the real formats and layouts.

The real CBIS-DDSM scans (163 GB of DICOM) and the DDSM normals (lossless JPEG) are the user's
own download; this package writes faithful stand-ins so that the whole pipeline runs, and is
tested, end to end without them. The same reader code reads both.

Public API
----------
generate(out, cases, seed=0, size="full", difficulty=...) -> SyntheticTree
    Write ``out/cbis-ddsm/`` (NBIA Data Retriever tree, metadata.csv, the four case tables)
    and ``out/ddsm/`` (normal cases: .ics + .LJPEG), with ground truth.
ensure_synthetic_tree(cases, seed=0, size="small", difficulty=...) -> Path
    The same, cached under ``work_dir()/synthetic/<key>`` and generated only once.
render_scan(rng, shape, view, side, ...) -> (uint16 image, breast mask)
    One CBIS-style scan, e.g. to compare with MIAS; :func:`compose_scan` returns lesion masks
    and artifacts too; :func:`mass_patch` and :func:`calcification_patch` draw single lesions.

Modules: :mod:`.anatomy` (breast, skin, pectoral muscle, power-law texture), :mod:`.lesions`,
:mod:`.artifacts`, :mod:`.digitizers` (DDSM scanner calibrations), :mod:`.scan` (composition),
:mod:`.dicom_writer`, :mod:`.cbis_writer`, :mod:`.ddsm_writer`, :mod:`.vocabulary` (label
statistics of the real case tables), :mod:`.tree` (whole trees).
"""

from mammo_lib.sources.synthetic.anatomy import power_law_noise, render_breast
from mammo_lib.sources.synthetic.artifacts import Artifact, add_artifacts
from mammo_lib.sources.synthetic.digitizers import DIGITIZERS, digitize
from mammo_lib.sources.synthetic.lesions import (
    LesionPatch,
    calcification_patch,
    lesion_contrast,
    mass_patch,
    paste_patch,
    scatter_specks,
)
from mammo_lib.sources.synthetic.scan import (
    DEFAULT_DIFFICULTY,
    LesionSpec,
    RenderedScan,
    compose_scan,
    render_scan,
    to_cbis_uint16,
)
from mammo_lib.sources.synthetic.tree import (
    GENERATOR_VERSION,
    SyntheticTree,
    ensure_synthetic_tree,
    generate,
    load_tree,
    tree_key,
)

__all__ = [
    "DEFAULT_DIFFICULTY",
    "DIGITIZERS",
    "GENERATOR_VERSION",
    "Artifact",
    "LesionPatch",
    "LesionSpec",
    "RenderedScan",
    "SyntheticTree",
    "add_artifacts",
    "calcification_patch",
    "compose_scan",
    "digitize",
    "ensure_synthetic_tree",
    "generate",
    "lesion_contrast",
    "load_tree",
    "mass_patch",
    "paste_patch",
    "power_law_noise",
    "render_breast",
    "render_scan",
    "scatter_specks",
    "to_cbis_uint16",
    "tree_key",
]
