"""Classical ML: tasks from the real UCI files, pipelines fitted per fold, baselines, tables."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import Pipeline

from mammo_lib.sources import uci
from mammo_lib.tabular import classical

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def tasks(mirror: Path) -> dict[str, classical.Task]:
    return {name: classical.uci_task(name, mirror / "uci") for name in classical.TASKS}


def test_tasks_shapes_and_labels(tasks: dict[str, classical.Task], mirror: Path) -> None:
    assert tasks["wdbc"].X.shape == (569, 30) and int(tasks["wdbc"].y.sum()) == 212
    assert tasks["bcw"].X.shape == (699, 9) and int(tasks["bcw"].y.sum()) == 241
    assert tasks["mammographic-mass"].X.shape == (961, 4)
    assert "BI-RADS" not in tasks["mammographic-mass"].X.columns
    wpbc = uci.load_wpbc(mirror / "uci")
    label = uci.wpbc_recurrence_within(wpbc, 24)
    task = tasks["wpbc"]
    assert task.n_excluded == int(label.isna().sum()) > 0
    assert len(task.y) + task.n_excluded == 198
    assert int(task.y.sum()) == int(label.sum())
    for task in tasks.values():
        assert set(np.unique(task.y)) == {0, 1}
        assert all(str(t) == "float64" for t in task.X.dtypes)
    # '?' became NaN, to be imputed inside the pipelines.
    assert int(tasks["bcw"].X["Bare Nuclei"].isna().sum()) == 16


def test_scaler_is_fit_on_training_folds_only(tasks: dict[str, classical.Task]) -> None:
    task = tasks["wdbc"]
    model = classical.make_model("svm_rbf", task, grid_points=1)
    assert isinstance(model, Pipeline)
    out = cross_validate(
        model,
        task.X,
        task.y,
        cv=classical.outer_cv(4, seed=3),
        return_estimator=True,
        return_indices=True,
    )
    for fitted, train, test in zip(
        out["estimator"], out["indices"]["train"], out["indices"]["test"], strict=True
    ):
        scaler = fitted.named_steps["prep"].named_transformers_["num"].named_steps["scale"]
        np.testing.assert_allclose(scaler.mean_, task.X.iloc[train].mean().to_numpy())
        assert not np.allclose(scaler.mean_, task.X.mean().to_numpy())
        assert not np.allclose(scaler.mean_, task.X.iloc[test].mean().to_numpy())


def test_imputer_learns_from_training_rows(tasks: dict[str, classical.Task]) -> None:
    task = tasks["bcw"]
    model = classical.make_model("knn", task, grid_points=1)
    rows = np.arange(0, len(task.y), 2)
    model.fit(task.X.iloc[rows], task.y[rows])
    imputer = model.named_steps["prep"].named_transformers_["num"].named_steps["impute"]
    np.testing.assert_allclose(imputer.statistics_, task.X.iloc[rows].median().to_numpy())


def test_grid_search_is_nested_where_tuned(tasks: dict[str, classical.Task]) -> None:
    task = tasks["bcw"]
    model = classical.make_model("svm_rbf", task, grid_points=2, inner_folds=3)
    assert isinstance(model, GridSearchCV)
    grid = classical.param_grid("svm_rbf", 2)
    assert {k: len(v) for k, v in grid.items()} == {"clf__C": 2, "clf__gamma": 2}
    model.fit(task.X, task.y)
    assert model.best_params_["clf__C"] in grid["clf__C"]
    assert model.cv.get_n_splits() == 3
    # Dummies and untuned models are plain pipelines.
    assert isinstance(classical.make_model("most_frequent", task, grid_points=3), Pipeline)
    assert classical.param_grid("tree", 1) == {"clf__max_depth": [4]}


def test_unscaled_pipeline_has_no_scaler(tasks: dict[str, classical.Task]) -> None:
    model = classical.make_model("svm_rbf_unscaled", tasks["wdbc"])
    assert model.named_steps["prep"].transformers[0][1].named_steps["scale"] == "passthrough"
    assert model.named_steps["clf"].gamma == pytest.approx(1 / 30)


def test_results_baselines_and_scaling_effect(tasks: dict[str, classical.Task]) -> None:
    models = ("most_frequent", "svm_rbf", "svm_rbf_unscaled")
    chosen = [tasks["wdbc"], tasks["mammographic-mass"]]
    folds = 3
    results = classical.cross_validate_models(
        chosen, models, cv_folds=folds, grid_points=1, seed=0, progress=False
    )
    assert results.shape == (len(chosen) * len(models) * folds * len(classical.METRICS), 5)
    assert results["value"].between(0, 1).all()

    summary = classical.summarize(results).set_index(["dataset", "model", "metric"])["mean"]
    for task in chosen:
        # Benign is the majority: the most-frequent baseline never flags a malignancy, and
        # its accuracy is the benign share of each test fold.
        assert summary[(task.name, "most_frequent", "recall")] == 0.0
        assert summary[(task.name, "most_frequent", "frac_pred_negative")] == 1.0
        shares = [
            1 - task.y[test].mean()
            for _, test in classical.outer_cv(folds, 0).split(task.X, task.y)
        ]
        assert summary[(task.name, "most_frequent", "accuracy")] == pytest.approx(np.mean(shares))
        assert summary[(task.name, "most_frequent", "roc_auc")] == 0.5
    # The study's mistake: unscaled RBF SVM on WDBC calls (almost) everything benign.
    assert summary[("wdbc", "svm_rbf_unscaled", "frac_pred_negative")] > 0.95
    assert summary[("wdbc", "svm_rbf_unscaled", "recall")] < 0.1
    assert summary[("wdbc", "svm_rbf", "recall")] > 0.85

    table = classical.summary_table(results, metrics=("accuracy", "recall"))
    assert table.shape == (len(models), len(chosen) * 2)
    assert table.index[0] == classical.MODEL_LABELS["most_frequent"]
    assert all("±" in cell for cell in table.to_numpy().ravel())

    fig = classical.plot_cv_results(results, metrics=("accuracy", "recall"))
    assert len(fig.axes) == 2
    matplotlib.pyplot.close(fig)


def test_seed_makes_results_repeatable(tasks: dict[str, classical.Task]) -> None:
    kwargs = dict(cv_folds=3, grid_points=1, progress=False)
    first = classical.cross_validate_models(
        [tasks["wpbc"]], ("stratified", "tree"), seed=5, **kwargs
    )
    again = classical.cross_validate_models(
        [tasks["wpbc"]], ("stratified", "tree"), seed=5, **kwargs
    )
    other = classical.cross_validate_models(
        [tasks["wpbc"]], ("stratified", "tree"), seed=6, **kwargs
    )
    assert first.equals(again)
    assert not first["value"].equals(other["value"])


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="grid_points"):
        classical.param_grid("knn", 0)
    task = classical.Task("x", None, np.array([0, 1]), ("a",), (), "malignant")  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="unknown model"):
        classical.make_model("svm_poly", task)
