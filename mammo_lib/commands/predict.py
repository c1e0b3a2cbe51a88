"""``mammo predict``: probability heatmaps of whole scans with a trained run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "heatmaps, scan probabilities and regions for whole scans (DICOM, DDSM LJPEG, PGM, PNG)"


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
            "and the others still processed; the exit code is 1 if any scan failed."
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
        "--model", required=True, type=Path, metavar="RUN", help="run folder (best.keras)"
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        metavar="T",
        help="probability threshold for regions (default: the run's threshold)",
    )
    parser.add_argument(
        "--pixel-spacing",
        type=float,
        default=None,
        metavar="MM",
        help="pixel spacing in mm for scans whose header states none (default: that of the "
        "scans the run was trained on; mini-MIAS: 0.2)",
    )
    parser.add_argument(
        "--score",
        choices=("max", "topk"),
        default="max",
        help="scan-level score: the map's maximum (default) or the mean of its top k cells",
    )
    parser.add_argument("--top-k", type=int, default=5, help="k for --score topk (default 5)")
    parser.add_argument(
        "--refine",
        type=int,
        default=None,
        metavar="F",
        help="shift-and-stitch factor: a map step of stride/F (default: the smallest power of "
        "two giving at most a quarter tile)",
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
    from mammo_lib.scan.predict import Predictor, predict_scan, write_prediction
    from mammo_lib.sources.ddsm import read_view

    try:
        predictor = Predictor.from_run(args.model, threshold=args.threshold, refine=args.refine)
    except (OSError, ValueError) as exc:
        print(f"mammo predict: error: {exc}", file=sys.stderr)
        return 2
    failed = 0
    for path, stem in zip(args.scans, _unique_stems(args.scans), strict=True):
        try:
            scan = read_view(path) if sniff(path) == "ljpeg" else read_scan(path)
            prediction = predict_scan(
                predictor,
                scan,
                pixel_spacing_mm=args.pixel_spacing,
                score=args.score,
                top_k=args.top_k,
                method=args.method,
                use_tissue_mask=args.tissue_mask,
            )
            files = write_prediction(prediction, args.out, stem)
        except Exception as exc:  # one bad scan must not stop the others; named on stderr
            failed += 1
            message = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
            print(f"mammo predict: error: {message}", file=sys.stderr)
            continue
        print(
            f"{path}: p={prediction.score:.3f}, {len(prediction.regions)} region(s) >= "
            f"{prediction.threshold:g} -> {files['json']}"
        )
    if failed:
        print(f"mammo predict: {failed} of {len(args.scans)} scan(s) failed", file=sys.stderr)
    return 1 if failed else 0
