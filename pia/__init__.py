"""pia: post-incident analysis from Slack and PagerDuty.

The pipeline, in the order of the package's modules: :mod:`pia.sources` (APIs and exports in),
:mod:`pia.snapshot` (the files on disk), :mod:`pia.events` (payloads to one timeline).
"""

from pia.errors import ConfigError, FetchError, InputError, PiaError, UnknownIncident
from pia.snapshot import Incident, data_dir, list_incidents, open_incident

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "FetchError",
    "Incident",
    "InputError",
    "PiaError",
    "UnknownIncident",
    "__version__",
    "data_dir",
    "list_incidents",
    "open_incident",
]
