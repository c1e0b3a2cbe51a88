"""The architecture diagram is drawn from the model's own layers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from mammo_lib.models import build_model  # noqa: E402
from mammo_lib.models.plots import architecture_rows, plot_architecture  # noqa: E402


def test_diagram_rows_follow_model_1_0_0_35() -> None:
    model = build_model("vgg_lite", input_size=64, n_classes=2, width=0.25)
    rows = architecture_rows(model)
    kinds = rows["kind"].tolist()
    assert kinds[0] == "InputLayer" and rows["output"].iloc[0] == "64 × 64 × 1"
    assert kinds.count("Conv2D") == 9 and kinds.count("MaxPooling2D") == 5
    assert kinds.count("Dense") == 3  # two hidden layers of 2048 and the logits
    convs = rows[rows["kind"] == "Conv2D"]
    assert convs["what"].iloc[0].startswith("conv 3×3 /2")
    assert (convs["extras"] == "BN, ReLU").all()
    pools = rows[rows["kind"] == "MaxPooling2D"]
    assert (pools["extras"] == "dropout 0.1").all()
    assert rows["what"].iloc[-2] == "dense 2" and rows["output"].iloc[-1] == "2"
    fig = plot_architecture(model)
    assert len(fig.axes[0].patches) == len(rows)
