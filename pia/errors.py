"""The package's errors.

Every error pia raises on purpose derives from :class:`PiaError`; its ``str`` is one line that
says what went wrong, where, and (where there is one) what to do about it. The CLI prints that
line and exits with :attr:`PiaError.exit_code`, never a traceback.

    PiaError
    ├── InputError          a file on disk is malformed (file, place, problem)
    │   └── ConfigError     a config file (incident.toml, pia.toml, rules) is wrong
    ├── UnknownIncident     no snapshot by that id (lists the known ones)
    └── FetchError          a Slack or PagerDuty API call failed (service, status, fix)
"""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike


class PiaError(Exception):
    """Base of every error pia raises on purpose."""

    exit_code = 2


class InputError(PiaError):
    """A malformed input file.

    ``path`` is the file, ``place`` where in it (a key, a list index, a line), ``problem`` what
    is wrong with it.
    """

    def __init__(self, path: str | PathLike[str], place: str, problem: str) -> None:
        self.path = str(path)
        self.place = place
        self.problem = problem
        where = f"{self.path}: {place}" if place else self.path
        super().__init__(f"{where}: {problem}")


class ConfigError(InputError):
    """A config file (``incident.toml``, ``pia.toml``, a rules file) that cannot be used."""


class UnknownIncident(PiaError):
    """No incident snapshot by that id in the data dir."""

    def __init__(self, incident: str, data_dir: str | PathLike[str], known: Iterable[str]) -> None:
        self.incident = incident
        self.data_dir = str(data_dir)
        self.known = sorted(known)
        listing = ", ".join(self.known) if self.known else "none"
        super().__init__(
            f"no incident {incident!r} in {self.data_dir}/incidents (known: {listing})"
        )


class FetchError(PiaError):
    """An API call to Slack or PagerDuty failed; the message names the fix."""

    def __init__(self, service: str, problem: str, *, status: int | None = None) -> None:
        self.service = service
        self.status = status
        self.problem = problem
        super().__init__(f"{service}: {problem}")
