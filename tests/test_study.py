"""The book's study run: one object builds the dataset and run of chapters 05-08 and `mammo train`.

The knobs are checked against the configuration the chapters built by hand before
:class:`~mammo_lib.train.study.StudyRun` existed (same fields, same content hash, so earlier
runs are reused); the slow tests build a real recipe on a synthetic tree, train it once and
ask for it again from a second object and from ``mammo train``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_train import _own_work_dir, write_tiny_dataset  # noqa: F401  (autouse: own work dir)

from mammo_lib.cli import main
from mammo_lib.models import model_options
from mammo_lib.train import TrainConfig
from mammo_lib.train.study import DATASET_FIELDS, StudyRun

#: The knobs of the ci profile's study run, at the smallest size that trains.
KNOBS = dict(synthetic_cases=4, image_size=32, epochs=1, model_width=0.25, val_fraction=0.3)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_dataset(tmp_path_factory.mktemp("tiny-dataset"))


def _by_hand(dataset_dir: Path, **changes) -> TrainConfig:
    """The configuration chapters 06-08 wrote out before the study run existed."""
    values = dict(
        dataset_dir=str(dataset_dir),
        model_name="vgg_lite",
        label="label_binary",
        image_size=32,
        epochs=2,
        batch_size=32,
        pos_weight=6.0,
        seed=0,
        model_kwargs={"width": 0.25, "bn_momentum": 0.9},
        mixed_precision=False,
        augment="dihedral",
    )
    return TrainConfig(**{**values, **changes})


def test_train_config_is_the_one_the_chapters_built(dataset: Path) -> None:
    study = StudyRun(dataset_dir=dataset, image_size=32, epochs=2, model_width=0.25)
    config = study.train_config()
    assert config == _by_hand(dataset)
    assert config.run_dir() == _by_hand(dataset).run_dir()  # earlier runs are reused
    changed = study.train_config(pos_weight=1.0, scaling="centred")
    assert changed == _by_hand(dataset, pos_weight=1.0, scaling="centred")
    five = study.for_recipe("9", labels="multiclass")
    assert five.dataset_dir == str(dataset)  # the same recipe keeps its folder
    assert five.train_config().config_hash() == _by_hand(dataset, label="label").config_hash()
    assert five.n_classes == 5 and study.n_classes == 2


def test_train_config_takes_the_label_kind() -> None:
    assert TrainConfig(dataset_dir="d", label="binary") == TrainConfig(dataset_dir="d")
    multiclass = TrainConfig(dataset_dir="d", label="multiclass")
    assert multiclass.label == "label" and multiclass.label_kind == "multiclass"
    assert multiclass.n_classes == 5 and TrainConfig(dataset_dir="d").label_kind == "binary"
    assert multiclass.to_dict()["label"] == "label"  # stored as the column: hashes unchanged
    with pytest.raises(ValueError, match="label must be one of"):
        TrainConfig(dataset_dir="d", label="five")


def test_model_options_come_from_the_registry(dataset: Path) -> None:
    knobs = {"width": 0.5, "bn_momentum": 0.9}
    assert model_options("vgg_lite", **knobs) == knobs
    assert model_options("vgg16", **knobs) == knobs
    assert model_options("vgg16_study", **knobs) == {"width": 0.5}  # no batch-norm option
    assert model_options("inception_v4_lite", **knobs) == {}  # already the half-width net
    assert model_options("vgg_lite", width=None, bn_momentum=0.9) == {"bn_momentum": 0.9}
    with pytest.raises(KeyError, match="unknown model"):
        model_options("alexnet", **knobs)
    study = StudyRun(model_name="vgg16_study", dataset_dir=dataset)
    assert study.model_kwargs == {"width": 0.5}
    # vgg16_study decays its learning rate every 10 epochs (the registry), vgg_lite every 5
    assert study.train_config().decay_epochs == 10
    assert StudyRun(dataset_dir=dataset).train_config().decay_epochs == 5


def test_from_parameters_takes_every_knob_or_names_the_missing() -> None:
    values = {f: getattr(StudyRun(), f) for f in StudyRun.fields()}
    assert StudyRun.from_parameters({**values, "n_boot": 500}) == StudyRun()
    del values["epochs"], values["labels"]
    with pytest.raises(KeyError, match=r"lack \['labels', 'epochs'\]"):
        StudyRun.from_parameters(values)
    dataset_only = StudyRun.from_parameters({**values, "synthetic_cases": 12}, DATASET_FIELDS)
    assert dataset_only == StudyRun(synthetic_cases=12)
    with pytest.raises(ValueError, match="not knobs"):
        StudyRun.from_parameters(values, ("seed", "n_boot"))
    with pytest.raises(ValueError, match="labels must be"):
        StudyRun(labels="five")


def test_another_recipe_needs_the_scans(dataset: Path) -> None:
    synthetic = StudyRun(synthetic_cases=12).for_recipe("9-background")
    assert synthetic.recipe == "9-background" and synthetic.dataset_dir is None
    own = StudyRun(dataset_dir=dataset)
    assert own.dataset() == dataset
    with pytest.raises(ValueError, match="build of recipe 9; set cbis_root"):
        own.for_recipe("9-background")
    with pytest.raises(ValueError, match="no MIAS split"):
        own.dataset(include_mias=True)
    with_scans = StudyRun(dataset_dir=dataset, cbis_root="/my/CBIS-DDSM").for_recipe("6")
    assert with_scans.dataset_dir is None and with_scans.cbis_root == "/my/CBIS-DDSM"


@pytest.mark.slow
def test_one_dataset_and_one_run_for_every_caller(capsys) -> None:
    from mammo_lib.dataset.build import ensure_dataset

    study = StudyRun(**KNOBS)
    folder = study.dataset()
    assert folder == ensure_dataset(
        "9", synthetic_cases=4, seed=0, scan_size="small", include_mias=False,
        val_fraction=0.3, progress=False,
    )  # fmt: skip
    run_dir = study.trained()
    log = run_dir / "log.csv"
    stamp = log.stat().st_mtime_ns
    # a second chapter's object from the same knobs: the same run, not trained again
    again = StudyRun.from_parameters({f: getattr(study, f) for f in StudyRun.fields()})
    assert again.trained() == run_dir and log.stat().st_mtime_ns == stamp
    # `mammo train --recipe` with the same knobs: the same dataset and run folder
    argv = ["train", "--recipe", "9", "--synthetic-cases", "4", "--val-fraction", "0.3",
            "--image-size", "32", "--epochs", "1", "--model-kw", "width=0.25",
            "--model-kw", "bn_momentum=0.9"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"run: {run_dir}\n" in out and log.stat().st_mtime_ns == stamp
    config = json.loads((run_dir / "config.json").read_text())["config"]
    assert config["dataset_dir"] == str(folder) and config["label"] == "label_binary"


def test_same_shards_reads_the_manifests(dataset: Path, tmp_path: Path) -> None:
    import shutil

    import numpy as np

    from mammo_lib.dataset.folder import write_shard_manifest
    from mammo_lib.dataset.review import same_shards
    from mammo_lib.dataset.tfrecord import write_shard

    # the same build with a MIAS split added: its train and val shards are the same bytes
    with_mias = shutil.copytree(dataset, tmp_path / "with-mias")
    (with_mias / "manifest.json").unlink()
    write_shard(with_mias / "mias-00000.tfrecord", [
        {"image": np.zeros((32, 32), np.uint8), "label": 0, "label_binary": 0,
         "patient_id": "mias-001", "source": "mias", "crop_index": 0, "scan_id": "mdb001"}
    ])  # fmt: skip
    write_shard_manifest(with_mias)
    assert same_shards(dataset, with_mias, ("train", "val"))
    other = write_tiny_dataset(tmp_path / "other", seed=1)
    assert not same_shards(dataset, other, ("train", "val"))
    assert not same_shards(dataset, with_mias, ("test",))  # neither has a test shard
