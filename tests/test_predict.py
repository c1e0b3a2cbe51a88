"""``mammo predict`` end to end: synthetic DICOMs, real MIAS and CBIS-DDSM scans, bad files."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from mammo_lib.cli import main
from mammo_lib.imaging.read import read_scan
from mammo_lib.scan.predictor import (
    DEFAULT_SOURCE_SPACING_MM,
    Predictor,
    RunScaleError,
    predict_scan,
    training_scale,
)
from mammo_lib.train.predict_info import (
    PREDICT_INFO,
    PURPOSE,
    PredictInfo,
    read_predict_info,
    write_predict_info,
)

IMAGE_SIZE = 64


def _randomise_bn(model, rng: np.random.Generator) -> None:
    """Give batch normalisation varied statistics so the untrained model's map is not flat."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, gamma.shape).astype("float32"),
                    rng.normal(0, 0.5, beta.shape).astype("float32"),
                    rng.normal(0, 0.2, mean.shape).astype("float32"),
                    rng.uniform(0.01, 0.1, var.shape).astype("float32"),
                ]
            )


def write_tiny_run(folder: Path, seed: int = 3, predict_info: bool = True) -> Path:
    """Write a run folder as the trainer does, holding a tiny untrained model.

    Its ``predict.json`` says: 598-px crops of 0.05 mm DICOM scans resized to 64 px.
    """
    import keras

    from mammo_lib.train import TrainConfig, build_training_model
    from mammo_lib.train.config import write_json_atomic

    config = TrainConfig(
        dataset_dir=str(folder / "no-dataset"),
        image_size=IMAGE_SIZE,
        model_kwargs={"width": 0.125, "fc_units": [8, 8]},
        threshold=0.5,
        seed=seed,
    )
    keras.utils.set_random_seed(seed)
    model = build_training_model(config)
    _randomise_bn(model.get_layer("vgg_lite"), np.random.default_rng(seed))  # varied outputs
    model.save(folder / "best.keras")
    write_json_atomic(folder / "config.json", {"config": config.to_dict(), "config_hash": "x"})
    if predict_info:
        info = PredictInfo(
            pixel_spacing_mm=DEFAULT_SOURCE_SPACING_MM * 598 / IMAGE_SIZE,
            input_size=IMAGE_SIZE,
            threshold=0.5,
            trained_on="nothing (an untrained test model)",
            labels=("NORMAL", "ABNORMAL"),
            source_spacing_mm=DEFAULT_SOURCE_SPACING_MM,
            source_format="dicom",
            crop_size_px=598,
            derived="test",
        )
        write_predict_info(folder, info)
    return folder


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder holding a tiny untrained model."""
    return write_tiny_run(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def synthetic_dicoms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A synthetic CBIS-style scan with a mass, as RLE MONOCHROME2 and as MONOCHROME1."""
    from mammo_lib.sources.synthetic.dicom_writer import write_dicom
    from mammo_lib.sources.synthetic.scan import LesionSpec, render_scan

    folder = tmp_path_factory.mktemp("dicom")
    rng = np.random.default_rng(7)
    pixels, _ = render_scan(
        rng, (1400, 800), "CC", "LEFT", lesions=[LesionSpec("mass", diameter_mm=15.0)]
    )
    mono2 = folder / "scan_m2" / "1-1.dcm"
    write_dicom(
        mono2,
        pixels,
        subject_id="Mass-Test_P_00001_LEFT_CC",
        study_uid="1.2.3",
        series_uid="1.2.3.4",
        sop_uid="1.2.3.4.5",
        series_description="full mammogram images",
        series_number=1,
        instance_number=1,
        study_date="20260101",
        side="LEFT",
        view="CC",
        rle=True,
    )
    ds = pydicom.dcmread(mono2)
    ds.decompress()
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.PixelData = (65535 - ds.pixel_array.astype(np.uint16)).astype("<u2").tobytes()
    mono1 = folder / "scan_m1" / "1-1.dcm"
    mono1.parent.mkdir()
    ds.save_as(mono1)
    return {"mono2": mono2, "mono1": mono1}


@pytest.fixture(scope="module")
def mias_scan() -> Path:
    """A real mini-MIAS scan with a mass (mdb028), through the registry."""
    from mammo_lib.sources.mias import load_mias

    return load_mias().path("mdb028")


def _outputs(out: Path, stem: str) -> tuple[dict, np.ndarray, Image.Image]:
    summary = json.loads((out / f"{stem}.json").read_text())
    prob = np.load(out / f"{stem}.map.npy")
    heat = Image.open(out / f"{stem}.heatmap.png")
    return summary, prob, heat


def test_training_scale_from_predict_json(run_dir: Path) -> None:
    scale = training_scale(run_dir)
    assert scale.mm_per_pixel == pytest.approx(DEFAULT_SOURCE_SPACING_MM * 598 / IMAGE_SIZE)
    assert scale.source == "test" and scale.source_format == "dicom"


def test_run_without_scale_is_refused_naming_it(
    tmp_path: Path, mias_scan: Path, capsys: pytest.CaptureFixture
) -> None:
    """No predict.json and no dataset: no scale is assumed; one line names the run."""
    (tmp_path / "run").mkdir()
    run = write_tiny_run(tmp_path / "run", predict_info=False)
    with pytest.raises(RunScaleError, match=str(run)):
        training_scale(run)
    code = main(["predict", str(mias_scan), "--model", str(run), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert str(run) in err[0] and PREDICT_INFO in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "o").exists()


def test_predict_synthetic_dicom_and_real_mias(
    run_dir: Path, synthetic_dicoms: dict[str, Path], mias_scan: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "out"
    dicoms = [str(synthetic_dicoms["mono2"]), str(synthetic_dicoms["mono1"])]
    common = ["--model", str(run_dir), "--out", str(out), "--threshold", "0.3"]
    code = main(["predict", *dicoms, *common])
    assert code == 0, capsys.readouterr().err
    code = main(["predict", str(mias_scan), *common, "--pixel-spacing", "0.2"])
    assert code == 0, capsys.readouterr().err
    # Both DICOMs are named 1-1.dcm: the second gets its own stem.
    m2, p2, h2 = _outputs(out, "1-1")
    m1, p1, _ = _outputs(out, "1-1-2")
    mias, pm, hm = _outputs(out, "mdb028")
    # MONOCHROME1 is inverted on reading, so both photometric forms give the same map.
    np.testing.assert_allclose(p1, p2, atol=1e-6)
    for summary, prob, scan_shape in ((m2, p2, (1400, 800)), (mias, pm, (1024, 1024))):
        assert summary["scan_shape"] == list(scan_shape)
        assert list(prob.shape) == summary["map"]["shape"] and prob.dtype == np.float32
        assert summary["scan_probability"] == pytest.approx(float(prob.max()), abs=1e-5)
        assert summary["threshold"] == 0.3 and summary["threshold_source"] == "option"
        above = prob >= 0.3
        assert (summary["n_regions"] > 0) == bool(above.any())
        for region in summary["regions"]:
            box = region["box"]
            assert 0 <= box["top"] < box["bottom"] <= scan_shape[0]
            assert 0 <= box["left"] < box["right"] <= scan_shape[1]
            assert 0.3 <= region["peak_probability"] <= summary["scan_probability"] + 1e-6
    # 64-px tiles at stride 64: shift-and-stitch refines the map to a quarter tile.
    assert m2["map"]["step_model_px"] == 16 and m2["map"]["tile_model_px"] == [64, 64]
    # The DICOM states no spacing: assumed; the PGM: the option.
    assert m2["pixel_spacing_source"].startswith("assumed")
    assert mias["pixel_spacing_source"] == "option" and mias["pixel_spacing_mm"] == [0.2, 0.2]
    # Resampled to the training scale: 0.2 mm scan pixels to 0.467 mm model pixels.
    factor = 0.2 / (DEFAULT_SOURCE_SPACING_MM * 598 / IMAGE_SIZE)
    assert mias["resampled_shape"] == [round(1024 * factor)] * 2
    assert h2.mode == "RGB" and max(h2.size) <= 2048 and hm.size == (1024, 1024)


def test_threshold_zero_gives_one_region_over_the_whole_map(run_dir: Path, mias_scan: Path) -> None:
    predictor = Predictor.from_run(run_dir, threshold=0.0)
    prediction = predict_scan(predictor, read_scan(mias_scan), pixel_spacing_mm=0.2)
    assert len(prediction.regions) == 1
    region = prediction.regions[0]
    assert region.n_cells == prediction.prob_map.size
    assert region.peak_probability == pytest.approx(prediction.score)
    top, left, bottom, right = region.box
    assert top <= 64 and left <= 64 and bottom >= 1024 - 64 and right >= 1024 - 64


def test_bad_files_are_named_and_the_others_processed(
    run_dir: Path, mias_scan: Path, synthetic_dicoms: dict[str, Path], tmp_path: Path, capsys
) -> None:
    truncated = tmp_path / "truncated.dcm"
    truncated.write_bytes(synthetic_dicoms["mono2"].read_bytes()[:2000])
    not_png = tmp_path / "notes.png"
    not_png.write_text("not an image\n")
    unknown = tmp_path / "scan.tif"
    unknown.write_bytes(b"II*\x00" + bytes(100))
    missing = tmp_path / "missing.pgm"
    out = tmp_path / "out"
    code = main(
        ["predict", str(truncated), str(mias_scan), str(not_png), str(unknown), str(missing)]
        + ["--model", str(run_dir), "--out", str(out)]
    )
    err = capsys.readouterr().err
    assert code == 1
    for bad in (truncated, not_png, unknown, missing):
        assert str(bad) in err
    assert "4 of 5 scan(s) failed" in err
    assert sorted(p.name for p in out.iterdir()) == [
        "mdb028.heatmap.png",
        "mdb028.json",
        "mdb028.map.npy",
    ]


def test_not_a_run_folder(tmp_path: Path, mias_scan: Path, capsys) -> None:
    code = main(["predict", str(mias_scan), "--model", str(tmp_path), "--out", str(tmp_path)])
    assert code == 2
    assert "best.keras" in capsys.readouterr().err


def _run_on_synthetic_tree(tmp_path: Path) -> tuple[Path, Path]:
    """An old-style run (no predict.json) on a small synthetic tree: 299-px crops of 0.1 mm
    scans resized to 64 px; returns the run and its dataset folder."""
    tree = tmp_path / "tree"
    (tree / "cbis-ddsm").mkdir(parents=True)
    (tree / "ground_truth_scans.csv").write_text("subject_id,pixel_mm\na,0.1\nb,0.1\n")
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    from mammo_lib.dataset.folder import write_shard_manifest

    recipe = {"crop_size": 299, "name": "9", "description": "test"}
    write_shard_manifest(dataset, recipe=recipe, inputs={"cbis_root": str(tree / "cbis-ddsm")})
    (tmp_path / "run").mkdir()
    run = write_tiny_run(tmp_path / "run", predict_info=False)
    meta = json.loads((run / "config.json").read_text())
    meta["config"]["dataset_dir"] = str(dataset)
    (run / "config.json").write_text(json.dumps(meta))
    return run, dataset


def test_old_run_derives_predict_json_once_and_a_copied_run_keeps_the_scale(
    tmp_path: Path, synthetic_dicoms: dict[str, Path]
) -> None:
    run, dataset = _run_on_synthetic_tree(tmp_path)
    assert read_predict_info(run) is None
    scale = training_scale(run)
    assert scale.source_spacing_mm == pytest.approx(0.1)
    assert scale.mm_per_pixel == pytest.approx(0.1 * 299 / 64)
    assert "crop 299" in scale.source and scale.source_format == "dicom"
    info = read_predict_info(run)  # derived once, written beside the model
    assert info is not None and info.pixel_spacing_mm == pytest.approx(0.1 * 299 / 64)
    assert info.purpose == PURPOSE and info.labels == ("NORMAL", "ABNORMAL")
    assert "synthetic CBIS-DDSM tree" in info.trained_on

    # the run copied to another machine, its dataset and tree gone
    copied = tmp_path / "elsewhere" / "run"
    shutil.copytree(run, copied)
    shutil.rmtree(dataset)
    shutil.rmtree(tmp_path / "tree")
    shutil.rmtree(run)
    prediction = predict_scan(Predictor.from_run(copied), read_scan(synthetic_dicoms["mono2"]))
    # the synthetic DICOM states no spacing: taken as the training scans' 0.1 mm
    assert prediction.pixel_spacing_mm == (0.1, 0.1)
    factor = 0.1 / (0.1 * 299 / 64)
    assert prediction.resampled_shape == (round(1400 * factor), round(800 * factor))
    assert prediction.info["training_pixel_spacing_mm"] == pytest.approx(0.1 * 299 / 64, 1e-5)


def test_sliding_method_maps_the_same_grid(run_dir: Path, mias_scan: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--model", str(run_dir), "--pixel-spacing", "0.2", "--out", str(out)]
    assert main(["predict", str(mias_scan), *args, "--method", "sliding"]) == 0
    sliding, sliding_map, _ = _outputs(out, "mdb028")
    predictor = Predictor.from_run(run_dir)
    fcn = predict_scan(predictor, read_scan(mias_scan), pixel_spacing_mm=0.2)
    assert sliding["method"] == "sliding window" and fcn.info["method"] == "fully convolutional"
    assert sliding_map.shape == fcn.prob_map.shape
    assert sliding["map"] == fcn.to_dict()["map"]


def test_header_pixel_spacing_wins_over_the_option(
    run_dir: Path, synthetic_dicoms: dict[str, Path], tmp_path: Path
) -> None:
    ds = pydicom.dcmread(synthetic_dicoms["mono1"])
    ds.PixelSpacing = [0.1, 0.1]
    path = tmp_path / "spaced.dcm"
    ds.save_as(path)
    scan = read_scan(path)
    assert scan.pixel_spacing_mm == (0.1, 0.1) and scan.file_format == "dicom"
    predictor = Predictor.from_run(run_dir)
    prediction = predict_scan(predictor, scan, pixel_spacing_mm=0.3)
    assert prediction.pixel_spacing_source == "header"
    factor = 0.1 / predictor.scale.mm_per_pixel
    assert prediction.resampled_shape == (round(1400 * factor), round(800 * factor))


def test_png_8_and_16_bit_read_like_the_pgm(mias_scan: Path, tmp_path: Path) -> None:
    """The MIAS scan saved as 8-bit and 16-bit PNG gives the same 8-bit image as the PGM."""
    pgm = read_scan(mias_scan)
    eight, sixteen = tmp_path / "scan8.png", tmp_path / "scan16.png"
    Image.fromarray(pgm.image).save(eight)
    Image.fromarray(pgm.image.astype(np.uint16) * 257).save(sixteen)
    for path in (eight, sixteen):
        png = read_scan(path)
        assert png.file_format == "png" and png.pixel_spacing_mm is None
        np.testing.assert_array_equal(png.image, pgm.image)


def test_jpeg_lossless_12_bit_dicom(
    run_dir: Path, synthetic_dicoms: dict[str, Path], tmp_path: Path
) -> None:
    """A 12-bit JPEG Lossless DICOM (written with imagecodecs) decodes and is mapped."""
    import imagecodecs
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEGLosslessSV1, SecondaryCaptureImageStorage, generate_uid

    from mammo_lib.imaging.intensity import to_uint8

    pixels = (pydicom.dcmread(synthetic_dicoms["mono2"]).pixel_array >> 4).astype(np.uint16)
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = JPEGLosslessSV1
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = SecondaryCaptureImageStorage, generate_uid()
    ds.Modality = "MG"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = encapsulate([imagecodecs.ljpeg_encode(pixels, bitspersample=12)])
    ds["PixelData"].VR = "OB"
    path = tmp_path / "jpeg-lossless.dcm"
    ds.save_as(path, enforce_file_format=True)

    np.testing.assert_array_equal(read_scan(path).image, to_uint8(pixels))
    out = tmp_path / "out"
    assert main(["predict", str(path), "--model", str(run_dir), "--out", str(out)]) == 0
    assert json.loads((out / "jpeg-lossless.json").read_text())["format"] == "dicom"


def test_border_margin_keeps_alignment() -> None:
    from mammo_lib.scan.fcn import FullyConvolutional
    from mammo_lib.scan.predictor import border_margin

    def margin(tile: int) -> tuple[int, int]:
        return border_margin(FullyConvolutional(None, (tile, tile), 64, 1, 2))

    assert margin(299) == (128, 128)  # first window centred 21.5 px inside the scan
    assert margin(128) == (64, 64)  # centred on the scan's edge
    assert margin(64) == (0, 0)  # half a tile is less than one stride


def test_json_records_the_tissue_mask_and_it_can_be_turned_off(
    run_dir: Path, mias_scan: Path, tmp_path: Path, capsys
) -> None:
    common = ["--model", str(run_dir), "--threshold", "0.3", "--pixel-spacing", "0.2"]
    assert main(["predict", str(mias_scan), *common, "--out", str(tmp_path / "on")]) == 0
    off = ["predict", str(mias_scan), *common, "--out", str(tmp_path / "off"), "--no-tissue-mask"]
    assert main(off) == 0, capsys.readouterr().err
    on_summary, on_map, _ = _outputs(tmp_path / "on", mias_scan.stem)
    off_summary, off_map, _ = _outputs(tmp_path / "off", mias_scan.stem)
    assert on_summary["tissue_mask"] is True and off_summary["tissue_mask"] is False
    assert "tissue_fraction" not in off_summary
    tissue = on_map > 0
    fraction = on_summary["tissue_fraction"]
    assert 0.1 < fraction < 0.9 and tissue.mean() <= fraction + 1e-6
    # inside the tissue the maps agree; outside, the masked map is 0
    inside = on_map != 0
    np.testing.assert_allclose(on_map[inside], off_map[inside], atol=1e-6)
    assert on_summary["scan_probability"] <= off_summary["scan_probability"] + 1e-6


def _with_header(source: Path, folder: Path, name: str, **elements: object) -> Path:
    """A copy of a DICOM with some header elements set (raw values, as a broken writer would)."""
    from pydicom.datadict import dictionary_VR, tag_for_keyword
    from pydicom.dataelem import RawDataElement
    from pydicom.tag import BaseTag

    ds = pydicom.dcmread(source)
    for keyword, value in elements.items():
        tag = tag_for_keyword(keyword)
        if value is None:
            del ds[tag]
        else:  # raw bytes, so that values pydicom would refuse to build are written as given
            raw = str(value).encode() + b" " * (len(str(value)) % 2)
            ds[tag] = RawDataElement(
                BaseTag(tag), dictionary_VR(tag), len(raw), raw, 0, False, True
            )
    path = folder / f"{name}.dcm"
    ds.save_as(path)
    return path


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5\\5", "5 mm is outside the plausible range"),
        ("0.0001\\0.0001", "0.0001 mm is outside the plausible range"),
        ("0.1", "malformed PixelSpacing"),
        ("abc\\0.1", "malformed PixelSpacing"),
    ],
)
def test_bad_header_spacing_gives_one_line_naming_the_file(
    run_dir: Path,
    synthetic_dicoms: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    value: str,
    expected: str,
) -> None:
    path = _with_header(synthetic_dicoms["mono2"], tmp_path, "bad", PixelSpacing=value)
    out = tmp_path / "out"
    code = main(["predict", str(path), "--model", str(run_dir), "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 2 and err[1].endswith("1 of 1 scan(s) failed")  # the line, the tally
    assert err[0].startswith(f"mammo predict: error: {path}: ") and expected in err[0]
    assert not out.exists() or not list(out.iterdir())


@pytest.mark.parametrize("value", ["0\\0", "-0.1\\-0.1"])
def test_zero_or_negative_spacing_is_ignored_with_a_warning_and_recorded(
    run_dir: Path,
    synthetic_dicoms: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    value: str,
) -> None:
    path = _with_header(synthetic_dicoms["mono2"], tmp_path, "zero", PixelSpacing=value)
    out = tmp_path / "out"
    code = main(["predict", str(path), "--model", str(run_dir), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"mammo predict: warning: {path}: header PixelSpacing" in err and "ignored" in err
    summary = json.loads((out / "zero.json").read_text())
    written = value.replace("\\", "\\\\")  # as JSON escapes the backslash
    assert json.dumps(summary["header_pixel_spacing"]) == f'"{written}"'
    assert summary["pixel_spacing_source"].startswith("assumed")
    assert "is not a positive spacing: ignored" in summary["pixel_spacing_source"]
    assert summary["pixel_spacing_mm"] == [DEFAULT_SOURCE_SPACING_MM] * 2


def test_option_spacing_is_bounded_at_the_parser(
    run_dir: Path, mias_scan: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    base = ["predict", str(mias_scan), "--model", str(run_dir), "--out", str(tmp_path)]
    for extra in (
        ["--pixel-spacing", "5"],
        ["--pixel-spacing", "0"],
        ["--pixel-spacing", "nan"],
        ["--threshold", "2"],
        ["--top-k", "0"],
        ["--refine", "-1"],
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(base + extra)
        err = capsys.readouterr().err
        assert exit_info.value.code == 2, extra
        assert f"argument {extra[0]}" in err and "Traceback" not in err


@pytest.mark.parametrize("modality", ["CT", "OT", None])
def test_non_mammography_dicom_is_refused_unless_forced(
    run_dir: Path,
    synthetic_dicoms: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    modality: str | None,
) -> None:
    path = _with_header(synthetic_dicoms["mono2"], tmp_path, "ct", Modality=modality)
    common = ["--model", str(run_dir), "--out", str(tmp_path / "out")]
    assert main(["predict", str(path), *common]) == 1
    err = capsys.readouterr().err
    assert f"{path}: " in err and "not a mammogram (MG)" in err and "--force" in err
    assert main(["predict", str(path), *common, "--force"]) == 0
    assert "mapped because forced" in capsys.readouterr().err
    summary = json.loads((tmp_path / "out" / "ct.json").read_text())
    assert summary["modality"] == modality and "forced" in summary["pixel_spacing_source"]


@pytest.mark.parametrize("value", [0, 255, 97])
def test_blank_or_constant_image_gives_no_region_and_says_why(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture, value: int
) -> None:
    path = tmp_path / "blank.png"
    Image.fromarray(np.full((1024, 800), value, dtype=np.uint8)).save(path)
    out = tmp_path / "out"
    args = ["predict", str(path), "--model", str(run_dir), "--out", str(out), "--threshold", "0"]
    assert main(args) == 0, capsys.readouterr().err
    assert "no score (constant image" in capsys.readouterr().out
    summary, prob, _ = _outputs(out, "blank")
    assert summary["scan_probability"] is None and summary["n_regions"] == 0
    assert summary["scan_probability_reason"].startswith("constant image")
    assert not prob.any()


def test_an_image_without_breast_tissue_is_not_scored(run_dir: Path, tmp_path: Path) -> None:
    """Air with one small bright label: the mask finds less than 1% of tissue."""
    image = np.zeros((1024, 800), dtype=np.uint8)
    image[50:60, 700:720] = 230
    path = tmp_path / "label.png"
    Image.fromarray(image).save(path)
    prediction = predict_scan(Predictor.from_run(run_dir), read_scan(path), pixel_spacing_mm=0.2)
    assert prediction.score is None and prediction.regions == []
    assert prediction.no_score_reason.startswith("no breast tissue found")


# --------------------------------------------------------------------------------------------
# The default model (a tiny MIAS detector) and the real CBIS-DDSM views
# --------------------------------------------------------------------------------------------

MIRROR = Path(os.environ.get("MAMMO_DATA_MIRROR", "/nonexistent"))
REAL_VIEWS = sorted((MIRROR / "cbis-ddsm-samples" / "full").glob("*.dcm"))
needs_real_views = pytest.mark.skipif(
    not REAL_VIEWS,
    reason=f"the real CBIS-DDSM views are not here ({MIRROR}/cbis-ddsm-samples/full absent)",
)


@pytest.fixture(scope="module")
def tiny_default_model(tmp_path_factory: pytest.TempPathFactory):
    """The default model's recipe made tiny (60 scans, 32-px tiles, 2 epochs), built once."""
    from mammo_lib.dataset.mias_tiles import MiasTileConfig
    from mammo_lib.scan import default_model
    from mammo_lib.train.mias_detector import MiasRecipe

    recipe = MiasRecipe(
        tiles=MiasTileConfig(
            out_size=32, n_crops=2, normals_per_scan=2, background_per_scan=2, n_images=60
        ),
        width=0.125,
        fc_units=(16, 16),
        epochs=2,
        val_fraction=0.3,
    )
    saved = default_model.DEFAULT_RECIPE
    default_model.DEFAULT_RECIPE = recipe
    try:
        yield default_model.default_model_run(progress=False)
    finally:
        default_model.DEFAULT_RECIPE = saved


def test_default_model_is_used_without_model(
    tiny_default_model: Path, mias_scan: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "out"
    assert main(["predict", str(mias_scan), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "no --model: using the detector trained on all of mini-MIAS" in captured.err
    summary = json.loads((out / "mdb028.json").read_text())
    assert summary["model_run"] == str(tiny_default_model)
    assert summary["trained_on"].startswith("mini-MIAS")
    # two rounds: the second trained on the first round's false positives (hard negatives)
    assert re.search(
        r"\(\d+ of them hard negatives from a first round's maps\)", summary["trained_on"]
    )
    assert summary["purpose"] == PURPOSE
    # a PGM is read as mini-MIAS (0.2 mm), the detector's own scale from its predict.json
    assert summary["pixel_spacing_mm"] == [0.2, 0.2]
    info = read_predict_info(tiny_default_model)
    assert summary["training_pixel_spacing_mm"] == pytest.approx(info.pixel_spacing_mm, 1e-5)


def _band_rows(image: np.ndarray) -> np.ndarray:
    """Rows of the film's border bands, found from the pixels alone.

    The films carry a bright line along their top and bottom edges (the first and last 1% of
    rows) and a bright strip up to 230 px (11.5 mm) wide along their sides. A band row is a
    top/bottom edge row, or a row more than 7.5 mm (150 px) from every row in which anything
    between the side strips (250 px from either side) is brighter than air (grey level 10;
    the air here is 0-5): above and below the breast and its pectoral muscle.
    """
    from scipy import ndimage

    body = np.percentile(image[:, 250:-250], 99, axis=1) >= 10
    edge = max(1, round(0.01 * image.shape[0]))
    body[:edge] = False
    body[-edge:] = False
    return ~ndimage.binary_dilation(body, iterations=150)


def _label_blobs(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Bright blobs (> 150) of at least 200 px that the tissue mask leaves out (labels)."""
    from scipy import ndimage

    labels, n = ndimage.label(image > 150)
    index = np.arange(1, n + 1)
    sizes = ndimage.sum_labels(np.ones_like(labels), labels, index)
    inside = ndimage.mean(mask, labels, index)
    keep = index[(sizes >= 200) & (inside < 0.5)]
    return np.isin(labels, keep)


@needs_real_views
def test_real_cbis_views_match_their_rows_and_no_region_falls_on_bands_or_labels(
    tiny_default_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from mammo_lib.imaging.breast import breast_mask
    from mammo_lib.sources.cbis_ddsm import match_case_rows

    rows = match_case_rows(REAL_VIEWS)
    assert rows["matched_by"].eq("image_file_path").all()
    assert sorted(rows["case_id"].unique()) == [
        f"Mass-Test_P_00173_{side}_{view}" for side in ("LEFT", "RIGHT") for view in ("CC", "MLO")
    ]
    assert (rows["file_patient_id"] == rows["case_id"]).all()  # the header agrees with the row

    out = tmp_path / "out"
    # a threshold just above 0: every tissue cell the model scores at all is a region cell
    args = ["predict", *map(str, REAL_VIEWS), "--out", str(out), "--threshold", "1e-6"]
    assert main(args) == 0, capsys.readouterr().err
    predictor = Predictor.from_run(tiny_default_model, threshold=1e-6)
    for path in REAL_VIEWS:
        summary = json.loads((out / f"{path.stem}.json").read_text())
        assert summary["pixel_spacing_mm"] == [0.05, 0.05]
        assert "DDSM-digitised film" in summary["pixel_spacing_source"]
        assert summary["modality"] == "MG" and summary["header_pixel_spacing"] is None
        assert 0 <= summary["flagged_tissue_fraction"] <= 1
        scan = read_scan(path)
        bands = _band_rows(scan.image)
        labels = _label_blobs(scan.image, breast_mask(scan.image))
        assert bands[:45].all() or bands[-45:].all()  # the views have bands to test
        assert labels.sum() > 1000  # and view labels ("LCC", "RMLO") off the breast
        prediction = predict_scan(predictor, scan)
        flagged = np.argwhere(prediction.prob_map >= 1e-6)
        assert len(flagged) and summary["n_regions"] >= 1
        r, c = prediction.geometry.cell_centres(flagged[:, 0], flagged[:, 1])
        r = np.clip(r.astype(int), 0, scan.image.shape[0] - 1)
        c = np.clip(c.astype(int), 0, scan.image.shape[1] - 1)
        assert not bands[r].any(), f"{path.name}: a flagged cell on a border band"
        assert not labels[r, c].any(), f"{path.name}: a flagged cell on a label"
        for region in summary["regions"]:
            assert not bands[int(region["peak"]["row"])]


@needs_real_views
def test_mapping_only_the_tissue_box_keeps_the_tissue_cells(run_dir: Path) -> None:
    """``crop_to_tissue`` (what ``mammo predict`` does) on a real CC view, whose breast fills
    half the film: fewer cells computed, the tissue cells' values kept."""
    predictor = Predictor.from_run(run_dir)
    scan = read_scan(REAL_VIEWS[0])
    full = predict_scan(predictor, scan)
    cropped = predict_scan(predictor, scan, crop_to_tissue=True)
    r0, c0, r1, c1 = cropped.info["mapped_window_cells"]
    assert (r1 - r0) * (c1 - c0) < full.prob_map.size
    assert cropped.tissue is not None and cropped.tissue[r0:r1, c0:c1].sum() == cropped.tissue.sum()
    inside = cropped.tissue
    diff = np.abs(full.prob_map[inside] - cropped.prob_map[inside])
    assert diff.max() < 0.02, f"max difference {diff.max():.4f} inside the tissue"
    assert not cropped.prob_map[~inside].any()
