"""``mammo predict`` end to end: a synthetic DICOM scan, a real MIAS scan, and bad files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from mammo_lib.cli import main
from mammo_lib.imaging.read import read_scan
from mammo_lib.scan.predict import (
    DEFAULT_SOURCE_SPACING_MM,
    Predictor,
    predict_scan,
    training_scale,
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


def write_tiny_run(folder: Path, seed: int = 3) -> Path:
    """Write a run folder as the trainer does, holding a tiny untrained model."""
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


def test_training_scale_default(run_dir: Path) -> None:
    scale = training_scale(run_dir)
    assert scale.mm_per_pixel == pytest.approx(DEFAULT_SOURCE_SPACING_MM * 598 / IMAGE_SIZE)
    assert "assumed" in scale.source


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


def test_training_scale_from_dataset_manifest_and_synthetic_tree(tmp_path: Path) -> None:
    """A run on a small synthetic tree: 299-px crops of 0.1 mm scans resized to 64 px."""
    tree = tmp_path / "tree"
    (tree / "cbis-ddsm").mkdir(parents=True)
    (tree / "ground_truth_scans.csv").write_text("subject_id,pixel_mm\na,0.1\nb,0.1\n")
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    manifest = {"recipe": {"crop_size": 299}, "inputs": {"cbis_root": str(tree / "cbis-ddsm")}}
    (dataset / "manifest.json").write_text(json.dumps(manifest))
    run = tmp_path / "run"
    run.mkdir()
    config = {"dataset_dir": str(dataset), "image_size": 64}
    (run / "config.json").write_text(json.dumps({"config": config}))
    scale = training_scale(run)
    assert scale.source_spacing_mm == pytest.approx(0.1)
    assert scale.mm_per_pixel == pytest.approx(0.1 * 299 / 64)
    assert "crop 299" in scale.source and "pixel_mm 0.1" in scale.source


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
    from mammo_lib.scan.predict import border_margin

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
