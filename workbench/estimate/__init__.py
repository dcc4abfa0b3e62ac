"""Labelled metrics before the labels arrive: label arrival, confidence-based performance
estimation (CBPE) for classifiers and direct loss estimation (DLE) for regressors.

Mechanics only, over the query layer and per-bucket arrays; `workbench.stages.estimation` decides
when to estimate and feeds the triage.
"""

# Estimates carry 95% intervals: the estimate plus or minus this many standard errors.
INTERVAL_Z = 1.96
