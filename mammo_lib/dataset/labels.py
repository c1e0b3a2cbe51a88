"""Label encoding: the study's five class codes and the binary normal/abnormal label.

===  ========================  ========
code name                      binary
===  ========================  ========
0    NORMAL                    0
1    BENIGN_calcification      1
2    BENIGN_mass               1
3    MALIGNANT_calcification   1
4    MALIGNANT_mass            1
===  ========================  ========

CBIS-DDSM's ``BENIGN_WITHOUT_CALLBACK`` counts as BENIGN (as in the study). MIAS classes map
CALC to calcification and every other abnormal class (CIRC, SPIC, MISC, ARCH, ASYM) to mass.
"""

from __future__ import annotations

#: Class codes of the study.
LABELS: dict[str, int] = {
    "NORMAL": 0,
    "BENIGN_calcification": 1,
    "BENIGN_mass": 2,
    "MALIGNANT_calcification": 3,
    "MALIGNANT_mass": 4,
}
#: Class names by code.
CLASS_NAMES: tuple[str, ...] = tuple(sorted(LABELS, key=LABELS.__getitem__))

_PATHOLOGY = {"BENIGN": "BENIGN", "BENIGN_WITHOUT_CALLBACK": "BENIGN", "MALIGNANT": "MALIGNANT"}
_TYPE = {"mass": "mass", "calcification": "calcification", "calc": "calcification"}


def binary(label: int) -> int:
    """Return 0 for NORMAL, 1 for every abnormal class."""
    if label not in LABELS.values():
        raise ValueError(f"{label} is not a class code")
    return int(label != 0)


def cbis_label(pathology: str, abnormality_type: str) -> int:
    """Class code of a CBIS-DDSM abnormality.

    Parameters
    ----------
    pathology
        ``BENIGN``, ``BENIGN_WITHOUT_CALLBACK`` or ``MALIGNANT``.
    abnormality_type
        ``mass`` or ``calcification``.
    """
    try:
        return LABELS[
            f"{_PATHOLOGY[str(pathology).upper()]}_{_TYPE[str(abnormality_type).lower()]}"
        ]
    except KeyError:
        raise ValueError(f"unknown pathology/type {pathology!r}/{abnormality_type!r}") from None


def mias_label(abnormality: str, severity: str | None) -> int:
    """Class code of a MIAS Info.txt line (``NORM`` gives 0)."""
    if abnormality == "NORM":
        return LABELS["NORMAL"]
    pathology = {"B": "BENIGN", "M": "MALIGNANT"}.get(str(severity))
    if pathology is None:
        raise ValueError(f"MIAS line {abnormality!r} has no severity B/M (got {severity!r})")
    kind = "calcification" if abnormality == "CALC" else "mass"
    return LABELS[f"{pathology}_{kind}"]
