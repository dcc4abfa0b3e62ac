"""Feature code of the scenario domains, the way the training pipeline computes features.

Each module is self-contained (pandas and NumPy only) because the generator copies it next to a
scenario's incident config as `pipeline.py`, for `[pipeline] callable`.
"""
