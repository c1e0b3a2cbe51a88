"""Write CBIS-DDSM-style DICOM files: MG headers, 8- or 16-bit pixels, optionally RLE Lossless.

Headers follow the real collection: SOP Class Secondary Capture Image Storage, Modality MG,
Conversion Type WSD, PatientID = PatientName = the NBIA SubjectID, Study ID "DDSM", no Study
Description, BodyPartExamined BREAST, Laterality, ViewPosition, MONOCHROME2. Full mammograms
and crops are 16-bit (BitsStored 16), ROI masks 8-bit 0/255. Pixel data is Explicit VR Little
Endian, or RLE Lossless (encoded here with PackBits per row and byte plane, as DICOM PS3.5
Annex G prescribes; pydicom decodes it).
"""

from __future__ import annotations

from pathlib import Path

import imagecodecs
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    ExplicitVRLittleEndian,
    RLELossless,
    SecondaryCaptureImageStorage,
    generate_uid,
)

from mammo_lib.io import atomic_path

__all__ = ["CBIS_UID_PREFIX", "make_uid", "rle_encode", "write_dicom"]

#: The UID root of the real collection's UIDs ("1.3.6.1.4.1.9590.100.1.2.<digits>").
CBIS_UID_PREFIX = "1.3.6.1.4.1.9590.100.1.2."


def make_uid(seed: int, *parts: object) -> str:
    """A UID under :data:`CBIS_UID_PREFIX`, deterministic in `seed` and `parts`."""
    return generate_uid(
        prefix=CBIS_UID_PREFIX, entropy_srcs=["mammo-synthetic", str(seed), *map(str, parts)]
    )


def rle_encode(pixels: np.ndarray) -> bytes:
    """Encode a 2-D uint8 or uint16 image as one DICOM RLE Lossless frame.

    Byte planes (most significant first) become segments; each row of a plane is PackBits
    encoded on its own; odd segments are padded to even length.
    """
    if pixels.dtype == np.uint8:
        planes = [pixels]
    elif pixels.dtype == np.uint16:
        planes = [(pixels >> 8).astype(np.uint8), (pixels & 0xFF).astype(np.uint8)]
    else:
        raise TypeError(f"RLE encoding supports uint8 and uint16 images, not {pixels.dtype}")
    segments = []
    for plane in planes:
        data = b"".join(imagecodecs.packbits_encode(row.tobytes()) for row in plane)
        segments.append(data + (b"\x00" if len(data) % 2 else b""))
    offsets = [64]
    for segment in segments[:-1]:
        offsets.append(offsets[-1] + len(segment))
    header = np.zeros(16, dtype="<u4")
    header[0] = len(segments)
    header[1 : 1 + len(offsets)] = offsets
    return header.tobytes() + b"".join(segments)


def write_dicom(
    path: Path,
    pixels: np.ndarray,
    *,
    subject_id: str,
    study_uid: str,
    series_uid: str,
    sop_uid: str,
    series_description: str,
    series_number: int,
    instance_number: int,
    study_date: str,
    side: str,
    view: str,
    rle: bool = False,
) -> None:
    """Write one CBIS-DDSM-style DICOM file atomically (temporary name, then rename).

    Parameters
    ----------
    path
        Destination; parent folders are created.
    pixels
        uint16 (full scan, crop) or uint8 (mask) 2-D array.
    subject_id
        NBIA SubjectID, e.g. ``Mass-Training_P_00001_LEFT_CC_1``.
    study_uid, series_uid, sop_uid
        Instance UIDs.
    series_description
        "full mammogram images", "cropped images" or "ROI mask images".
    series_number, instance_number
        Series and instance numbers.
    study_date
        ``YYYYMMDD``.
    side, view
        "LEFT"/"RIGHT" and "CC"/"MLO".
    rle
        Store the pixels RLE Lossless compressed instead of uncompressed.
    """
    if pixels.ndim != 2 or pixels.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"{path}: expected a 2-D uint8 or uint16 image, got {pixels.dtype}")
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = RLELossless if rle else ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID

    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = study_date
    ds.StudyTime = ""
    ds.AccessionNumber = ""
    ds.Modality = "MG"
    ds.ConversionType = "WSD"
    ds.ReferringPhysicianName = ""
    ds.SeriesDescription = series_description
    ds.PatientName = subject_id
    ds.PatientID = subject_id
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.BodyPartExamined = "BREAST"
    ds.ViewPosition = view
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = "DDSM"
    ds.SeriesNumber = series_number
    ds.InstanceNumber = instance_number
    ds.PatientOrientation = ""
    ds.Laterality = side[0]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = (int(n) for n in pixels.shape)
    bits = 8 * pixels.dtype.itemsize
    ds.BitsAllocated = bits
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    little = np.ascontiguousarray(pixels, dtype=pixels.dtype.newbyteorder("<"))
    if rle:
        ds.PixelData = encapsulate([rle_encode(pixels)])
        ds["PixelData"].VR = "OB"
        ds["PixelData"].is_undefined_length = True
    else:
        ds.PixelData = little.tobytes()
        ds["PixelData"].VR = "OW" if bits == 16 else "OB"

    with atomic_path(path) as tmp:
        ds.save_as(tmp, enforce_file_format=True)
