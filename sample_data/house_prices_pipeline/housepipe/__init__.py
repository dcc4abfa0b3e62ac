"""House price model training pipeline: load a CSV snapshot, compute features, train, evaluate."""

__version__ = "1.0"
