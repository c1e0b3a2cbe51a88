"""Classical machine learning on the UCI tables: tasks, pipelines and nested cross-validation.

Every model is a scikit-learn :class:`~sklearn.pipeline.Pipeline` whose preprocessing
(median / most-frequent imputation, standard scaling, one-hot encoding of nominal codes) is
fitted inside each training fold, so nothing about a test fold leaks into the model. Where the
study tuned a hyperparameter, the pipeline is wrapped in a :class:`GridSearchCV` whose own
(inner) folds split only the outer training fold: nested cross-validation.

Typical use::

    tasks = [uci_task(name) for name in TASKS]
    results = cross_validate_models(tasks, MODELS, cv_folds=5, grid_points=3, seed=0)
    summary_table(results)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.metrics import make_scorer, precision_score, recall_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from mammo_lib.sources import uci

__all__ = [
    "GRIDS",
    "METRICS",
    "MODELS",
    "MODEL_LABELS",
    "TASKS",
    "Task",
    "cross_validate_models",
    "make_model",
    "make_preprocessor",
    "outer_cv",
    "param_grid",
    "plot_cv_results",
    "scorers",
    "summarize",
    "summary_table",
    "uci_task",
]

#: The UCI classification tasks, in the order the book shows them.
TASKS: tuple[str, ...] = ("wdbc", "wpbc", "bcw", "mammographic-mass")

#: Model names: two dummy baselines, the study's five learners (all scaled), and the study's
#: unscaled RBF SVM and MLP (scikit-learn 0.19 defaults) that show what forgetting to scale does.
MODELS: tuple[str, ...] = (
    "most_frequent",
    "stratified",
    "svm_rbf",
    "svm_linear",
    "knn",
    "tree",
    "mlp",
    "svm_rbf_unscaled",
    "mlp_unscaled",
)

MODEL_LABELS: dict[str, str] = {
    "most_frequent": "dummy: most frequent",
    "stratified": "dummy: stratified",
    "svm_rbf": "SVM (RBF)",
    "svm_linear": "SVM (linear)",
    "knn": "k nearest neighbours",
    "tree": "decision tree",
    "mlp": "MLP",
    "svm_rbf_unscaled": "SVM (RBF), unscaled",
    "mlp_unscaled": "MLP, unscaled",
}

#: Candidate hyperparameter values, ordered; :func:`param_grid` picks `grid_points` of them
#: spread evenly (one point: the middle value).
GRIDS: dict[str, dict[str, tuple[Any, ...]]] = {
    "svm_rbf": {"C": (0.01, 0.1, 1.0, 10.0, 100.0), "gamma": (0.001, 0.01, 0.1, 1.0)},
    "svm_linear": {"C": (0.001, 0.01, 0.1, 1.0, 10.0)},
    "knn": {"n_neighbors": (1, 3, 5, 9, 15, 25, 41)},
    "tree": {"max_depth": (1, 2, 3, 4, 6, 8, 12)},
    "mlp": {"alpha": (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)},
}

#: Metrics reported per fold (names of :func:`scorers`).
METRICS: tuple[str, ...] = (
    "accuracy",
    "recall",
    "specificity",
    "precision",
    "roc_auc",
    "frac_pred_negative",
)


@dataclass(frozen=True)
class Task:
    """A binary classification problem built from one UCI table.

    Attributes
    ----------
    name
        Data set name (``wdbc``, ``wpbc``, ``bcw``, ``mammographic-mass``).
    X
        Predictors, float64 with NaN for missing values.
    y
        Labels, int 0/1 (1 = the positive class).
    numeric, nominal
        Columns of `X` that are scaled, and columns that are one-hot encoded.
    positive
        What label 1 means.
    n_excluded
        Rows of the table left out of the task (e.g. censored WPBC cases).
    """

    name: str
    X: pd.DataFrame
    y: np.ndarray
    numeric: tuple[str, ...]
    nominal: tuple[str, ...]
    positive: str
    n_excluded: int = 0


def _floats(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    return frame.loc[:, list(columns)].astype("float64").reset_index(drop=True)


def uci_task(name: str, folder: Path | None = None, wpbc_months: int = 24) -> Task:
    """Build the classification task for one UCI table.

    Parameters
    ----------
    name
        One of :data:`TASKS`.
    folder
        Folder with the table's files; None fetches it through the registry.
    wpbc_months
        WPBC horizon: label 1 = recurrence within this many months; censored cases (no
        recurrence, followed up for less than the horizon) are excluded
        (:func:`mammo_lib.sources.uci.wpbc_recurrence_within`).

    Returns
    -------
    Task
    """
    frame = uci.load_uci(name, folder)
    if name == "wdbc":
        return Task(
            name,
            _floats(frame, uci.WDBC_FEATURES),
            frame["malignant"].to_numpy(dtype=int),
            uci.WDBC_FEATURES,
            (),
            "malignant",
        )
    if name == "wpbc":
        label = uci.wpbc_recurrence_within(frame, wpbc_months)
        keep = label.notna().to_numpy()
        return Task(
            name,
            _floats(frame.loc[keep], uci.WPBC_FEATURES),
            label[keep].to_numpy(dtype=int),
            uci.WPBC_FEATURES,
            (),
            f"recurrence within {wpbc_months} months",
            n_excluded=int((~keep).sum()),
        )
    if name == "bcw":
        return Task(
            name,
            _floats(frame, uci.BCW_FEATURES),
            frame["malignant"].to_numpy(dtype=int),
            uci.BCW_FEATURES,
            (),
            "malignant",
        )
    # Mammographic Mass: age and the ordinal density are scaled, shape and margin are nominal.
    return Task(
        name,
        _floats(frame, uci.MAMMO_FEATURES),
        frame["malignant"].to_numpy(dtype=int),
        ("Age", "Density"),
        ("Shape", "Margin"),
        "malignant",
    )


def make_preprocessor(
    numeric: tuple[str, ...], nominal: tuple[str, ...] = (), scale: bool = True
) -> ColumnTransformer:
    """Imputation, scaling and one-hot encoding, fitted on whatever data the pipeline sees.

    Numeric columns: median imputation, then standard scaling (unless `scale` is False).
    Nominal columns: most-frequent imputation, then one-hot encoding.
    """
    numeric_steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median"))]
    numeric_steps.append(("scale", StandardScaler() if scale else "passthrough"))
    transformers: list[tuple[str, Any, list[str]]] = [
        ("num", Pipeline(numeric_steps), list(numeric))
    ]
    if nominal:
        nominal_pipe = Pipeline(
            [
                ("impute", SimpleImputer(strategy="most_frequent")),
                ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
            ]
        )
        transformers.append(("nom", nominal_pipe, list(nominal)))
    return ColumnTransformer(transformers, remainder="drop")


def _spread(values: tuple[Any, ...], n: int) -> list[Any]:
    if n < 1:
        raise ValueError(f"grid_points must be at least 1, got {n}")
    if n >= len(values):
        return list(values)
    if n == 1:
        return [values[len(values) // 2]]
    return [values[i] for i in np.unique(np.linspace(0, len(values) - 1, n).round().astype(int))]


def param_grid(model: str, grid_points: int) -> dict[str, list[Any]]:
    """Return the grid searched for `model` (keys prefixed ``clf__``); empty if not tuned."""
    return {f"clf__{k}": _spread(v, grid_points) for k, v in GRIDS.get(model, {}).items()}


def _classifier(model: str, n_features: int, seed: int, mlp_max_iter: int) -> BaseEstimator:
    if model == "most_frequent":
        return DummyClassifier(strategy="most_frequent")
    if model == "stratified":
        return DummyClassifier(strategy="stratified", random_state=seed)
    if model == "svm_rbf":
        return SVC(kernel="rbf")
    if model == "svm_linear":
        return SVC(kernel="linear")
    if model == "knn":
        return KNeighborsClassifier()
    if model == "tree":
        return DecisionTreeClassifier(random_state=seed)
    if model == "mlp":
        return MLPClassifier(hidden_layer_sizes=(32,), max_iter=mlp_max_iter, random_state=seed)
    if model == "svm_rbf_unscaled":
        # scikit-learn 0.19's defaults, as the study ran them: C=1, gamma="auto" (1 / n_features).
        return SVC(kernel="rbf", C=1.0, gamma=1.0 / n_features)
    if model == "mlp_unscaled":
        # scikit-learn 0.19's MLPClassifier defaults: 100 hidden units, alpha 1e-4, 200 epochs.
        return MLPClassifier(random_state=seed)
    raise KeyError(f"unknown model {model!r}; known: {', '.join(MODELS)}")


def make_model(
    model: str,
    task: Task,
    *,
    grid_points: int = 3,
    inner_folds: int = 3,
    seed: int = 0,
    mlp_max_iter: int = 500,
    n_jobs: int = 1,
    inner_scoring: str = "balanced_accuracy",
) -> BaseEstimator:
    """Build one model for `task`: a preprocessing + classifier pipeline, nested in a grid search.

    Parameters
    ----------
    model
        One of :data:`MODELS`; names ending in ``_unscaled`` skip the scaler.
    task
        The task whose columns the preprocessing addresses.
    grid_points
        Values per tuned hyperparameter (see :data:`GRIDS`); with one point per hyperparameter
        the pipeline is returned with that value set and no inner search.
    inner_folds
        Stratified folds of the inner grid search.
    seed
        Seeds the classifiers and the inner folds.
    mlp_max_iter
        Epochs for the (scaled) MLP.
    n_jobs
        Parallel jobs of the grid search.
    inner_scoring
        What the grid search maximises. The study used accuracy; balanced accuracy is used
        here because it judges the hard predictions that the reported metrics judge, without
        rewarding an all-negative model on the imbalanced WPBC task.

    Returns
    -------
    sklearn estimator
        A :class:`Pipeline` with steps ``prep`` and ``clf``, or a :class:`GridSearchCV` over it.
    """
    if model not in MODELS:
        raise KeyError(f"unknown model {model!r}; known: {', '.join(MODELS)}")
    scale = not model.endswith("_unscaled")
    pipe = Pipeline(
        [
            ("prep", make_preprocessor(task.numeric, task.nominal, scale=scale)),
            ("clf", _classifier(model, task.X.shape[1], seed, mlp_max_iter)),
        ]
    )
    grid = param_grid(model, grid_points)
    if all(len(values) == 1 for values in grid.values()):
        return pipe.set_params(**{k: v[0] for k, v in grid.items()})
    inner = StratifiedKFold(n_splits=inner_folds, shuffle=True, random_state=seed)
    return GridSearchCV(pipe, grid, scoring=inner_scoring, cv=inner, n_jobs=n_jobs)


def outer_cv(cv_folds: int, seed: int) -> StratifiedKFold:
    """The outer, stratified and shuffled folds used for every model and data set."""
    return StratifiedKFold(n_splits=cv_folds, shuffle=True, random_state=seed)


def _frac_negative(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(np.asarray(y_pred) == 0))


def scorers() -> dict[str, Any]:
    """Scorers for :data:`METRICS`; recall is sensitivity, label 1 positive."""
    return {
        "accuracy": "accuracy",
        "recall": make_scorer(recall_score, zero_division=0),
        "specificity": make_scorer(recall_score, pos_label=0, zero_division=0),
        "precision": make_scorer(precision_score, zero_division=0),
        "roc_auc": "roc_auc",
        "frac_pred_negative": make_scorer(_frac_negative),
    }


def cross_validate_models(
    tasks: list[Task],
    models: tuple[str, ...] | list[str] = MODELS,
    *,
    cv_folds: int = 5,
    inner_folds: int = 3,
    grid_points: int = 3,
    seed: int = 0,
    mlp_max_iter: int = 500,
    n_jobs: int = 1,
    progress: bool = True,
    blas_threads: int | None = 1,
) -> pd.DataFrame:
    """Cross-validate every model on every task with the same outer folds.

    Parameters
    ----------
    tasks, models
        What to fit: every model in `models` on every task.
    cv_folds, inner_folds, grid_points, seed, mlp_max_iter, n_jobs
        See :func:`make_model` and :func:`outer_cv`.
    progress
        Show a tqdm bar over (task, model) pairs.
    blas_threads
        Threads that BLAS / OpenMP may use during the fits (None: leave as is). The matrices
        here are tiny, so one thread per fit is enough, and more threads oversubscribe the
        cores of a busy machine.

    Returns
    -------
    pandas.DataFrame
        Long format: ``dataset``, ``model``, ``fold``, ``metric``, ``value``; one row per fold
        and metric. ``attrs["convergence_warnings"]`` counts MLP fits that stopped at their
        iteration limit (the warnings are collected, not shown).
    """
    rows: list[pd.DataFrame] = []
    n_convergence = 0
    pairs = [(task, model) for task in tasks for model in models]
    # progress=False turns the bar off; otherwise tqdm's defaults decide (TQDM_DISABLE=1, as
    # `mammo book` sets for its kernels, keeps it out of the pages).
    bar = {} if progress else {"disable": True}
    for task, model in tqdm(pairs, desc="cross-validation", **bar):
        estimator = make_model(
            model,
            task,
            grid_points=grid_points,
            inner_folds=inner_folds,
            seed=seed,
            mlp_max_iter=mlp_max_iter,
            n_jobs=n_jobs,
        )
        with (
            warnings.catch_warnings(record=True) as caught,
            threadpool_limits(blas_threads),
        ):
            warnings.simplefilter("always", ConvergenceWarning)
            scores = cross_validate(
                estimator,
                task.X,
                task.y,
                cv=outer_cv(cv_folds, seed),
                scoring=scorers(),
                error_score="raise",
            )
        n_convergence += sum(issubclass(w.category, ConvergenceWarning) for w in caught)
        for w in caught:
            if not issubclass(w.category, ConvergenceWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        frame = pd.DataFrame({m: scores[f"test_{m}"] for m in METRICS})
        frame["fold"] = np.arange(len(frame))
        frame = frame.melt(id_vars="fold", var_name="metric", value_name="value")
        frame.insert(0, "model", model)
        frame.insert(0, "dataset", task.name)
        rows.append(frame)
    results = pd.concat(rows, ignore_index=True)
    results.attrs["convergence_warnings"] = n_convergence
    return results


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over folds, one row per data set, model and metric."""
    grouped = results.groupby(["dataset", "model", "metric"], sort=False)["value"]
    return grouped.agg(mean="mean", sd="std").reset_index()


def summary_table(
    results: pd.DataFrame,
    metrics: tuple[str, ...] = ("accuracy", "recall", "roc_auc"),
    digits: int = 3,
) -> pd.DataFrame:
    """A readable table: rows = models, columns = (data set, metric), cells "mean ± sd"."""
    summary = summarize(results)
    summary = summary[summary["metric"].isin(metrics)]
    summary["cell"] = [
        f"{m:.{digits}f} ± {s:.{digits}f}"
        for m, s in zip(summary["mean"], summary["sd"], strict=True)
    ]
    table = summary.pivot(index="model", columns=["dataset", "metric"], values="cell")
    datasets = list(dict.fromkeys(summary["dataset"]))
    models = list(dict.fromkeys(summary["model"]))
    table = table.reindex(index=models, columns=pd.MultiIndex.from_product([datasets, metrics]))
    table.index = [MODEL_LABELS.get(m, m) for m in table.index]
    table.columns = table.columns.set_names(["data set", "metric"])
    return table


def plot_cv_results(
    results: pd.DataFrame,
    metrics: tuple[str, ...] = ("accuracy", "recall", "roc_auc"),
    figsize: tuple[float, float] = (12.0, 5.0),
) -> plt.Figure:
    """Plot mean ± sd over folds: one panel per metric, models down, data sets as colours."""
    data = results[results["metric"].isin(metrics)].copy()
    data["model"] = data["model"].map(lambda m: MODEL_LABELS.get(m, m))
    fig, axes = plt.subplots(1, len(metrics), figsize=figsize, sharey=True, squeeze=False)
    for i, (ax, metric) in enumerate(zip(axes[0], metrics, strict=True)):
        sns.pointplot(
            data=data[data["metric"] == metric],
            x="value",
            y="model",
            hue="dataset",
            errorbar="sd",
            dodge=0.5,
            linestyle="none",
            markersize=5,
            ax=ax,
            legend=i == len(metrics) - 1,
        )
        ax.set_title(metric.replace("_", " "))
        ax.set_xlabel("mean ± sd over folds")
        ax.set_ylabel("")
        ax.set_xlim(-0.02, 1.02)
        ax.grid(axis="x", alpha=0.3)
    handles, labels = axes[0, -1].get_legend_handles_labels()
    axes[0, -1].get_legend().remove()
    fig.legend(handles, labels, title="data set", loc="lower center", ncol=len(labels))
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig
