"""Fraud model training pipeline: load a snapshot, compute features, train, evaluate."""

__version__ = "1.0"
