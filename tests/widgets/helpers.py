"""Shared helpers of the widget tests: open the sample incident, derive configs from it."""

from __future__ import annotations

import re
from pathlib import Path

from widgets import Workbench


def open_sample(config: Path) -> Workbench:
    """A fresh app on the sample incident (diagnosed)."""
    wb = Workbench.open(config)
    assert wb.state.error == "", wb.state.error
    return wb


SAMPLE_PATHS = ("logs/*.parquet", "training/train.parquet", "models/fraud_v1_3_1.skops",
                "changes.csv")


def relocated_config(config: Path, folder: Path, model: bool = True) -> Path:
    """A copy of the sample config as `folder`/incident.toml, its paths made absolute (so it
    reads the sample's data from anywhere); without the [model] section if not `model`."""
    text = config.read_text()
    if not model:
        text = re.sub(r"\[model\][^\[]*", "", text)
    for rel in SAMPLE_PATHS:
        text = text.replace(f'"{rel}"', f'"{config.parent / rel}"')
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "incident.toml"
    path.write_text(text)
    return path


def no_model_config(config: Path, folder: Path) -> Path:
    """A copy of the sample config in `folder` without its [model] section."""
    return relocated_config(config, folder, model=False)
