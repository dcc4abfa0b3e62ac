"""Cases of a bad model file: corrupt, untrusted pickle, missing, unknown format."""

from __future__ import annotations

import pickle
from collections.abc import Callable

from tests.bad_inputs.base import Builder, with_regression
from tests.bad_inputs.case import case

EXPLAIN = ("explain", "incident.toml", "--window", "..", "--json")


def _model(b: Builder, name: str, content: bytes | None, **keys: object) -> None:
    if content is not None:
        b.files[name] = content
    b.config["model"] = {"path": name, "threshold": 0.5, **keys}


@case(argv=EXPLAIN, error=("fraud.skops", "skops"))
def model_corrupt_skops(b: Builder) -> None:
    """A .skops model file of garbage bytes."""
    _model(b, "fraud.skops", b"PK\x03\x04 not really a zip archive")


@case(argv=EXPLAIN, error=("fraud.pkl", "trusted = true"))
def model_pickle_not_trusted(b: Builder) -> None:
    """A pickle without `trusted = true`: never unpickled."""
    _model(b, "fraud.pkl", pickle.dumps({"weights": [1, 2, 3]}))


@case(argv=EXPLAIN, error=("fraud.pkl", "unpickled"))
def model_pickle_corrupt(b: Builder) -> None:
    """A trusted pickle that is garbage."""
    _model(b, "fraud.pkl", b"\x80\x05garbage", trusted=True)


@case(argv=EXPLAIN, error=("fraud.skops", "does not exist", "[model] path"))
def model_file_missing(b: Builder) -> None:
    """A model path that does not exist."""
    _model(b, "fraud.skops", None)


@case(argv=EXPLAIN, error=("fraud.bin", "unknown format"))
def model_unknown_format(b: Builder) -> None:
    """A model file of an unknown format."""
    _model(b, "fraud.bin", b"\x00\x01\x02")


def _attribution_failed(name: str) -> Callable[[dict], None]:
    """A check: the diagnosis stands, its attribution step failed naming the model file."""

    def check(doc: dict) -> None:
        status = doc["attribution"]
        assert status["status"] == "failed" and name in status["reason"], status
        assert doc["onset"] is not None

    return check


@case(exit=0, check=_attribution_failed("fraud.skops"))
def model_corrupt_when_diagnosing_a_regression(b: Builder) -> None:
    """A corrupt model met by diagnose's attribution step: the diagnosis stands, says why."""
    with_regression(b)
    _model(b, "fraud.skops", b"PK\x03\x04 not really a zip archive")


@case(exit=0, check=_attribution_failed("trusted = true"))
def model_pickle_not_trusted_when_diagnosing(b: Builder) -> None:
    """An untrusted pickle met by diagnose's attribution step: never unpickled, said so."""
    with_regression(b)
    _model(b, "fraud.pkl", pickle.dumps({"weights": [1, 2, 3]}))
