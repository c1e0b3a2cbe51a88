"""Dataset recipes as data: what each of the study's datasets is made of.

A :class:`Recipe` names the ROI method, the source of normal tiles, the keep-rule, the class
balance and the geometry; :func:`get_recipe` returns one by name with overrides (e.g. smaller
tiles for a quick run). The build (:mod:`mammo_lib.dataset.build`) reads nothing else.

================  ==========================  ===============================  ==================
recipe            ROIs                        normal tiles                     keep-rule
================  ==========================  ===============================  ==================
``6``             method 1 (all variants)     DDSM scans shrunk 1.8-3.2,       per digitizer
                  and method 2                299 tiles at stride 150-200
``8``             method 1, whole ROI zoomed  DDSM scans shrunk 1.8-3.2,       bright/dark counts
                  with padding                299 tiles at stride 150-200
``9``             method 2                    DDSM 598 crops at stride 350     per digitizer
``9-background``  method 2                    the CBIS scans' own tissue       CBIS (Howtek rule)
================  ==========================  ===============================  ==================

Dataset 6 is the study's 5-class set; 8 and 9 its binary sets (9 the headline one). All of
them follow the study's code where it is known: method 2 takes three random crops of every
ROI, small or large by its larger side; DDSM scans have their pure-white pixels set to
black before tiling; MIAS normals follow the study's MIAS rule (black columns trimmed,
stride 200, var 20-2000, mean >= 38, a random 30% kept). The project's own variants are
fields: ``large_rois="grid"``, ``roi_pad_by="axis"``, ``ddsm_white_to_black=False``,
``mias_normals="project"``. Where the study does not say how datasets 6 and 8 filtered
their normals (it tuned mean/variance thresholds by eye), 6 uses the dataset-9
per-digitizer rule and 8 only the bright/dark pixel-count limits; the book says so. Every
recipe balances the MIAS split to ``normal_fraction`` like the others; the study did not
(its MIAS set was 88.4% normal).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Recipe:
    """One dataset's definition.

    Attributes
    ----------
    name
        Recipe name (``"6"``, ``"8"``, ``"9"``, ``"9-background"``).
    description
        One line for tables and the manifest.
    roi_method
        CBIS ROI extraction method: 1, 2 or ``"1+2"`` (both, dataset 6); see
        :mod:`mammo_lib.extract.cbis`.
    roi_variants
        Method-1 variants (:data:`mammo_lib.extract.cbis.METHOD1_VARIANTS`).
    roi_pad_by
        Method 2's small/large rule: ``"longer-side"`` (the study) or ``"axis"``.
    large_rois
        Method 2 for ROIs larger than the crop: ``"random"`` crops (the study) or a covering
        ``"grid"`` (the project's variant).
    normal_tiling
        DDSM normal tiling: ``"crop"`` (dataset 9: ``crop_size`` crops at ``stride``, resized)
        or ``"shrunk"`` (datasets 6/8: scans shrunk 1.8-3.2, tiles cut at 150-200).
    ddsm_white_to_black
        Set pure-white DDSM pixels to black before tiling (the study).
    mias_normals
        MIAS normal rule: ``"study"`` or ``"project"`` (see :mod:`mammo_lib.extract.mias`).
    normals
        ``"ddsm"`` (normal scans) or ``"cbis-background"`` (tissue of the abnormal scans away
        from every ROI).
    normal_filter
        ``"digitizer"`` (the study's per-digitizer rule) or ``"basic"`` (pixel counts only).
    label
        The label the dataset is meant for: ``"label"`` (5 classes) or ``"label_binary"``.
    include_mias
        Add the MIAS test split.
    normal_fraction
        Share of normal tiles in each split after balancing (the study: about 0.83).
    crop_size, tile_size
        Crop side in full-resolution scan pixels and stored tile side (598 -> 299).
    stride
        Step of the normal tiling; None gives ``350 / 598`` of the crop.
    trim
        Fraction trimmed on every side before normal tiling.
    n_crops
        Random crops per ROI smaller than the crop (method 2).
    max_normal_tiles_per_scan
        Keep at most this many normal tiles per scan (random among those kept), None for all.
    background_margin
        Pixels around every ROI that background tiles may not touch; None gives half a crop.
    val_fraction
        Share of CBIS training patients (and of normal-scan patients) held out for validation.
    normal_test_fraction
        Share of normal-scan patients in the test split.
    mias_scale, mias_crop, mias_use_radius
        MIAS scale factor (2.58), crop side on the scaled scan (299, cut directly) and whether
        to use the radius as ROI size as the study's code did.
    records_per_shard
        Records per TFRecord shard.
    """

    name: str
    description: str
    roi_method: Literal[1, 2, "1+2"] = 2
    roi_variants: tuple[str, ...] = ("original", "zoomed", "halves")
    roi_pad_by: Literal["longer-side", "axis"] = "longer-side"
    large_rois: Literal["random", "grid"] = "random"
    normal_tiling: Literal["crop", "shrunk"] = "crop"
    ddsm_white_to_black: bool = True
    mias_normals: Literal["study", "project"] = "study"
    normals: Literal["ddsm", "cbis-background"] = "ddsm"
    normal_filter: Literal["digitizer", "basic"] = "digitizer"
    label: Literal["label", "label_binary"] = "label_binary"
    include_mias: bool = True
    normal_fraction: float = 0.83
    crop_size: int = 598
    tile_size: int = 299
    stride: int | None = None
    trim: float = 0.07
    n_crops: int = 3
    max_normal_tiles_per_scan: int | None = None
    background_margin: int | None = None
    val_fraction: float = 0.1
    normal_test_fraction: float = 0.2
    mias_scale: float = 2.58
    mias_crop: int = 299
    mias_use_radius: bool = False
    records_per_shard: int = 2048
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.roi_method not in (1, 2, "1+2"):
            raise ValueError(f"recipe {self.name}: roi_method must be 1, 2 or '1+2'")
        from mammo_lib.extract.cbis import METHOD1_VARIANTS

        object.__setattr__(self, "roi_variants", tuple(self.roi_variants))
        if set(self.roi_variants) - set(METHOD1_VARIANTS):
            raise ValueError(f"recipe {self.name}: unknown roi_variants {self.roi_variants}")
        if self.roi_pad_by not in ("longer-side", "axis"):
            raise ValueError(f"recipe {self.name}: unknown roi_pad_by {self.roi_pad_by!r}")
        if self.large_rois not in ("random", "grid"):
            raise ValueError(f"recipe {self.name}: unknown large_rois {self.large_rois!r}")
        if self.normal_tiling not in ("crop", "shrunk"):
            raise ValueError(f"recipe {self.name}: unknown normal_tiling {self.normal_tiling!r}")
        if self.mias_normals not in ("study", "project"):
            raise ValueError(f"recipe {self.name}: unknown mias_normals {self.mias_normals!r}")
        if self.normals not in ("ddsm", "cbis-background"):
            raise ValueError(f"recipe {self.name}: unknown normals {self.normals!r}")
        if self.normal_filter not in ("digitizer", "basic"):
            raise ValueError(f"recipe {self.name}: unknown normal_filter {self.normal_filter!r}")
        if not 0.0 <= self.normal_fraction < 1.0:
            raise ValueError(f"recipe {self.name}: normal_fraction must be in [0, 1)")
        if not 0 < self.tile_size <= self.crop_size:
            raise ValueError(f"recipe {self.name}: need 0 < tile_size <= crop_size")
        if self.val_fraction + self.normal_test_fraction >= 1:
            raise ValueError(f"recipe {self.name}: val and test fractions leave no training data")

    def to_dict(self) -> dict[str, Any]:
        """The recipe as plain JSON-ready data."""
        return dataclasses.asdict(self)

    def key(self) -> str:
        """A short hash of every field: two recipes with the same key build the same data."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


RECIPES: dict[str, Recipe] = {
    "6": Recipe(
        name="6",
        description=(
            "5-class: CBIS ROIs by methods 1 and 2, DDSM normals from shrunk scans "
            "(per-digitizer rules)"
        ),
        roi_method="1+2",
        roi_variants=("original", "centred", "zoomed", "halves", "tiles"),
        normal_tiling="shrunk",
        label="label",
    ),
    "8": Recipe(
        name="8",
        description=(
            "binary: whole CBIS ROIs zoomed with padding (method 1), DDSM normals from "
            "shrunk scans (pixel-count rules only)"
        ),
        roi_method=1,
        roi_variants=("zoomed",),
        normal_tiling="shrunk",
        normal_filter="basic",
    ),
    "9": Recipe(
        name="9",
        description="binary: CBIS ROIs by method 2, DDSM normal tiles (per-digitizer rules)",
    ),
    "9-background": Recipe(
        name="9-background",
        description="binary: CBIS ROIs by method 2, normals from the same scans away from ROIs",
        normals="cbis-background",
    ),
}


def get_recipe(name: str | Recipe, **overrides: Any) -> Recipe:
    """Return the named recipe, with fields replaced by `overrides` (None values ignored).

    Raises
    ------
    KeyError
        Unknown recipe name (the message lists the known ones).
    """
    if isinstance(name, Recipe):
        base = name
    else:
        if str(name) not in RECIPES:
            raise KeyError(f"unknown recipe {name!r}; known: {', '.join(RECIPES)}")
        base = RECIPES[str(name)]
    changes = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(changes) - {f.name for f in dataclasses.fields(Recipe)}
    if unknown:
        raise TypeError(f"unknown recipe field(s): {sorted(unknown)}")
    return dataclasses.replace(base, **changes)
