"""Benchmark: reading a full-size synthetic CBIS-DDSM scan, and generating full-size cases.

1. Writes one full-size (about 5300 x 3100, 16-bit) synthetic mammogram as DICOM, then times
   ``mammo_lib.imaging.dicom.read_dicom`` against plain ``pydicom.dcmread(path).pixel_array``
   on the same file, interleaved, several repetitions each; prints wall-clock and CPU-time
   ratios (goal: the library within 1.2x of plain pydicom). On a shared, loaded machine the
   CPU-time ratio is the stable one.
2. Times the generator: seconds per full-size CBIS case (scan + ROI files written) and per
   DDSM normal case (four views).

Run: ``.venv/bin/python benchmarks/read_scans.py [--repeats 7] [--cases 2]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pydicom

from mammo_lib.imaging.dicom import read_dicom
from mammo_lib.sources.synthetic import compose_scan, generate, to_cbis_uint16
from mammo_lib.sources.synthetic.dicom_writer import make_uid, write_dicom


def write_full_scan(path: Path, seed: int = 0) -> tuple[int, int]:
    """Write one full-size synthetic scan to `path`; return its shape."""
    rng = np.random.default_rng(seed)
    scan = compose_scan(rng, (5300, 3100), "MLO", "LEFT", pixel_mm=0.05)
    pixels = to_cbis_uint16(rng, scan.brightness)
    write_dicom(
        path,
        pixels,
        subject_id="Mass-Training_P_00001_LEFT_MLO",
        study_uid=make_uid(seed, "study"),
        series_uid=make_uid(seed, "series"),
        sop_uid=make_uid(seed, "sop"),
        series_description="full mammogram images",
        series_number=1,
        instance_number=1,
        study_date="20160720",
        side="LEFT",
        view="MLO",
    )
    return pixels.shape


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--cases", type=int, default=2, help="full-size CBIS cases to time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "1-1.dcm"
        shape = write_full_scan(path)
        print(f"scan {shape[0]} x {shape[1]} uint16, {path.stat().st_size / 1e6:.1f} MB")
        read_dicom(path), pydicom.dcmread(path).pixel_array  # warm the file cache
        timings: dict[str, list[tuple[float, float]]] = {"lib": [], "plain": []}
        for _ in range(args.repeats):
            for name, read in (
                ("lib", lambda: read_dicom(path)),
                ("plain", lambda: pydicom.dcmread(path).pixel_array),
            ):
                wall, cpu = time.perf_counter(), time.process_time()
                image = read()
                timings[name].append((time.perf_counter() - wall, time.process_time() - cpu))
                del image
        assert np.array_equal(read_dicom(path), pydicom.dcmread(path).pixel_array)
        for k, label in ((0, "wall"), (1, "CPU")):
            lib = [t[k] for t in timings["lib"]]
            plain = [t[k] for t in timings["plain"]]
            ratios = [x / y for x, y in zip(lib, plain, strict=True)]
            print(
                f"{label:4s}: read_dicom median {statistics.median(lib) * 1e3:6.1f} ms "
                f"(best {min(lib) * 1e3:6.1f}); pydicom median "
                f"{statistics.median(plain) * 1e3:6.1f} ms (best {min(plain) * 1e3:6.1f}); "
                f"ratio: median of pairs {statistics.median(ratios):.2f}, "
                f"best/best {min(lib) / min(plain):.2f} (goal <= 1.2)"
            )

        wall, cpu = time.perf_counter(), time.process_time()
        tree = generate(Path(tmp) / "tree", cases=args.cases, seed=0, size="full", normals=0)
        cbis_wall = (time.perf_counter() - wall) / args.cases
        cbis_cpu = (time.process_time() - cpu) / args.cases
        wall, cpu = time.perf_counter(), time.process_time()
        generate(Path(tmp) / "normals", cases=1, seed=1, size="full", normals=1)
        normal_wall = time.perf_counter() - wall - cbis_wall
        normal_cpu = time.process_time() - cpu - cbis_cpu
        print(
            f"generate full size, per CBIS case (scan + ROI files; {len(tree.lesions)} "
            f"abnormalities over {args.cases} scans): {cbis_wall:.1f} s wall, {cbis_cpu:.1f} s CPU"
        )
        print(
            f"generate full size, per DDSM normal case (4 views): {normal_wall:.1f} s wall, "
            f"{normal_cpu:.1f} s CPU"
        )


if __name__ == "__main__":
    main()
