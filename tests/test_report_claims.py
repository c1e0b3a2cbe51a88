"""The conclusion's claims table: placeholders become cross-page glue, missing chapters a gap."""

from __future__ import annotations

from pathlib import Path

from mammo_lib.report.claims import STUDY_CLAIMS, Claim, Source, claims_frame, paste

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def test_paste_writes_cross_page_glue_roles() -> None:
    text = paste("AUC <<c07_auc>>, p = <<c03_p:.2g>>", "07_results")
    assert text == (
        "AUC {glue:text}`07_results.ipynb::c07_auc:s`, p = {glue:text}`07_results.ipynb::c03_p:.2g`"
    )


def test_a_claim_uses_the_first_chapter_that_glues_its_key(tmp_path: Path) -> None:
    (tmp_path / "09_new.py").write_text('glue("c09_diff", 1)\n')
    (tmp_path / "07_old.py").write_text('glue(\n    f"c07_{key}_diff", 1)\n')
    claim = Claim(
        "a claim",
        (
            Source("09_new", "d <<c09_diff>>", "v", "real", "c09_diff"),
            Source("07_old", "d <<c07_x_diff>>", "v", "real", "c07_{key}_diff"),
        ),
    )
    both = claims_frame([claim], ["07_old", "09_new"], tmp_path)
    assert "09_new.ipynb::c09_diff" in both["this book's evidence"].iloc[0]
    only_old = claims_frame([claim], ["07_old"], tmp_path)
    assert "07_old.ipynb::c07_x_diff" in only_old["this book's evidence"].iloc[0]
    none = claims_frame([claim], [], tmp_path)
    assert none["verdict"].iloc[0] == "not tested"
    assert "09_new" in none["this book's evidence"].iloc[0]


def test_every_study_claim_is_answered_by_a_chapter_of_this_checkout() -> None:
    chapters = [p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.py")]
    table = claims_frame(STUDY_CLAIMS, chapters, NOTEBOOKS)
    assert len(table) == len(STUDY_CLAIMS)
    assert "not tested" not in set(table["verdict"]), table[table["verdict"] == "not tested"]
