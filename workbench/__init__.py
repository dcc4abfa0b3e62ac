"""ML incident workbench: the UI-free analysis core.

Load an incident config, query its prediction log through one DuckDB layer and diagnose what broke.
"""

from workbench.config import Incident, load_incident
from workbench.exceptions import ConfigError, DataSourceError, InvalidInputError, WorkbenchError

__all__ = [
    "ConfigError",
    "DataSourceError",
    "Incident",
    "InvalidInputError",
    "WorkbenchError",
    "load_incident",
]
__version__ = "0.1.0"
