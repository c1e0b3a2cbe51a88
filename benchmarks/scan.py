"""Seconds per full-size scan: fully convolutional map vs sliding window, in one run.

A synthetic CBIS-style scan of about 5300 x 3100 pixels at 0.05 mm (the project's generator)
is resampled to the model's training scale (598-pixel crops -> ``image_size``, i.e.
``0.05 * 598 / image_size`` mm per model pixel) and mapped twice with the same untrained
VGG-lite (1.0.0.35) weights - timing does not depend on the weights - at the study's width
for 299-pixel inputs and the training chapter's half width for its smaller inputs:

- FCN: :func:`mammo_lib.scan.fcn.probability_map` (one pass over the whole scan), timed
  ``--repeats`` times after one warm-up; the resampling is included.
- sliding window: :func:`mammo_lib.scan.sliding.sliding_window_map` at the same stride, the
  tile classifier on every crop in batches; timed ``--sliding-repeats`` times after a
  warm-up batch.

The machine is shared, so the two paths are timed in alternation (both see the same load),
each path's best time is the estimate of its cost (contention only adds time) and the ratio
is taken of the best times; medians are printed beside them.
The ratio cannot exceed about (tile / stride)^2, the windows' overlap that the fully
convolutional pass shares: ~22 for 299-pixel tiles at stride 64, ~4 for 128-pixel tiles.

A last column times what ``mammo predict`` does for one DICOM file end to end (read and
decode, resample, map with the command's default refinement, write the three outputs).

Goals (issue 7): FCN at most 3 s per scan on a 2-core CPU, and at least 10x faster than the
sliding window.

Real view (issue 11). The first table row of its own: ``mammo predict``'s work on one real
CBIS-DDSM full-field view (``$MAMMO_DATA_MIRROR/cbis-ddsm-samples/full/1-130.dcm``, 4432 x
2864, RLE Lossless), end to end - header check, decode, resample, tissue mask, map, write the
three outputs - with the default model's geometry (the MIAS detector: VGG-lite at half width,
96-pixel inputs at 0.2 mm x 116 / 96 = 0.242 mm per pixel; untrained, as timing does not
depend on the weights), once with
the fully convolutional map and once with the sliding window over the same grid, alternated,
best of each. Goal: at most 3 s, and the ratio sliding / FCN. Usage::

    .venv/bin/python benchmarks/scan.py                 # real view, then image sizes 299, quick
    .venv/bin/python benchmarks/scan.py --real-only     # only the real view
    .venv/bin/python benchmarks/scan.py --image-sizes 299 --repeats 5
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

#: The study's crop side on 0.05 mm scans.
CROP = 598
SCAN_MM = 0.05


def quick_image_size(default: int = 128) -> int:
    """Image size of the quick profile's training chapter (``06_training``), else `default`."""
    from mammo_lib.config import load_profile

    try:
        return int(load_profile("quick").get("06_training", {}).get("image_size", default))
    except (FileNotFoundError, ValueError):
        return default


def synthetic_full_scan(seed: int) -> np.ndarray:
    """A full-size synthetic CBIS-style scan: 16-bit stored values, as in the DICOM files."""
    from mammo_lib.sources.synthetic.scan import LesionSpec, render_scan

    rng = np.random.default_rng(seed)
    pixels, _ = render_scan(
        rng, (5300, 3100), "MLO", "LEFT", pixel_mm=SCAN_MM, lesions=[LesionSpec("mass")]
    )
    return pixels


def end_to_end(pixels: np.ndarray, image_size: int, width: float, repeats: int) -> dict:
    """Time ``mammo predict``'s work on one DICOM file: read, resample, map, write outputs.

    The scan is written as an uncompressed DICOM and a run folder with an untrained model of
    the given size; each repeat reads the file and writes the heatmap PNG, map and JSON.
    """
    import tempfile

    import keras

    from mammo_lib.imaging.read import read_scan
    from mammo_lib.scan.prediction_files import write_prediction
    from mammo_lib.scan.predictor import Predictor, predict_scan
    from mammo_lib.sources.synthetic.dicom_writer import write_dicom
    from mammo_lib.train import TrainConfig, build_training_model
    from mammo_lib.train.config import write_json_atomic

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        dicom = folder / "scan.dcm"
        write_dicom(
            dicom,
            pixels,
            subject_id="Mass-Test_P_00001_LEFT_MLO",
            study_uid="1.2.3",
            series_uid="1.2.3.4",
            sop_uid="1.2.3.4.5",
            series_description="full mammogram images",
            series_number=1,
            instance_number=1,
            study_date="20260101",
            side="LEFT",
            view="MLO",
        )
        config = TrainConfig(
            dataset_dir=str(folder / "none"), image_size=image_size, model_kwargs={"width": width}
        )
        keras.utils.set_random_seed(0)
        build_training_model(config).save(folder / "best.keras")
        write_json_atomic(folder / "config.json", {"config": config.to_dict()})
        predictor = Predictor.from_run(folder)
        times = []
        for _ in range(repeats + 1):  # the first is a warm-up
            start = time.perf_counter()
            prediction = predict_scan(predictor, read_scan(dicom))
            write_prediction(prediction, folder / "out")
            times.append(time.perf_counter() - start)
    return {"e2e_s": float(np.min(times[1:])), "refine": predictor.refine}


def _default_geometry_run(folder: Path) -> tuple[Path, str]:
    """An untrained run of the default model's shape and scale (timing needs no weights)."""
    import keras

    from mammo_lib.train import TrainConfig, build_training_model
    from mammo_lib.train.config import write_json_atomic
    from mammo_lib.train.mias_detector import MiasRecipe
    from mammo_lib.train.predict_info import PredictInfo, write_predict_info

    recipe = MiasRecipe()
    size = recipe.tiles.out_size
    config = TrainConfig(
        dataset_dir=str(folder / "none"),
        model_name=recipe.model_name,
        image_size=size,
        model_kwargs={"width": recipe.width, "fc_units": list(recipe.fc_units)},
    )
    keras.utils.set_random_seed(0)
    build_training_model(config).save(folder / "best.keras")
    write_json_atomic(folder / "config.json", {"config": config.to_dict(), "config_hash": "-"})
    info = PredictInfo(
        pixel_spacing_mm=0.2 * recipe.tiles.crop_size / size,
        input_size=size,
        threshold=0.5,
        trained_on="nothing: untrained, the default model's shape and scale",
        labels=("NORMAL", "ABNORMAL"),
    )
    write_predict_info(folder, info)
    return folder, (
        f"untrained, the default model's shape ({recipe.model_name} width {recipe.width}, "
        f"{size}-px inputs, {info.pixel_spacing_mm:.3f} mm/px)"
    )


def real_view(path: Path, repeats: int) -> dict:
    """Time ``mammo predict``'s work on one real view, FCN and sliding window alternated."""
    import tempfile

    from mammo_lib.imaging.read import read_scan
    from mammo_lib.scan.prediction_files import write_prediction
    from mammo_lib.scan.predictor import Predictor, predict_scan
    from mammo_lib.scan.scale import check_scan_header

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        run, which = _default_geometry_run(folder)
        predictor = Predictor.from_run(run)

        def once(method: str) -> tuple[float, object]:
            start, cpu = time.perf_counter(), time.process_time()
            header = check_scan_header(path)
            prediction = predict_scan(
                predictor, read_scan(path), header=header, method=method, crop_to_tissue=True
            )
            write_prediction(prediction, folder / method)
            cpu_seconds[method].append(time.process_time() - cpu)
            return time.perf_counter() - start, prediction

        cpu_seconds: dict[str, list[float]] = {"fcn": [], "sliding": []}
        once("fcn")  # warm-ups
        once("sliding")
        cpu_seconds = {"fcn": [], "sliding": []}
        fcn, sliding = [], []
        for _ in range(repeats):
            seconds, dense = once("fcn")
            fcn.append(seconds)
            seconds, crops = once("sliding")
            sliding.append(seconds)
    return {
        "model": which,
        "scan": f"{dense.scan.image.shape[0]}x{dense.scan.image.shape[1]}",
        "resampled": f"{dense.resampled_shape[0]}x{dense.resampled_shape[1]}",
        "map": f"{dense.prob_map.shape[0]}x{dense.prob_map.shape[1]}",
        "refine": predictor.refine,
        "fcn_s": float(np.min(fcn)),
        "fcn_median_s": float(np.median(fcn)),
        "sliding_s": float(np.min(sliding)),
        "sliding_median_s": float(np.median(sliding)),
        "ratio": float(np.min(sliding)) / float(np.min(fcn)),
        "max_abs_diff": float(np.abs(dense.prob_map - crops.prob_map).max()),
        "fcn_cpu_s": float(np.min(cpu_seconds["fcn"])),
        "sliding_cpu_s": float(np.min(cpu_seconds["sliding"])),
        "window": dense.info.get("mapped_window_cells"),
    }


def bench(
    scan: np.ndarray,
    image_size: int,
    repeats: int,
    sliding_repeats: int,
    batch_size: int,
    width: float = 1.0,
) -> dict[str, float]:
    """Time both paths for one model input size; return seconds and the agreement."""
    import keras

    from mammo_lib.imaging.intensity import resample, to_uint8
    from mammo_lib.models import build_model
    from mammo_lib.scan.fcn import probability_map, to_fully_convolutional
    from mammo_lib.scan.sliding import compare_maps, sliding_window_map

    keras.utils.set_random_seed(0)
    classifier = build_model("vgg_lite", input_size=image_size, n_classes=2, width=width)
    fcn = to_fully_convolutional(classifier)
    factor = image_size / CROP
    scan = to_uint8(scan)

    def fcn_path() -> np.ndarray:
        small = resample(scan, (factor, factor)).astype(np.float32) / 255.0
        return probability_map(fcn, small)

    small = resample(scan, (factor, factor)).astype(np.float32) / 255.0
    fcn_path()  # warm-ups (graph building, memory)
    sliding_window_map(classifier, fcn, small[:image_size, :image_size], batch_size=batch_size)
    times, sliding = [], []
    for i in range(max(repeats, sliding_repeats)):  # interleaved: both see the same load
        if i < repeats:
            start = time.perf_counter()
            dense = fcn_path()
            times.append(time.perf_counter() - start)
        if i < sliding_repeats:
            start = time.perf_counter()
            crops = sliding_window_map(classifier, fcn, small, batch_size=batch_size)
            sliding.append(time.perf_counter() - start)
    agreement = compare_maps(dense, crops)
    return {
        "image_size": image_size,
        "width": width,
        "resampled": f"{small.shape[0]}x{small.shape[1]}",
        "map": f"{dense.shape[0]}x{dense.shape[1]}",
        "stride": fcn.stride,
        "fcn_s": float(np.min(times)),
        "fcn_median_s": float(np.median(times)),
        "sliding_s": float(np.min(sliding)),
        "sliding_median_s": float(np.median(sliding)),
        "ratio": float(np.min(sliding)) / float(np.min(times)),
        "bound": (image_size / fcn.stride) ** 2,
        "max_abs_diff": agreement["max_abs_diff"],
    }


def main() -> None:
    """Run the benchmark and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-sizes", type=int, nargs="+", default=None)
    parser.add_argument(
        "--widths",
        type=float,
        nargs="+",
        default=None,
        help="filter multiplier per image size (default: 0.5, the training chapter's, below "
        "299 and 1.0, the study's, at 299)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed FCN passes")
    parser.add_argument("--sliding-repeats", type=int, default=2, help="timed sliding passes")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--real-view",
        type=Path,
        default=Path(os.environ.get("MAMMO_DATA_MIRROR", "../shared/data"))
        / "cbis-ddsm-samples/full/1-130.dcm",
        help="a real full-field CBIS-DDSM DICOM (default: the mirror's 1-130.dcm)",
    )
    parser.add_argument("--real-only", action="store_true", help="only the real-view timing")
    args = parser.parse_args()
    sizes = args.image_sizes or sorted({quick_image_size(), 299})
    widths = args.widths or [1.0 if size >= 299 else 0.5 for size in sizes]
    if len(widths) != len(sizes):
        parser.error("give one width per image size")

    import tensorflow as tf

    print(
        f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"TensorFlow {tf.__version__}"
    )
    if args.real_view.is_file():
        load_before = " ".join(f"{x:.1f}" for x in os.getloadavg())
        v = real_view(args.real_view, args.repeats)
        print(f"real view {args.real_view} ({v['scan']}), model: {v['model']}")
        print(f"load average (1, 5, 15 min) before: {load_before}")
        print(
            f"{'resampled':>10} {'map':>7} {'refine':>6} {'predict FCN s':>13} {'(median)':>8} "
            f"{'predict sliding s':>17} {'(median)':>8} {'ratio':>6} {'max|diff|':>9}"
        )
        print(
            f"{v['resampled']:>10} {v['map']:>7} {v['refine']:>6} {v['fcn_s']:>13.2f} "
            f"{v['fcn_median_s']:>8.2f} {v['sliding_s']:>17.2f} {v['sliding_median_s']:>8.2f} "
            f"{v['ratio']:>5.1f}x {v['max_abs_diff']:>9.4f}",
            flush=True,
        )
        print(
            f"CPU seconds (all threads, best): FCN {v['fcn_cpu_s']:.2f}, sliding "
            f"{v['sliding_cpu_s']:.2f}; map cells computed {v['window']} (the tissue's box)"
        )
        print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print(
            "predict s: header check, decode, resample, tissue mask, map, write heatmap PNG + "
            ".npy + JSON; best of --repeats; goal <= 3 s"
        )
    else:
        print(f"real view {args.real_view} not found: skipped")
    if args.real_only:
        return

    start = time.perf_counter()
    scan = synthetic_full_scan(args.seed)
    print(
        f"synthetic scan {scan.shape[0]}x{scan.shape[1]} rendered in "
        f"{time.perf_counter() - start:.1f} s"
    )
    header = (
        f"{'image':>5} {'width':>5} {'resampled':>10} {'map':>6} {'stride':>6} "
        f"{'FCN s/scan':>10} {'(median)':>8} {'sliding s/scan':>14} {'(median)':>8} "
        f"{'ratio':>6} {'bound':>6} {'max|diff|':>9} {'predict s':>9}"
    )
    print(header)
    for size, width in zip(sizes, widths, strict=True):
        r = bench(scan, size, args.repeats, args.sliding_repeats, args.batch_size, width)
        e = end_to_end(scan, size, width, args.repeats)
        print(
            f"{r['image_size']:>5} {r['width']:>5.2f} {r['resampled']:>10} {r['map']:>6} "
            f"{r['stride']:>6} {r['fcn_s']:>10.2f} {r['fcn_median_s']:>8.2f} "
            f"{r['sliding_s']:>14.2f} {r['sliding_median_s']:>8.2f} {r['ratio']:>5.1f}x "
            f"{r['bound']:>5.1f}x {r['max_abs_diff']:>9.4f} {e['e2e_s']:>9.2f}",
            flush=True,
        )
    print(
        "predict s: read the DICOM, resample, map (shift-and-stitch factor as mammo predict "
        "chooses), write heatmap PNG + .npy + JSON; best of --repeats"
    )
    print("goals: FCN <= 3 s per scan; sliding / FCN >= 10")


if __name__ == "__main__":
    main()
