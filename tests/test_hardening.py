"""Issue 14: caches that cannot lie, dataset folders checked against their manifest, and one
clear line for every bad input. One test per item; interruptions kill real subprocesses."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mammo_lib.cli import main
from mammo_lib.dataset import build
from mammo_lib.dataset.folder import (
    DatasetFolderError,
    load_records,
    open_dataset,
    write_shard_manifest,
)
from mammo_lib.dataset.plan import DatasetInputs, plan
from mammo_lib.dataset.recipes import get_recipe
from mammo_lib.dataset.tasks import CacheEntryError, load_result, run_task
from mammo_lib.dataset.tfrecord import write_shard
from mammo_lib.imaging.pgm import read_pgm
from mammo_lib.sources.registry import fetch

REPO = Path(__file__).resolve().parent.parent
REFNUMS = ("mdb001", "mdb002", "mdb003")


def _recipe():
    return get_recipe("9", tile_size=48, max_normal_tiles_per_scan=6, records_per_shard=16)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MAMMO_DEBUG"}
    return {**env, "PYTHONPATH": str(REPO), **extra}


@pytest.fixture(scope="module")
def mias_build(tmp_path_factory) -> Path:
    """A finished build on three real MIAS scans."""
    inputs = DatasetInputs(mias_folder=fetch("mias"), mias_refnums=REFNUMS)
    root = tmp_path_factory.mktemp("mias-build")
    return build.build_dataset(
        _recipe(), inputs, seed=1, scheduler="sync", out_root=root, progress=False
    )


def _write_pgm(path: Path, image: np.ndarray) -> None:
    height, width = image.shape
    path.write_bytes(f"P5\n{width} {height}\n255\n".encode() + image.astype(np.uint8).tobytes())


# -- item 3 (MIAS part): UTF-16 Info.txt, images without an Info.txt line, wrong-size scans ----


def test_mias_utf16_info_extra_images_and_small_scans_are_recorded(tmp_path: Path) -> None:
    real = fetch("mias")
    folder = tmp_path / "mias"
    folder.mkdir()
    text = (real / "Info.txt").read_text(encoding="latin-1")
    kept = "\n".join(line for line in text.splitlines() if not line.startswith("mdb004"))
    (folder / "Info.txt").write_text(kept, encoding="utf-16")  # with a byte-order mark
    for refnum in ("mdb001", "mdb002", "mdb004"):
        shutil.copyfile(real / f"{refnum}.pgm", folder / f"{refnum}.pgm")
    small = read_pgm(real / "mdb003.pgm")[::2, ::2]  # a 512 x 512 file posing as mdb003
    _write_pgm(folder / "mdb003.pgm", small)
    inputs = DatasetInputs(mias_folder=folder, mias_refnums=REFNUMS)
    out = build.build_dataset(
        _recipe(), inputs, seed=1, scheduler="sync", out_root=tmp_path / "out", progress=False
    )
    manifest = open_dataset(out).manifest
    skips = {(Path(s["path"]).name, s["reason"]): s["detail"] for s in manifest["skipped"]}
    assert ("mdb004.pgm", "mias-image-not-in-info") in skips
    assert "512x512" in skips[("mdb003.pgm", "wrong-size-scan")]
    assert manifest["skipped_by_reason"]["wrong-size-scan"] == 1
    assert set(load_records(out)["scan_id"]) == {"mdb001", "mdb002"}


# -- item 4 + #13.4: one checked reader per dataset folder ------------------------------------


def test_dataset_folder_must_match_its_manifest(mias_build: Path, tmp_path: Path) -> None:
    data = open_dataset(mias_build, verify_hashes=True)
    shards = data.shards("mias")
    assert [p.name for p in shards] == data.manifest["splits"]["mias"]["shards"]
    assert data.manifest["shard_files"][shards[0].name]["bytes"] == shards[0].stat().st_size
    # the tiles' pixel spacing is recorded: 0.2 mm MIAS pixels, scaled by 2.58, 299 -> 48 px
    assert data.tile_spacing_mm("mias") == pytest.approx(0.2 / 2.58 * 299 / 48, rel=1e-5)
    with pytest.raises(DatasetFolderError, match="no 'train' shards"):
        data.shards("train")

    def copy(name: str) -> Path:
        return Path(shutil.copytree(mias_build, tmp_path / name))

    stale = copy("stale")
    shutil.copyfile(shards[0], stale / "train-00000-of-00001.tfrecord")
    with pytest.raises(DatasetFolderError, match="train-00000-of-00001.tfrecord: shard not listed"):
        open_dataset(stale)
    missing = copy("missing")
    (missing / shards[0].name).unlink()
    with pytest.raises(DatasetFolderError, match=f"{shards[0].name}: listed in manifest.json"):
        open_dataset(missing)
    truncated = copy("truncated")
    (truncated / shards[0].name).write_bytes(shards[0].read_bytes()[:100])
    with pytest.raises(DatasetFolderError, match="100 bytes, manifest.json lists"):
        open_dataset(truncated)
    unfinished = copy("unfinished")
    (unfinished / "manifest.json").unlink()
    with pytest.raises(DatasetFolderError, match="manifest.json: missing; not a finished"):
        open_dataset(unfinished)
    assert not build.is_complete(unfinished)


def test_training_and_evaluation_refuse_folders_that_disagree_with_the_manifest(
    mias_build: Path, tmp_path: Path, capsys
) -> None:
    from mammo_lib.train import TrainConfig, split_files

    folder = Path(shutil.copytree(mias_build, tmp_path / "ds"))
    name = open_dataset(folder).shards("mias")[0].name
    shutil.copyfile(folder / name, folder / "train-99999-of-99999.tfrecord")
    with pytest.raises(DatasetFolderError, match="shard not listed"):
        split_files(folder, "train")
    with pytest.raises(DatasetFolderError, match="shard not listed"):
        TrainConfig(dataset_dir=str(folder)).config_hash()
    assert main(["train", "--dataset", str(folder), "--epochs", "1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "train-99999-of-99999.tfrecord: shard not listed" in err[0]
    assert main(["evaluate", "--shortcut", "--dataset", str(folder), "--split", "mias"]) == 1
    assert "shard not listed" in capsys.readouterr().err


# -- item 5: the build cache cannot execute code; unreadable entries count as missing ---------


class _Planted:
    def __reduce__(self):
        marker = os.environ["MAMMO_TEST_MARKER"]
        return (os.system, (f"touch {marker}",))


def test_planted_pickle_in_the_cache_is_never_executed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pickle

    marker = tmp_path / "pwned"
    monkeypatch.setenv("MAMMO_TEST_MARKER", str(marker))
    recipe = _recipe()
    inputs = DatasetInputs(mias_folder=fetch("mias"), mias_refnums=("mdb001",))
    the_plan = plan(recipe, inputs, 1)
    task = the_plan.tasks[0]
    cache = tmp_path / "scans"
    cache.mkdir()
    entry = cache / task.cache_name()
    entry.write_bytes(pickle.dumps(_Planted()))
    (cache / entry.name.replace(".npz", ".pkl")).write_bytes(pickle.dumps(_Planted()))
    with pytest.raises(CacheEntryError, match=entry.name):
        load_result(entry)
    summary = run_task(task, recipe, 1, cache)
    assert summary["cached"] is False and summary["records"] > 0  # redone, not unpickled
    assert not marker.exists()
    good = load_result(entry, key=task.key)
    assert len(good["records"]) == summary["records"]
    # a truncated entry is redone too, and the redone result is the same
    entry.write_bytes(entry.read_bytes()[:300])
    assert run_task(task, recipe, 1, cache)["cached"] is False
    again = load_result(entry, key=task.key)
    assert [r["image"] for r in again["records"]] == [r["image"] for r in good["records"]]
    with pytest.raises(CacheEntryError, match="expected 'mias/other'"):
        load_result(entry, key="mias/other")
    assert not marker.exists()


# -- item 10: leftovers of killed builds, file permissions ------------------------------------

_SLOW_BUILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from mammo_lib.dataset import build, tfrecord
    from mammo_lib.dataset.plan import DatasetInputs
    from mammo_lib.dataset.recipes import get_recipe
    from mammo_lib.sources.registry import fetch

    real = tfrecord.serialize_example
    def slow(record):
        time.sleep(0.5)
        return real(record)
    tfrecord.serialize_example = slow
    recipe = get_recipe("9", tile_size=48, max_normal_tiles_per_scan=6, records_per_shard=16)
    refnums = ("mdb001", "mdb002", "mdb003")
    inputs = DatasetInputs(mias_folder=fetch("mias"), mias_refnums=refnums)
    build.build_dataset(recipe, inputs, seed=1, scheduler="sync", out_root=Path(sys.argv[1]),
                        progress=False)
    """
)


def test_killed_build_leaves_no_usable_folder_and_its_partial_is_cleaned(
    mias_build: Path, tmp_path: Path, capsys
) -> None:
    root = tmp_path / "root"
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_BUILD, str(root)], env=_env())
    try:
        deadline = time.monotonic() + 300
        partials: list[Path] = []
        while not partials and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            partials = list(root.glob("*/.partial-*"))
        assert partials, "the build never reached its shard-writing step"
        time.sleep(1.0)
        proc.send_signal(signal.SIGKILL)  # killed mid-shard, before its manifest
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    folder = partials[0].parent
    assert partials[0].name == f".partial-{proc.pid}" and partials[0].is_dir()
    assert not (folder / "manifest.json").exists()
    # the unfinished folder is refused by training, with one line naming the manifest
    assert main(["train", "--dataset", str(folder), "--epochs", "1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "manifest.json: missing; not a finished dataset build" in err[0]
    # the next build removes the dead process's folder and writes the same files as a clean one
    out = build.build_dataset(
        _recipe(),
        DatasetInputs(mias_folder=fetch("mias"), mias_refnums=REFNUMS),
        seed=1,
        scheduler="sync",
        out_root=root,
        progress=False,
    )
    assert out == folder and not list(folder.glob(".partial-*"))
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(p.name for p in mias_build.iterdir())
    for name in names:
        assert (out / name).read_bytes() == (mias_build / name).read_bytes(), name
    # manifest and records are as readable as the shards (not owner-only)
    modes = {p.name: p.stat().st_mode & 0o777 for p in out.iterdir()}
    assert len(set(modes.values())) == 1, modes
    umask = os.umask(0)
    os.umask(umask)
    assert modes["manifest.json"] == 0o666 & ~umask


# -- item 10: a kill between last.keras and state.json; a corrupt best.keras ---------------

_KILL_AFTER_CHECKPOINT = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, sys.argv[2])
    from mammo_lib.train import callbacks
    from test_train import tiny_config
    real = callbacks.write_json_atomic
    def write(path, value):
        if path.name == "state.json" and value.get("epochs_done") == 2:
            os.kill(os.getpid(), signal.SIGKILL)  # last.keras of epoch 2 is saved, state not
        real(path, value)
    callbacks.write_json_atomic = write
    from mammo_lib.train import train
    train(tiny_config(sys.argv[1], epochs=3, name="killed"))
    """
)


@pytest.mark.slow
def test_kill_between_checkpoint_and_state_does_not_repeat_an_epoch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keras
    from test_train import tiny_config, write_tiny_dataset

    from mammo_lib.train import train

    monkeypatch.setenv("MAMMO_WORK_DIR", str(tmp_path / "work"))
    dataset = write_tiny_dataset(tmp_path / "ds")
    proc = subprocess.run(
        [sys.executable, "-c", _KILL_AFTER_CHECKPOINT, str(dataset), str(REPO / "tests")],
        env=_env(MAMMO_WORK_DIR=str(tmp_path / "work")),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    config = tiny_config(dataset, epochs=3, name="killed")
    run_dir = config.run_dir()
    assert json.loads((run_dir / "state.json").read_text())["epochs_done"] == 1

    class Epochs(keras.callbacks.Callback):
        seen: list[int] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.seen.append(epoch)

    result = train(config, callbacks=[Epochs()])
    assert Epochs.seen == [2]  # only the third epoch; epoch 2 was in last.keras already
    assert result.epochs_done == 3 and list(result.history["epoch"]) == [0, 1, 2]


def test_corrupt_checkpoint_is_reported_as_corrupt(tmp_path: Path, capsys) -> None:
    from mammo_lib.train import CorruptCheckpointError, load_model

    (tmp_path / "best.keras").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(CorruptCheckpointError, match="best.keras: corrupt checkpoint"):
        load_model(tmp_path / "best.keras")
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        load_model(tmp_path / "last.keras")
    dataset = _tiny_folder(tmp_path / "ds", {"test": 3})
    assert main(["evaluate", "--run", str(tmp_path), "--dataset", str(dataset)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "best.keras: corrupt checkpoint" in err[0]
    assert "File not found" not in err[0]


# -- items 8 and 9: every subcommand, bad arguments -> one line, no traceback, exit code ------


def _record(i: int, label: int = 0) -> dict:
    return {
        "image": np.full((16, 16), 40 + i, np.uint8),
        "label": label,
        "label_binary": int(label > 0),
        "patient_id": f"P{i}",
        "abnormality_id": "",
        "source": "ddsm",
        "crop_index": 0,
        "scan_id": f"S{i}",
    }


def _tiny_folder(folder: Path, sizes: dict[str, int]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in sizes.items():
        write_shard(folder / f"{split}-00000.tfrecord", [_record(i, i % 2) for i in range(n)])
    write_shard_manifest(folder)
    return folder


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bad-inputs")
    good = pd.DataFrame(
        {"patient_id": ["a", "b", "c"], "label_binary": [0, 1, 1], "probability": [0.2, 0.9, 0.4]}
    )
    paths = {"root": root, "file": root / "a-file.txt"}
    paths["file"].write_text("not a folder")
    for name, table in {
        "good": good,
        "nocol": good.drop(columns=["label_binary"]),
        "above1": good.assign(probability=[0.2, 1.7, 0.4]),
    }.items():
        paths[name] = root / f"{name}.csv"
        table.to_csv(paths[name], index=False)
    paths["empty"] = root / "empty.csv"
    paths["empty"].write_text("")
    paths["noshards"] = root / "noshards"
    paths["noshards"].mkdir()
    paths["emptytrain"] = _tiny_folder(root / "emptytrain", {"train": 0, "val": 4})
    corrupt = _tiny_folder(root / "corrupt", {"train": 6, "test": 6})
    shard = corrupt / "train-00000.tfrecord"
    data = bytearray(shard.read_bytes())
    data[40:80] = bytes(40)  # same size, so only reading it finds the damage
    shard.write_bytes(bytes(data))
    paths["corrupt"] = corrupt
    unsafe = root / "mirror" / "mias"
    unsafe.mkdir(parents=True)
    import tarfile

    with tarfile.open(unsafe / "all-mias.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("../escape.pgm")
        tar.addfile(info)
    paths["mirror"] = root / "mirror"
    return paths


USAGE = 2
FAILED = 1
CASES = [
    # argparse types and ranges (item 9): exit 2
    ("fetch", [], USAGE, "give data set names"),
    ("fetch", ["no-such-set"], USAGE, "unknown data set"),
    ("synth", ["--out", "{root}/s", "--cases", "0"], USAGE, "--cases: 0 is outside"),
    ("synth", ["--out", "{root}/s", "--cases", "2", "--difficulty", "nan"], USAGE, "finite"),
    ("synth", ["--out", "{root}/s", "--cases", "2", "--difficulty", "1.5"], USAGE, "outside"),
    ("synth", ["--out", "{file}", "--cases", "1"], USAGE, "is not a folder"),
    ("build-dataset", ["--recipe", "9", "--mias-images", "0"], USAGE, "--mias-images: 0"),
    ("build-dataset", ["--recipe", "nope"], USAGE, "invalid choice"),
    ("build-dataset", ["--recipe", "9", "--normal-fraction", "1"], USAGE, "outside (0.0, 1.0)"),
    (
        "build-dataset",
        ["--recipe", "9", "--cbis-root", "{root}/none", "--no-mias"],
        USAGE,
        "no such folder",
    ),
    (
        "build-dataset",
        ["--recipe", "9", "--synthetic-cases", "2", "--cbis-root", "{root}"],
        USAGE,
        "not both",
    ),
    ("train", ["--dataset", "{root}", "--name", "../.."], USAGE, "not a plain folder name"),
    ("train", ["--dataset", "{root}", "--epochs", "0"], USAGE, "--epochs: 0 is outside"),
    ("train", ["--dataset", "{root}", "--learning-rate", "-1"], USAGE, "--learning-rate"),
    ("train", ["--dataset", "{root}", "--batch-size", "x"], USAGE, "expected an integer"),
    ("evaluate", ["--predictions", "{good}", "--threshold", "2"], USAGE, "--threshold: 2"),
    ("evaluate", ["--predictions", "{good}", "--n-boot", "0"], USAGE, "--n-boot: 0"),
    ("evaluate", ["--predictions", "{root}/none.csv"], USAGE, "no such file"),
    ("evaluate", ["--run", "{root}"], USAGE, "--run needs --dataset"),
    ("evaluate", ["--shortcut", "--folds", "1", "--dataset", "{root}"], USAGE, "--folds: 1"),
    ("predict", [], USAGE, "required"),
    ("predict", ["scan.dcm", "--model"], USAGE, "expected one argument"),
    ("book", ["--profile", "nope"], USAGE, "invalid choice"),
    # failed work on bad files (item 8): exit 1, the file named
    ("evaluate", ["--predictions", "{empty}"], FAILED, "empty.csv: empty file"),
    ("evaluate", ["--predictions", "{nocol}"], FAILED, "nocol.csv: lacks column(s) label_binary"),
    ("evaluate", ["--predictions", "{above1}"], FAILED, "above1.csv: line 3: probability"),
    (
        "evaluate",
        ["--shortcut", "--dataset", "{corrupt}", "--split", "train"],
        FAILED,
        "train-00000.tfrecord: corrupted TFRecord shard",
    ),
    ("evaluate", ["--shortcut", "--dataset", "{noshards}"], FAILED, "manifest.json: missing"),
    ("train", ["--dataset", "{emptytrain}", "--epochs", "1"], FAILED, "hold no records"),
    ("train", ["--dataset", "{noshards}", "--epochs", "1"], FAILED, "manifest.json: missing"),
    ("fetch", ["mias"], FAILED, "escape.pgm"),
]


@pytest.mark.parametrize(("command", "arguments", "code", "message"), CASES)
def test_bad_arguments_give_one_line_and_the_exit_code(
    command: str,
    arguments: list[str],
    code: int,
    message: str,
    bad_inputs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys,
) -> None:
    monkeypatch.setenv("MAMMO_DATA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MAMMO_DATA_MIRROR", str(bad_inputs["mirror"]))
    argv = [command] + [a.format(**{k: str(v) for k, v in bad_inputs.items()}) for a in arguments]
    try:
        rc = main(argv)
    except SystemExit as exit_:  # argparse's usage errors
        rc = exit_.code
    err = capsys.readouterr().err
    assert rc == code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert message in lines[0] and lines[0].startswith(f"mammo {command}")
    assert "Traceback" not in err


def test_debug_shows_the_traceback_in_a_real_process(bad_inputs: dict[str, Path]) -> None:
    command = [sys.executable, "-m", "mammo_lib.cli", "evaluate", "--predictions"]
    plain = subprocess.run(
        [*command, str(bad_inputs["empty"])], env=_env(), capture_output=True, text=True
    )
    assert plain.returncode == 1
    assert plain.stderr.strip().splitlines() == [
        f"mammo evaluate: {bad_inputs['empty']}: empty file, not a predictions CSV (no header)"
    ]
    for extra, env in (([], _env(MAMMO_DEBUG="1")), (["--debug"], _env())):
        shown = subprocess.run(
            [*command, str(bad_inputs["empty"]), *extra], env=env, capture_output=True, text=True
        )
        assert shown.returncode == 1 and "Traceback" in shown.stderr
        assert "ValueError" in shown.stderr
