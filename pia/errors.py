"""The package's errors.

Every error pia raises on purpose derives from :class:`PiaError`; its ``str`` is one line that
says what went wrong, where, and (where there is one) what to do about it. The CLI prints that
line and exits with :attr:`PiaError.exit_code`, never a traceback.

An error speaks of the values a function was given by their parameter names (``since``,
``as_of``), listed in :attr:`PiaError.parameters`; the CLI names its own options instead.

    PiaError
    ├── BadValue            a value passed in cannot be used (parameter, value, problem)
    ├── InputError          a file on disk is malformed (file, place, problem)
    │   └── ConfigError     a config file (incident.toml, pia.toml, rules) is wrong
    ├── UnknownIncident     no snapshot by that id (lists the known ones)
    └── FetchError          a Slack or PagerDuty API call failed (service, status, fix)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from os import PathLike


class PiaError(Exception):
    """Base of every error pia raises on purpose; ``parameters`` are the parameter names its
    message mentions, for a caller (the CLI) that calls them something else."""

    exit_code = 2

    def __init__(self, *args: object, parameters: Iterable[str] = ()) -> None:
        super().__init__(*args)
        self.parameters = tuple(parameters)

    def worded(self, name: Callable[[str], str]) -> str:
        """The message with each of :attr:`parameters` called ``name(parameter)``."""
        message = str(self)
        for parameter in self.parameters:
            message = re.sub(
                rf"(?<![\w/.-]){re.escape(parameter)}(?![\w/.-])", name(parameter), message
            )
        return message


class BadValue(PiaError):
    """A value passed to a pia function that it cannot use: ``parameter`` names it as the
    function does, ``value`` is what was given, ``problem`` what is wrong with it."""

    def __init__(self, parameter: str, value: object, problem: str) -> None:
        self.parameter = parameter
        self.value = value
        self.problem = problem
        super().__init__(f"{parameter}: {value!r} {problem}", parameters=(parameter,))


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

    def __init__(
        self,
        service: str,
        problem: str,
        *,
        status: int | None = None,
        parameters: Iterable[str] = (),
    ) -> None:
        self.service = service
        self.status = status
        self.problem = problem
        super().__init__(f"{service}: {problem}", parameters=parameters)
