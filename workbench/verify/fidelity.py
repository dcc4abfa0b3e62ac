"""Does the model file a replay uses reproduce the scores production logged?

A replay is only as good as its model: the file named in the config may not be the version that
served. Rollbacks are checked on rows the old version served; corrections (the incident's
model) on the replayed window's rows served by its most frequent version; a model that never
served (kind "model") has nothing to reproduce.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from workbench.data import LogStore
from workbench.verify.fixes import PreparedFix
from workbench.verify.results import ModelCheck

CHECK_ROWS = 500  # rows re-scored
FIDELITY_TOLERANCE = 1e-6  # largest |score difference| that still counts as reproducing


def model_check(store: LogStore, prepared: PreparedFix, start: datetime | None,
                end: datetime | None) -> ModelCheck | None:
    """Does the replaying model reproduce logged scores of the version it claims to be?

    Rollbacks are checked on rows the old version served; corrections (the incident's
    model) on the replayed window's rows served by its most frequent version. A model
    that never served (kind "model") has nothing to reproduce.
    """
    model = prepared.model
    kind = prepared.fix.kind
    if model is None or kind == "model":
        return None
    roles = store.roles
    columns = list(dict.fromkeys([*model.feature_names, roles.prediction]
                                 + ([roles.model_version] if roles.model_version else [])))
    version = prepared.fix.version if kind == "rollback" else None
    lo, hi = start, end
    if version is not None:
        seen = store.version_counts(None, None, None)
        rows = seen[seen["version"].astype(str) == version]
        lo = rows["first_seen"].min().to_pydatetime()
        hi = rows["last_seen"].max().to_pydatetime() + pd.Timedelta(microseconds=1)
    sample = store.seeded_sample(columns, CHECK_ROWS * 4, seed=0, start=lo, end=hi)
    if roles.model_version is not None and len(sample):
        versions = sample[roles.model_version].astype(str)
        version = version or versions.value_counts().index[0]
        sample = sample[versions == version]
    sample = sample.head(CHECK_ROWS)
    logged = pd.to_numeric(sample[roles.prediction]).to_numpy(dtype=float, na_value=np.nan)
    if len(sample) == 0:
        return ModelCheck(model.name, version, 0, None, False,
                          f"No logged rows of {version or 'the model'} to check the model "
                          f"file {model.name} against.")
    diff = float(np.nanmax(np.abs(model.predict_score(sample) - logged)))
    ok = diff <= FIDELITY_TOLERANCE
    who = f"version {version}" if version else "the logged model"
    detail = (f"The model file {model.name} reproduces the scores {who} logged "
              f"(max |difference| {diff:.2g} on {len(sample)} rows)." if ok else
              f"The model file {model.name} does NOT reproduce the scores {who} logged "
              f"(max |difference| {diff:.3g} on {len(sample)} rows): the replay may not "
              f"show what production would do. Check [model]/[[fixes]] path.")
    return ModelCheck(model.name, version, len(sample), diff, ok, detail)
