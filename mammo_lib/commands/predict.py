"""``mammo predict``: probability heatmaps of whole scans with a trained run."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

# bounds of a plausible mammogram pixel spacing, as mammo_lib.scan.scale states them (not
# imported, so that `mammo --help` stays fast)
_MIN_SPACING_MM, _MAX_SPACING_MM = 0.01, 1.0

HELP = "heatmaps, scan probabilities and regions for whole scans (DICOM, DDSM LJPEG, PGM, PNG)"


def _probability(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise argparse.ArgumentTypeError(f"must be a probability in [0, 1], got {text}")
    return value


def _spacing(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and _MIN_SPACING_MM <= value <= _MAX_SPACING_MM):
        raise argparse.ArgumentTypeError(
            f"must be a pixel spacing in mm between {_MIN_SPACING_MM:g} and {_MAX_SPACING_MM:g}, "
            f"got {text}"
        )
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``predict`` subcommand."""
    parser = subparsers.add_parser(
        "predict",
        help=HELP,
        description=(
            "Run a trained tile classifier over whole scans as a fully convolutional network. "
            "For each scan, writes <stem>.heatmap.png (map over the scan), <stem>.map.npy "
            "(the probability map) and <stem>.json (scan probability, threshold, regions "
            "above it with boxes in scan pixels). Unreadable scans are reported on stderr "
            "and the others still processed; the exit code is 1 if any scan failed. Without "
            "--model it uses the default model: the detector trained on all of mini-MIAS, "
            "trained on first use (a few minutes, with a progress bar) and cached by content "
            "under $MAMMO_WORK_DIR/runs (`make book` builds the same one). Research use only, "
            "not for diagnosis."
        ),
    )
    parser.add_argument(
        "scans",
        nargs="+",
        type=Path,
        metavar="SCAN",
        help="DICOM, DDSM LJPEG (with its .ics), PGM or PNG",
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        metavar="RUN",
        help="run folder (best.keras, predict.json); default: the detector trained on all of "
        "mini-MIAS (built once and cached)",
    )
    parser.add_argument(
        "--threshold",
        type=_probability,
        default=None,
        metavar="T",
        help="probability threshold for regions (default: the run's threshold)",
    )
    parser.add_argument(
        "--pixel-spacing",
        type=_spacing,
        default=None,
        metavar="MM",
        help="pixel spacing in mm for scans whose header states none (CBIS-DDSM states none). "
        "Default: a file in the format the model was trained on is taken to be like its "
        "training scans; otherwise a DICOM is taken as DDSM-digitised film, 0.05 mm (DDSM was "
        "digitised at 42-50 microns), a PGM as mini-MIAS, 0.2 mm. The JSON records the "
        "spacing used and where it came from",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="map DICOM files whose Modality is not MG (CT, OT, ...) instead of refusing them",
    )
    parser.add_argument(
        "--score",
        choices=("max", "topk"),
        default="max",
        help="scan-level score: the map's maximum (default) or the mean of its top k cells",
    )
    parser.add_argument(
        "--top-k", type=_positive_int, default=5, help="k for --score topk (default 5)"
    )
    parser.add_argument(
        "--refine",
        type=_positive_int,
        default=None,
        metavar="F",
        help="shift-and-stitch factor: a map step of stride/F (default: the smallest power of "
        "two giving at most a third of a tile)",
    )
    parser.add_argument(
        "--method",
        choices=("fcn", "sliding"),
        default="fcn",
        help="fcn: the fully convolutional network (default); sliding: the tile classifier on "
        "every crop of the same grid, each crop alone as in training (slower)",
    )
    parser.add_argument(
        "--no-tissue-mask",
        dest="tissue_mask",
        action="store_false",
        help="map the whole scan; by default cells outside the breast (air, labels, borders) "
        "are set to 0 before the score and the regions",
    )
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    parser.set_defaults(func=run)


def _unique_stems(paths: list[Path]) -> list[str]:
    """File stems, with ``-2``, ``-3`` ... added where two scans share one (CBIS ``1-1.dcm``)."""
    seen: dict[str, int] = {}
    stems = []
    for path in paths:
        count = seen.get(path.stem, 0) + 1
        seen[path.stem] = count
        stems.append(path.stem if count == 1 else f"{path.stem}-{count}")
    return stems


def run(args: argparse.Namespace) -> int:
    """Predict every scan; return 0, 1 when some scan failed, 2 when the run cannot be used."""
    from mammo_lib.imaging.read import read_scan, sniff
    from mammo_lib.scan.prediction_files import write_prediction
    from mammo_lib.scan.predictor import Predictor, predict_scan
    from mammo_lib.scan.scale import check_scan_header
    from mammo_lib.sources.ddsm import read_view

    model = args.model
    if model is None:
        from mammo_lib.scan.default_model import DESCRIPTION, default_model_run

        print(f"mammo predict: no --model: using {DESCRIPTION}", file=sys.stderr)
        try:
            model = default_model_run()
        except (OSError, ValueError) as exc:
            print(f"mammo predict: error: default model: {exc}", file=sys.stderr)
            return 1
    try:
        predictor = Predictor.from_run(model, threshold=args.threshold, refine=args.refine)
    except (OSError, ValueError) as exc:
        print(f"mammo predict: error: {exc}", file=sys.stderr)
        return 2
    failed = 0
    for path, stem in zip(args.scans, _unique_stems(args.scans), strict=True):
        try:
            header = check_scan_header(path, force=args.force)  # before the pixels are decoded
            scan = read_view(path) if sniff(path) == "ljpeg" else read_scan(path)
            prediction = predict_scan(
                predictor,
                scan,
                pixel_spacing_mm=args.pixel_spacing,
                score=args.score,
                top_k=args.top_k,
                method=args.method,
                use_tissue_mask=args.tissue_mask,
                header=header,
                crop_to_tissue=True,
            )
            files = write_prediction(prediction, args.out, stem)
        except Exception as exc:  # one bad scan must not stop the others; named on stderr
            failed += 1
            message = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
            print(f"mammo predict: error: {message}", file=sys.stderr)
            continue
        for warning in prediction.warnings:
            print(f"mammo predict: warning: {warning}", file=sys.stderr)
        if prediction.score is None:
            verdict = f"no score ({prediction.no_score_reason})"
        else:
            verdict = f"p={prediction.score:.3f}"
        print(
            f"{path}: {verdict}, {len(prediction.regions)} region(s) >= "
            f"{prediction.threshold:g} -> {files['json']}"
        )
    if failed:
        print(f"mammo predict: {failed} of {len(args.scans)} scan(s) failed", file=sys.stderr)
    return 1 if failed else 0
