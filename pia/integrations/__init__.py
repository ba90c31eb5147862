"""Integrations: the bots that run an incident channel (PagerDuty's Slack app, incident
platforms, status pages, alerting), their posts read as evidence.

    >>> readings = read(events, config.integrations)     # doctest: +SKIP
    >>> readings.evidence                                 # milestone candidates by source
"""

from pia.integrations.config import EVENTS, STAGES, Integration
from pia.integrations.posts import NOTE_COLUMNS, Readings, disagreements, read

__all__ = ["EVENTS", "NOTE_COLUMNS", "STAGES", "Integration", "Readings", "disagreements", "read"]
