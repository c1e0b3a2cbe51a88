"""The study's claims and where this book's chapters hold the evidence for each.

Each :class:`Claim` names what the study said and one or more :class:`Source` entries: the
chapter whose glued values answer it, the evidence and verdict as MyST text with ``<<key>>``
or ``<<key:format>>`` placeholders, and a key that chapter must glue. :func:`claims_frame`
picks for every claim the first source whose chapter is in the book and glues that key, and
expands the placeholders into cross-page ``{glue:text}`` roles; a claim with no such
source says so instead of showing a number. The verdicts themselves are computed in the
chapters (:mod:`mammo_lib.report.verdicts`); this module only says where they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

_PLACEHOLDER = re.compile(r"<<(\w+)(?::([^>]+))?>>")


@dataclass(frozen=True)
class Source:
    """Where one chapter answers a claim: texts with ``<<key[:format]>>`` placeholders."""

    chapter: str
    evidence: str
    verdict: str
    data: str
    requires: str


@dataclass(frozen=True)
class Claim:
    """A claim of the study, with the chapters that can answer it, in order of preference."""

    claim: str
    sources: tuple[Source, ...]


def paste(text: str, chapter: str) -> str:
    """Expand ``<<key>>`` / ``<<key:fmt>>`` into ``{glue:text}`` roles reading `chapter`.

    >>> paste("AUC <<c07_auc>>, p = <<c03_p:.2g>>", "07_results")
    'AUC {glue:text}`07_results.ipynb::c07_auc:s`, p = {glue:text}`07_results.ipynb::c03_p:.2g`'
    """

    def role(match: re.Match[str]) -> str:
        key, fmt = match.group(1), match.group(2) or "s"
        return f"{{glue:text}}`{chapter}.ipynb::{key}:{fmt}`"

    return _PLACEHOLDER.sub(role, text)


def glues(source: Path, key: str) -> bool:
    """Whether a chapter's py:percent source glues `key` (a literal ``glue("key", ...)``)."""
    return (
        source.is_file()
        and re.search(rf"glue\(\s*f?[\"']{re.escape(key)}[\"']", source.read_text()) is not None
    )


def claims_frame(claims: Sequence[Claim], chapters: Iterable[str], notebooks: Path) -> pd.DataFrame:
    """One row per claim: ``the study, this book's evidence, data, verdict`` as MyST text.

    Parameters
    ----------
    claims
        The claims, in the order of the table.
    chapters
        Notebook stems in the book's table of contents.
    notebooks
        The folder holding the chapters' ``.py`` sources.
    """
    present = set(chapters)
    rows = []
    for claim in claims:
        source = next(
            (
                s
                for s in claim.sources
                if s.chapter in present and glues(notebooks / f"{s.chapter}.py", s.requires)
            ),
            None,
        )
        if source is None:
            wanted = ", ".join(sorted({s.chapter for s in claim.sources}))
            rows.append(
                {
                    "the study": claim.claim,
                    "this book's evidence": f"not in this build (needs {wanted})",
                    "data": "—",
                    "verdict": "not tested",
                }
            )
            continue
        rows.append(
            {
                "the study": claim.claim,
                "this book's evidence": paste(source.evidence, source.chapter),
                "data": source.data,
                "verdict": paste(source.verdict, source.chapter),
            }
        )
    return pd.DataFrame(rows)


def _s(chapter: str, evidence: str, verdict: str, data: str, requires: str) -> Source:
    return Source(chapter, evidence, verdict, data, requires)


#: The study's claims {cite}`scuccimarra2018`, in the order of the conclusion's table. The
#: study's own numbers are pasted from the conclusion's glue (``c11_pub_<table>_<metric>``).
STUDY_CLAIMS: tuple[Claim, ...] = (
    Claim(
        "Malignant WDBC nuclei are larger",
        (_s("01_uci_eda", "one-sided Mann-Whitney test of the mean radius, p = <<c01_size_p:.2g>>",
            "<<c01_size_verdict>>", "real (UCI)", "c01_size_verdict"),),
    ),
    Claim(
        "Classical learners classify the WDBC aspirates well",
        (_s("02_uci_classical_ml",
            "best cross-validated ROC AUC <<c02_wdbc_best_auc:.3f>> (<<c02_wdbc_best>>), "
            "{numref}`tbl-02-cv-results`",
            "accuracy <<c02_wdbc_verdict>>", "real (UCI)", "c02_{key}_verdict"),),
    ),
    Claim(
        "Malignant MIAS abnormalities are larger",
        (_s("03_mias_eda",
            "one-sided Mann-Whitney test of the radius, all lines p = <<c03_size_p_all:.2g>>, "
            "masses p = <<c03_size_p_mass:.2g>> ({numref}`tbl-03-size-test`)",
            "<<c03_size_verdict_all>> (masses alone: <<c03_size_verdict_mass>>)",
            "real (MIAS)", "c03_size_p_{key}"),),
    ),
    Claim(
        "With W = 6, model 1.0.0.35 keeps finding abnormal tiles (figures 5-7)",
        (_s("06_training",
            "last-epoch validation recall <<c06_val_recall:.3f>>, ROC AUC <<c06_val_auc:.3f>> "
            "({numref}`fig-06-curves`)",
            "accuracy <<c06_val_vs_baseline>>", "synthetic", "c06_val_vs_baseline"),),
    ),
    Claim(
        "Dataset 9, binary: accuracy {glue:text}`c11_pub_binary_accuracy:.4f`, recall "
        "{glue:text}`c11_pub_binary_recall:.4f` (Table 1)",
        (_s("07_results",
            "test ROC AUC <<c07_main_auc>>, accuracy <<c07_main_acc:.3f>> "
            "({numref}`tbl-07-binary`)",
            "not testable without the real scans; on stand-ins <<c07_main_auc_verdict>>, "
            "accuracy <<c07_main_baseline_verdict>>", "synthetic", "c07_main_baseline_verdict"),),
    ),
    Claim(
        "Dataset 6, five classes: accuracy {glue:text}`c11_pub_multiclass_accuracy:.4f`, "
        "recall {glue:text}`c11_pub_multiclass_recall:.4f` (Table 2)",
        (_s("07_results",
            "accuracy <<c07_mc_acc:.3f>>, recall <<c07_mc_recall:.3f>> "
            "({numref}`tbl-07-multiclass`)",
            "not testable without the real scans; on stand-ins accuracy <<c07_mc_verdict>>",
            "synthetic", "c07_mc_verdict"),),
    ),
    Claim(
        "The dataset-9 model carries over to MIAS: accuracy "
        "{glue:text}`c11_pub_mias_accuracy:.4f`, recall {glue:text}`c11_pub_mias_recall:.4f` "
        "(Table 3)",
        (_s("07_results",
            "ROC AUC <<c07_ood_auc>> of the synthetic-trained model on real MIAS tiles "
            "({numref}`tbl-07-mias`)",
            "<<c07_ood_verdict>>", "real MIAS (test only)", "c07_ood_verdict"),),
    ),
    Claim(
        "A ConvNet detects abnormalities on real mammograms",
        (
            _s("09_real_mias",
               "trained and tested on real MIAS, folds by woman: ConvNet tile AUC "
               "<<c09_cnn_auc>>, image statistics alone <<c09_stats_auc>>, paired "
               "difference <<c09_diff>>",
               "<<c09_verdict>>", "real (MIAS)", "c09_diff"),
            _s("07_results",
               "trained and tested on real MIAS, folds by woman: ConvNet ROC AUC "
               "<<c07_mias_cnn_auc>>, image statistics alone <<c07_mias_stats_auc>>",
               "paired difference ConvNet minus statistics <<c07_mias_diff>> (an interval "
               "that contains 0 is a tie)", "real (MIAS)", "c07_mias_diff"),
        ),
    ),
    Claim(
        "W of 4 to 6 raises recall at little cost in accuracy (Table 4)",
        (_s("07_results", "the W sweep of {numref}`tbl-07-weights`", "<<c07_sweep_verdict>>",
            "synthetic", "c07_sweep_verdict"),),
    ),
    Claim(
        "(Design) DDSM normal scans are a fair negative class for CBIS-DDSM lesions",
        (_s("07_results",
            "image statistics on normal tiles only, DDSM normals against CBIS tissue: AUC "
            "<<c07_sc_pipe>> ({numref}`tbl-07-shortcut`)",
            "the statistics <<c07_sc_pipe_verdict>> the two pipelines (of the generator, not "
            "of the real archives)", "synthetic", "c07_sc_pipe_verdict"),),
    ),
    Claim(
        "(Future work) a whole-scan system that marks where to look",
        (_s("09_real_mias",
            "held-out maps of real MIAS (each fold's model, trained on MIAS): scan-level AUC "
            "<<c09_scan_auc>> (<<c09_bilat_scan_auc>> against the other breast), lesion "
            "sensitivity at one false-positive region per scan <<c09_sens_1fp>>, masses "
            "<<c09_mass_1fp>> ({numref}`fig-09-heatmaps`); a detector trained on whole "
            "films: scan-level AUC <<c09_film_scan_auc>>, masses <<c09_film_mass_1fp>> "
            "({numref}`fig-09-film-heatmaps`)",
            "the scan-level AUC is <<c09_scan_verdict>> (whole-film detector: "
            "<<c09_film_scan_verdict>>)", "real (MIAS)", "c09_scan_verdict"),
         _s("08_whole_scan",
            "highest map peak on real MIAS scans hits <<c08_mias_top1:.0%>> of the lesions "
            "(a random breast cell: <<c08_mias_chance:.0%>>; difference "
            "<<c08_mias_top1_diff>> over women)",
            "<<c08_mias_verdict>>", "real MIAS (model trained on synthetic)",
            "c08_mias_verdict"),),
    ),
)  # fmt: skip
