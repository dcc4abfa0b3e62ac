"""Which way a metric improves: declared in the manifest, else taken from its name.

A manifest records every metric's direction (`metric_directions`). A direction that was not
declared (`--metric-direction`, `lower_is_better=`) is guessed from the metric's name with the
lists below, documented in docs/manifest-schema.md, and capture warns that it guessed. The
name is split into words (`val_rmse` -> val, rmse); scikit-learn's negated scorers (`neg_...`)
are higher-is-better.
"""

from __future__ import annotations

import re
import warnings

from workbench.lineage.errors import ManifestError

LOWER, HIGHER = "lower", "higher"
DIRECTIONS = (LOWER, HIGHER)
# Words and phrases of metrics where smaller is better.
LOWER_IS_BETTER = (
    "loss", "error", "err", "mae", "mse", "rmse", "msle", "rmsle", "mape", "smape", "wape",
    "mdape", "medae", "mase", "log_loss", "logloss", "brier", "deviance", "fpr", "fnr",
    "false_positive", "false_negative", "false_positives", "false_negatives", "miss_rate",
    "cost", "regret", "perplexity", "latency", "wer", "cer", "hinge", "divergence", "distance",
)
# Words and phrases of metrics where larger is better.
HIGHER_IS_BETTER = (
    "accuracy", "acc", "auc", "roc_auc", "pr_auc", "auprc", "average_precision", "avg_precision",
    "precision", "recall", "f1", "fbeta", "r2", "explained_variance", "mcc", "kappa", "ndcg",
    "map", "mrr", "hit_rate", "tpr", "tnr", "specificity", "sensitivity", "iou", "dice", "bleu",
    "rouge", "gini", "lift", "gain", "score", "likelihood",
)
NEGATED = "neg"  # scikit-learn scorer prefix: neg_mean_squared_error is higher-is-better


class MetricDirectionWarning(UserWarning):
    """A metric's direction was not declared and was taken from its name."""


def _words(metric: str) -> str:
    return "_" + "_".join(w for w in re.split(r"[^a-z0-9]+", metric.lower()) if w) + "_"


def guess(metric: str) -> tuple[str, bool]:
    """(direction, known): from the documented lists; unknown names count as higher-is-better."""
    words = _words(metric)
    flip = words.startswith(f"_{NEGATED}_")
    lower = any(f"_{w}_" in words for w in LOWER_IS_BETTER) or "loss" in words \
        or "error" in words
    higher = any(f"_{w}_" in words for w in HIGHER_IS_BETTER)
    if lower or higher:
        direction = LOWER if lower else HIGHER
        return (HIGHER if direction == LOWER else LOWER) if flip else direction, True
    return (LOWER if flip else HIGHER), False


def check(direction: str, where: str) -> str:
    """A declared direction, validated."""
    if direction not in DIRECTIONS:
        raise ManifestError(f"{where} must be 'lower' or 'higher' (which way the metric "
                            f"improves). Got {direction!r}.")
    return direction


def warn_guessed(metric: str, direction: str, known: bool) -> None:
    """Warn (MetricDirectionWarning) that the direction of a metric was guessed."""
    source = "from its name" if known else "by default (the name is in neither documented list)"
    warnings.warn(f"The direction of metric {metric!r} was not declared: taken as "
                  f"{direction}-is-better {source}. Pass --metric-direction lower|higher (or "
                  f"metric_direction=) to record it.", MetricDirectionWarning, stacklevel=4)
