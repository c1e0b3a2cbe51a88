"""DICOM reading: LUTs, MONOCHROME1, bit depths, compressed transfer syntaxes, bad files."""

from __future__ import annotations

from pathlib import Path

import imagecodecs
import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    ExplicitVRLittleEndian,
    JPEGLossless,
    RLELossless,
    SecondaryCaptureImageStorage,
    generate_uid,
)

from mammo_lib.imaging.dicom import read_dicom
from mammo_lib.imaging.errors import ImageReadError
from mammo_lib.sources.cbis_ddsm import dicom_kind

SEED = 20181126


def write_dicom(
    path: Path,
    stored: np.ndarray,
    *,
    bits: int,
    photometric: str = "MONOCHROME2",
    syntax: str = ExplicitVRLittleEndian,
    **elements: object,
) -> Path:
    """Write a single-frame greyscale DICOM holding `stored` (the stored pixel values)."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "MG"
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = 8 if bits <= 8 else 16
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    for key, value in elements.items():
        setattr(ds, key, value)
    dtype = np.uint8 if bits <= 8 else np.uint16
    ds.PixelData = stored.astype(dtype).tobytes()
    if syntax == RLELossless:
        ds.compress(RLELossless)  # pydicom's own RLE encoder
    elif syntax == JPEGLossless:
        frame = imagecodecs.ljpeg_encode(stored.astype(dtype), bitspersample=bits)
        ds.PixelData = encapsulate([frame])
        ds["PixelData"].VR = "OB"
        ds.file_meta.TransferSyntaxUID = JPEGLossless
    ds.save_as(path, enforce_file_format=True)
    return path


def _random(shape: tuple[int, int], bits: int, seed: int = SEED) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2**bits, shape).astype(np.uint8 if bits <= 8 else np.uint16)


@pytest.mark.parametrize("bits", [8, 12, 16])
@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, RLELossless, JPEGLossless])
def test_monochrome2_round_trips(tmp_path: Path, bits: int, syntax: str) -> None:
    stored = _random((23, 17), bits)
    path = write_dicom(tmp_path / "a.dcm", stored, bits=bits, syntax=syntax)
    assert pydicom.dcmread(path).file_meta.TransferSyntaxUID == syntax
    image = read_dicom(path)
    assert image.dtype == (np.uint8 if bits <= 8 else np.uint16)
    np.testing.assert_array_equal(image, stored)


@pytest.mark.parametrize("bits", [8, 12, 16])
@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, RLELossless])
def test_monochrome1_is_inverted_so_bright_is_dense(tmp_path: Path, bits: int, syntax: str) -> None:
    stored = _random((19, 11), bits)
    path = write_dicom(
        tmp_path / "a.dcm", stored, bits=bits, photometric="MONOCHROME1", syntax=syntax
    )
    image = read_dicom(path)
    np.testing.assert_array_equal(image.astype(np.int64), (2**bits - 1) - stored.astype(np.int64))


def test_modality_lut_rescale(tmp_path: Path) -> None:
    stored = _random((9, 13), 12)
    path = write_dicom(tmp_path / "a.dcm", stored, bits=12, RescaleSlope=2, RescaleIntercept=-100)
    image = read_dicom(path)
    # range -100 .. 8090 is shifted to start at 0: value = 2 * stored - 100 + 100
    np.testing.assert_array_equal(image.astype(np.int64), 2 * stored.astype(np.int64))
    assert image.dtype == np.uint16


def test_voi_window_is_optional(tmp_path: Path) -> None:
    stored = np.tile(np.arange(0, 4096, 16, dtype=np.uint16), (3, 1))
    path = write_dicom(tmp_path / "a.dcm", stored, bits=12, WindowCenter=1024, WindowWidth=512)
    np.testing.assert_array_equal(read_dicom(path), stored)  # default: full range kept
    windowed = read_dicom(path, apply_voi=True)
    below, above = stored < 1024 - 256, stored >= 1024 + 256
    assert (windowed[below] == 0).all()
    assert (windowed[above] == 4095).all()
    inside = windowed[0][~below[0] & ~above[0]]  # one row: increasing values
    assert (np.diff(inside.astype(int)) >= 0).all() and 0 < inside.mean() < 4095


def test_voi_with_monochrome1(tmp_path: Path) -> None:
    stored = np.array([[0, 4095]], dtype=np.uint16)
    path = write_dicom(
        tmp_path / "a.dcm",
        stored,
        bits=12,
        photometric="MONOCHROME1",
        WindowCenter=2048,
        WindowWidth=4096,
    )
    windowed = read_dicom(path, apply_voi=True)
    assert windowed[0, 0] > windowed[0, 1]  # stored 0 is white in MONOCHROME1


def test_truncated_file_names_the_file(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "whole.dcm", _random((40, 40), 16), bits=16)
    data = path.read_bytes()
    for cut in (len(data) - 100, 300, 60):
        broken = tmp_path / f"cut{cut}.dcm"
        broken.write_bytes(data[:cut])
        with pytest.raises(ImageReadError, match=f"cut{cut}.dcm") as info:
            read_dicom(broken)
        assert info.value.path == str(broken)


def test_corrupt_compressed_data_names_the_file(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "rle.dcm", _random((30, 30), 16), bits=16, syntax=RLELossless)
    ds = pydicom.dcmread(path)
    ds.PixelData = encapsulate([b"\x00" * 8])
    ds.save_as(tmp_path / "bad.dcm")
    with pytest.raises(ImageReadError, match="bad.dcm.*decoded"):
        read_dicom(tmp_path / "bad.dcm")


def test_no_pixel_data_and_not_dicom(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "a.dcm", _random((4, 4), 8), bits=8)
    ds = pydicom.dcmread(path)
    del ds.PixelData
    ds.save_as(tmp_path / "nopix.dcm")
    with pytest.raises(ImageReadError, match="nopix.dcm.*no pixel data"):
        read_dicom(tmp_path / "nopix.dcm")
    (tmp_path / "text.dcm").write_text("not a DICOM file at all")
    with pytest.raises(ImageReadError, match="text.dcm.*not a readable DICOM"):
        read_dicom(tmp_path / "text.dcm")


def test_dicom_kind_by_header_and_content(tmp_path: Path) -> None:
    rng = np.random.default_rng(SEED)
    scan = rng.integers(0, 65536, (60, 40)).astype(np.uint16)
    mask = np.zeros((60, 40), np.uint8)
    mask[10:20, 5:15] = 255
    crop = scan[10:20, 5:15]
    full = write_dicom(
        tmp_path / "1-1.dcm", scan, bits=16, SeriesDescription="full mammogram images"
    )
    # the ROI series carries one description for both of its files: content must decide
    as_mask = write_dicom(tmp_path / "m.dcm", mask, bits=8, SeriesDescription="ROI mask images")
    as_crop = write_dicom(tmp_path / "c.dcm", crop, bits=16, SeriesDescription="ROI mask images")
    assert dicom_kind(full) == "full"
    assert dicom_kind(as_mask) == "mask"
    assert dicom_kind(as_crop) == "crop"
    assert dicom_kind(pydicom.dcmread(as_crop)) == "crop"
    # a 16-bit mask with max 65535 is a mask too; the description does not override content
    mask16 = write_dicom(
        tmp_path / "m16.dcm",
        mask.astype(np.uint16) * 257,
        bits=16,
        SeriesDescription="cropped images",
    )
    assert dicom_kind(mask16) == "mask"
    # without a description, size against the full scan decides
    plain = write_dicom(tmp_path / "plain.dcm", crop, bits=16)
    assert dicom_kind(plain, reference_shape=(60, 40)) == "crop"
    assert dicom_kind(write_dicom(tmp_path / "s.dcm", scan, bits=16), reference_shape=(60, 40)) == (
        "full"
    )
    with pytest.raises(ValueError, match="plain.dcm"):
        dicom_kind(plain)


def test_header_is_read_without_pixels_and_dicom_is_told_apart(tmp_path: Path) -> None:
    from mammo_lib.imaging.dicom import is_dicom, read_dicom_header

    path = write_dicom(tmp_path / "scan.bin", _random((16, 12), 12), bits=12, Modality="CT")
    assert is_dicom(path)  # the DICM marker, whatever the suffix
    header = read_dicom_header(path)
    assert header.Modality == "CT" and (header.Rows, header.Columns) == (16, 12)
    assert "PixelData" not in header
    png = tmp_path / "scan.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    assert not is_dicom(png)
    bare = tmp_path / "bare.dcm"
    bare.write_bytes(b"no preamble here")
    assert is_dicom(bare)  # by its suffix, so that reading it fails loudly, not silently
    with pytest.raises(ImageReadError, match="missing.dcm"):
        is_dicom(tmp_path / "missing.dcm")
