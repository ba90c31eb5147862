"""pia: post-incident analysis from Slack and PagerDuty.

The pipeline, as a notebook calls it::

    import pia

    incident = pia.open_incident("2026-11-20-login-outage")          # the snapshot on disk
    events = incident.events()                                       # one timeline DataFrame
    config = pia.load_config(pia.data_dir())                         # the rules, pia.toml over the packaged ones
    found = pia.detect_incident(events, incident.meta, config)       # milestones and repeated events
    spans = pia.durations(found.milestones, config, as_of="2026-11-20T14:30:00Z")  # observed or censored

:func:`measure_incident` runs the last three steps in one call, :func:`metrics_table` for every
incident of the data dir, and :class:`Review` is what the review notebook shows, with secrets
masked. The modules follow the data flow: :mod:`pia.sources` (APIs and exports in),
:mod:`pia.snapshot` (the files on disk), :mod:`pia.events` (payloads to one timeline),
:mod:`pia.milestones`, :mod:`pia.metrics`, :mod:`pia.report` and :mod:`pia.trends`.

Importing pia loads pandas and the snapshot readers only; everything else loads when first
used, and nothing here selects a matplotlib backend.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pia.errors import ConfigError, FetchError, InputError, PiaError, UnknownIncident
from pia.snapshot import Incident, data_dir, list_incidents, open_incident

if TYPE_CHECKING:
    from pia.metrics import (
        Durations,
        Explanation,
        IncidentMetrics,
        MetricsTable,
        durations,
        explain_milestones,
        measure_incident,
        measure_incidents,
        metrics_table,
    )
    from pia.milestones import Config, Detection, detect_incident, detect_incidents, load_config
    from pia.report.review import Review
    from pia.times import human_duration

__version__ = "0.1.0"

#: the public names loaded on first use, and the module each comes from
_LAZY = {
    "Config": "pia.milestones",
    "Detection": "pia.milestones",
    "detect_incident": "pia.milestones",
    "detect_incidents": "pia.milestones",
    "load_config": "pia.milestones",
    "Durations": "pia.metrics",
    "Explanation": "pia.metrics",
    "IncidentMetrics": "pia.metrics",
    "MetricsTable": "pia.metrics",
    "durations": "pia.metrics",
    "explain_milestones": "pia.metrics",
    "measure_incident": "pia.metrics",
    "measure_incidents": "pia.metrics",
    "metrics_table": "pia.metrics",
    "human_duration": "pia.times",
    "Review": "pia.report.review",
}

__all__ = [
    "Config",
    "ConfigError",
    "Detection",
    "Durations",
    "Explanation",
    "FetchError",
    "Incident",
    "IncidentMetrics",
    "InputError",
    "MetricsTable",
    "PiaError",
    "Review",
    "UnknownIncident",
    "__version__",
    "data_dir",
    "detect_incident",
    "detect_incidents",
    "durations",
    "explain_milestones",
    "human_duration",
    "list_incidents",
    "load_config",
    "measure_incident",
    "measure_incidents",
    "metrics_table",
    "open_incident",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pia' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # loaded once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
