"""The four phases of an investigation, each one widget over the shared IncidentState."""

from widgets.phases.deep_dive import DeepDivePhase
from widgets.phases.isolate import IsolatePhase
from widgets.phases.triage import TriagePhase
from widgets.phases.verify_slot import VerifyPhase, VerifySlot

__all__ = ["DeepDivePhase", "IsolatePhase", "TriagePhase", "VerifyPhase", "VerifySlot"]
