"""Grey levels to 8 bits (bit depth, PGM maxval, DDSM optical density), resize and flips."""

from __future__ import annotations

import numpy as np
import pytest

from mammo_lib.imaging import intensity


def test_to_uint8_scales_by_bit_depth():
    scan = np.array([[0, 4095], [2048, 1]], dtype=np.uint16)
    out = intensity.to_uint8(scan)
    assert out.dtype == np.uint8
    assert out.tolist() == [[0, 255], [round(2048 * 255 / 4095), 0]]
    assert intensity.to_uint8(scan, bits=16).max() == round(4095 * 255 / 65535)
    with pytest.raises(ValueError, match="unsigned"):
        intensity.to_uint8(np.zeros((2, 2), dtype=np.float32))


def test_random_flip_rot_is_a_symmetry_of_the_square():
    tile = np.arange(16, dtype=np.uint8).reshape(4, 4)
    rng = np.random.default_rng(0)
    seen = set()
    symmetries = set()
    for k in range(4):
        r = np.rot90(tile, k)
        symmetries |= {r.tobytes(), r[:, ::-1].tobytes()}
    for _ in range(64):
        out = intensity.random_flip_rot(tile, rng)
        assert out.tobytes() in symmetries
        seen.add(out.tobytes())
    assert len(seen) == 8


@pytest.mark.parametrize(
    ("digitizer", "site"),
    [
        ("DBA 21", "A"),
        ("LUMISYS LASER", "B"),
        ("HOWTEK MULTIRAD850", "A"),
        ("HOWTEK MULTIRAD850", "D"),
    ],
)
def test_ddsm_calibration_matches_the_generators_inverse(digitizer, site):
    from mammo_lib.sources.synthetic.digitizers import grey_to_od

    grey = np.array([[10, 500], [2000, 4000]], dtype=np.uint16)
    np.testing.assert_allclose(
        intensity.ddsm_optical_density(grey, digitizer, site),
        grey_to_od(grey, digitizer, site),
        rtol=1e-5,
    )
    out = intensity.ddsm_to_uint8(grey, digitizer, site)
    assert out.dtype == np.uint8
    # denser film (higher OD) is darker
    od = intensity.ddsm_optical_density(grey, digitizer, site).ravel()
    assert np.all(np.diff(out.ravel()[np.argsort(od)].astype(int)) <= 0)
    with pytest.raises(intensity.UnknownDigitizer, match="unknown-digitizer"):
        intensity.ddsm_to_uint8(grey, "AGFA", site)


def test_ddsm_lookup_table_equals_the_direct_formula():
    grey = np.random.default_rng(0).integers(0, 65536, (50, 40)).astype(np.uint16)
    for digitizer in ("DBA 21", "LUMISYS LASER", "HOWTEK 960"):
        direct = intensity.ddsm_to_uint8(grey.astype(np.float64), digitizer, "D")
        np.testing.assert_array_equal(intensity.ddsm_to_uint8(grey, digitizer, "D"), direct)


def test_maxval_to_uint8():
    grey = np.array([[0, 1023, 512]], dtype=np.uint16)
    assert intensity.maxval_to_uint8(grey, 1023).tolist() == [[0, 255, round(512 * 255 / 1023)]]
    eight = np.array([[0, 200]], dtype=np.uint8)
    assert intensity.maxval_to_uint8(eight, 255).tolist() == [[0, 200]]


def test_resample_scales_each_axis_as_resize_makes_the_tiles():
    image = np.random.default_rng(3).integers(0, 256, (120, 80), dtype=np.uint8)
    assert intensity.resample(image, (1.0, 1.0)) is image  # nothing to do: the same array
    half = intensity.resample(image, (0.5, 0.25))
    assert half.shape == (60, 20) and half.dtype == np.uint8
    square = image[:80, :80]
    np.testing.assert_array_equal(
        intensity.resample(square, (0.4, 0.4)), intensity.resize(square, 32)
    )
    assert intensity.resample(image, (1e-4, 1e-4)).shape == (1, 1)  # never an empty image
