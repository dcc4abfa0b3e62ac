"""Seeded sample incident: a card-fraud model hit by an upstream warehouse change."""

from .fraud import DEFAULT_OUT, generate
from .fraud_model import load_model

__all__ = ["DEFAULT_OUT", "generate", "load_model"]
