"""Helpers of the attribution tests: a synthetic incident (tests/core `generate`) with a model.

The incident is written once per session; each test fits its own model on the incident's
reference data, saves it as a user would and writes a config next to the incident's that
points [model] at it.
"""

from __future__ import annotations

import json
import re
from itertools import count
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from tests.core.conftest import Synthetic

FEATURES = ["basket_value", "tenure", "noise", "region"]
_names = count()


def training(incident: Synthetic) -> tuple[pd.DataFrame, np.ndarray]:
    """The incident's reference features and labels."""
    return incident.reference[FEATURES], incident.reference["outcome"].to_numpy().astype(bool)


def ordinal_encoder() -> ColumnTransformer:
    """Region ordinal-encoded, numerics passed through (the shape of the issue's model)."""
    return ColumnTransformer(
        [("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
          ["region"])], remainder="passthrough")


def scaled_one_hot() -> ColumnTransformer:
    """Region one-hot encoded, numerics standardised (for distance and linear models)."""
    return ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["region"])],
                             remainder=StandardScaler())


def save_skops(model: Any, folder: Path) -> Path:
    """The fitted model saved with skops under a fresh name."""
    path = folder / f"model_{next(_names)}.skops"
    sio.dump(model, path)
    return path


def with_model(incident: Synthetic, model_path: Path, trusted: bool = False) -> Path:
    """A config next to the incident's, with [model] pointing at model_path."""
    text = incident.config.read_text()
    section = (f"\n[model]\npath = {json.dumps(str(model_path))}\ntask = \"classification\"\n"
               f"threshold = 0.5\n" + ("trusted = true\n" if trusted else ""))
    config = incident.config.parent / f"incident_{next(_names)}.toml"
    config.write_text(text + section)
    return config


def sample_with_model(sample_config: Path, model_path: Path) -> Path:
    """A config next to the fraud sample's own, with its [model] path replaced by model_path."""
    head, sep, tail = sample_config.read_text().partition("[model]")
    tail = re.sub(r"^path\s*=.*$", f"path = {json.dumps(str(model_path))}", tail, count=1,
                  flags=re.MULTILINE)
    config = sample_config.parent / f"incident_{next(_names)}.toml"
    config.write_text(head + sep + tail)
    return config
