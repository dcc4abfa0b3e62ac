"""The fraud model: training, reproducible skops persistence and safe loading.

Models are stored with skops rather than pickle so that loading one never runs arbitrary code;
`load_model` accepts only the non-default types listed in `TRUSTED_TYPES`.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from .fraud_features import CATEGORICAL, FEATURES

# Fraud cases are up-weighted in training (recall over precision, as fraud teams usually do),
# so a score of 0.5 corresponds to a true fraud probability of about 1 / (1 + FRAUD_WEIGHT).
FRAUD_WEIGHT = 4.0
N_ESTIMATORS = 120

# Types in the fitted pipeline that skops does not trust by default: only the fitted decision
# tree structure, which skops rebuilds from plain arrays. A file needing anything else is refused.
TRUSTED_TYPES = ("sklearn.tree._tree.Tree",)

# Fixed timestamp for every zip entry (the earliest a zip can store), see `_normalise_skops`.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
# schema.json is several MB of indented JSON; deflate shrinks the file about tenfold.
COMPRESSION, COMPRESSLEVEL = zipfile.ZIP_DEFLATED, 6


def build_pipeline(random_state: int) -> Pipeline:
    """Ordinal-encode the categoricals, pass numerics through, then gradient boosting.

    GradientBoostingClassifier (not HistGradientBoosting) so that `shap.TreeExplainer` with a
    background sample passes its additivity check.
    """
    encode = ColumnTransformer(
        [
            (
                "categorical",
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                list(CATEGORICAL),
            )
        ],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    model = GradientBoostingClassifier(
        n_estimators=N_ESTIMATORS,
        max_depth=3,
        learning_rate=0.1,
        subsample=0.8,
        random_state=random_state,
    )
    return Pipeline([("encode", encode), ("model", model)])


def train(features: pd.DataFrame, is_fraud: np.ndarray, random_state: int) -> Pipeline:
    """Fit a pipeline on the training frame (columns in FEATURES order), fraud up-weighted."""
    weights = np.where(is_fraud, FRAUD_WEIGHT, 1.0)
    pipeline = build_pipeline(random_state)
    pipeline.fit(features[list(FEATURES)], is_fraud.astype(bool), model__sample_weight=weights)
    return pipeline


def score(pipeline: Pipeline, features: pd.DataFrame) -> np.ndarray:
    """Probability of class 1 (fraud) for each row."""
    return pipeline.predict_proba(features[list(FEATURES)])[:, 1]


def save_model(pipeline: Pipeline, path: Path) -> None:
    """Write the pipeline as a skops file that is identical byte for byte across runs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = sio.dumps(pipeline, compression=COMPRESSION, compresslevel=COMPRESSLEVEL)
    path.write_bytes(_normalise_skops(data))


def load_model(path: Path | str) -> Pipeline:
    """Load a skops model, trusting only the explicitly listed non-default types.

    Raises ValueError naming the offending types if the file needs anything else.
    """
    untrusted = sio.get_untrusted_types(file=path)
    unexpected = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if unexpected:
        raise ValueError(f"{path}: refusing to load untrusted types {unexpected}")
    return sio.load(path, trusted=list(TRUSTED_TYPES))


def _normalise_skops(data: bytes) -> bytes:
    """Rewrite a skops zip so the same model always gives the same bytes.

    skops stamps each zip entry with the current time, names array entries after Python
    object ids (memory addresses) and stores those ids as `__id__` in schema.json. Here the
    ids are renumbered in document order, the entries renamed to match, and every entry gets a
    fixed timestamp; entry order and compression are kept, so skops loads it unchanged.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        infos = src.infolist()
        schema = json.loads(src.read("schema.json"))
        names = {i.filename: f"{n:05d}{Path(i.filename).suffix}" for n, i in enumerate(infos)}
        names["schema.json"] = "schema.json"
        ids: dict[int, int] = {}
        canonical = _renumber(schema, ids, names)
        payload = {i.filename: src.read(i.filename) for i in infos}
    payload["schema.json"] = json.dumps(canonical, indent=2).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in infos:
            entry = zipfile.ZipInfo(names[info.filename], date_time=ZIP_EPOCH)
            entry.compress_type = info.compress_type
            entry.external_attr = info.external_attr
            entry.create_system = 3
            dst.writestr(entry, payload[info.filename], info.compress_type, COMPRESSLEVEL)
    return out.getvalue()


def _renumber(node: Any, ids: dict[int, int], names: dict[str, str]) -> Any:
    """Copy of a skops state tree with object ids renumbered and file references renamed."""
    if isinstance(node, list):
        return [_renumber(item, ids, names) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "__id__" and isinstance(value, int):
            out[key] = ids.setdefault(value, len(ids) + 1)
        elif key == "file" and isinstance(value, str) and value in names:
            out[key] = names[value]
        else:
            out[key] = _renumber(value, ids, names)
    return out
