"""Recorded training-throughput runs as tables.

``benchmarks/train_backends.py --json FILE`` writes one run: the machine, the Keras backend
and, per model, image size and precision policy, the measured training images/s. Runs made on
machines CI does not have (a GPU) are kept in ``benchmarks/results/``; these functions read
them for the book. Speed-ups are only ever taken between rows of the same file, i.e. the same
run on the same machine.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

#: Where the repository keeps recorded runs (present in a source checkout).
RESULTS_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "results"

_COLUMNS = [
    "run",
    "device",
    "backend",
    "model",
    "size",
    "policy",
    "batch",
    "images_per_s",
    "tflop_per_s",
    "model_over_matmul",
    "note",
]


def recorded_runs(folder: str | os.PathLike[str] = RESULTS_DIR) -> list[Path]:
    """The ``train_backends*.json`` files in `folder`, sorted (none if it does not exist)."""
    folder = Path(folder)
    return sorted(folder.glob("train_backends*.json")) if folder.is_dir() else []


def load_throughput(paths: Iterable[str | os.PathLike[str]]) -> pd.DataFrame:
    """One row per (run, model, size, policy) of the given ``--json`` files.

    Rows whose measurement was skipped or failed keep ``images_per_s`` empty and say why in
    ``note``.

    Raises
    ------
    ValueError
        A file that is not such a record; the message names it.
    """
    rows = []
    for path in map(Path, paths):
        try:
            data = json.loads(path.read_text())
            results, settings = data["results"], data["settings"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not a train_backends.py --json record ({exc})") from exc
        device = ", ".join(data.get("devices") or []) or "unknown"
        for r in results:
            rate = r.get("fit_images_per_s")
            flops = r.get("model_flops_per_s")
            rows.append(
                {
                    "run": path.stem,
                    "device": device,
                    "backend": f"{settings.get('backend')} (keras {settings.get('keras')})",
                    "model": r["model"],
                    "size": int(r["size"]),
                    "policy": r["policy"],
                    "batch": r.get("batch"),
                    "images_per_s": float(rate) if rate is not None else float("nan"),
                    "tflop_per_s": float(flops) / 1e12 if flops is not None else float("nan"),
                    "model_over_matmul": r.get("model_over_matmul", float("nan")),
                    "note": r.get("error") or r.get("skipped") or "",
                }
            )
    return pd.DataFrame(rows, columns=_COLUMNS)


def precision_speedups(table: pd.DataFrame, reference: str = "float32") -> pd.DataFrame:
    """Images/s of every policy over `reference`, within each run, model and size."""
    measured = table.dropna(subset=["images_per_s"])
    base = measured[measured["policy"] == reference].set_index(["run", "model", "size"])
    out = measured[measured["policy"] != reference].join(
        base["images_per_s"].rename("reference"), on=["run", "model", "size"], how="inner"
    )
    out = out.assign(speedup=out["images_per_s"] / out["reference"])
    return out[["run", "device", "model", "size", "policy", "speedup"]].reset_index(drop=True)
