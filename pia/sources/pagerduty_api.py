"""Reading PagerDuty incidents through the REST API v2 (the official ``pagerduty`` client).

What this module adds to ``pagerduty.RestApiV2Client``:

- bounded retries. Out of the box the client retries a 429 forever and waits its own growing
  backoff, ignoring ``Retry-After`` and ``ratelimit-reset``; here 429 and 5xx are retried a
  set number of times (``retry``, ``max_http_attempts``), the wait the server asks for is
  honoured by a response hook (no longer than ``max_wait``), and network errors and timeouts
  are retried ``max_network_attempts`` times;
- incidents listed by window and service through ``iter_history``, which splits a window
  whose results pass the 10,000-record offset ceiling of classic pagination;
- errors as one-line :class:`~pia.errors.FetchError` messages (401, 403, 404, 429, 5xx,
  network, malformed bodies), never the client's own text (which shows part of the key).
"""

from __future__ import annotations

import email.utils
import logging
import ssl
import threading
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import pagerduty
from httpx2 import Response

from pia.errors import FetchError
from pia.sources.credentials import CredentialError, Secret

#: The classic-pagination ceiling (offset + limit) of the REST API.
OFFSET_CEILING = 10_000

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PagerDutySettings:
    """How to talk to PagerDuty. The defaults suit api.pagerduty.com; :meth:`local` a test server.

    ``max_wait`` is the longest server-requested wait (``Retry-After``/``ratelimit-reset``)
    that is honoured before retrying; a longer one ends the fetch with a message instead.
    """

    base_url: str | None = None
    timeout: float = 30.0
    rate_limit_retries: int = 5
    server_error_retries: int = 3
    network_retries: int = 3
    backoff: float = 1.0
    max_wait: float = 120.0
    page_size: int = 100
    verify: ssl.SSLContext | None = None

    @classmethod
    def local(cls, base_url: str, **changes: Any) -> PagerDutySettings:
        """Settings for a server on this machine: short timeouts and backoff."""
        values: dict[str, Any] = {"timeout": 2.0, "backoff": 0.01, "max_wait": 2.0}
        values.update(changes)
        return cls(base_url=base_url, **values)


def server_wait(headers: Any, now: float | None = None) -> float | None:
    """Seconds the server asked to wait: ``ratelimit-reset`` (seconds) or ``Retry-After``
    (seconds or an HTTP date); None when it did not say."""
    for name in ("ratelimit-reset", "retry-after"):
        value = headers.get(name)
        if not value:
            continue
        value = str(value).strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        current = time.time() if now is None else now
        return max(0.0, when.timestamp() - current)
    return None


class _HonourWait:
    """httpx2 response hook: on a 429, sleep what the server asked before the client retries;
    a wait past ``max_wait`` is a :class:`FetchError` at once rather than a long hang."""

    def __init__(self, max_wait: float) -> None:
        self.max_wait = max_wait
        self.waited = 0.0
        self._lock = threading.Lock()

    def __call__(self, response: Response) -> None:
        if response.status_code != 429:
            return
        wait = server_wait(response.headers)
        if wait is None:
            return  # the client's own backoff applies
        if wait > self.max_wait:
            raise FetchError(
                "pagerduty",
                f"rate limited (429) and asked to wait {wait:.0f}s; run the fetch again after that",
                status=429,
            )
        with self._lock:
            self.waited += wait
        log.info("PagerDuty rate limit: waiting %.1fs as the server asked", wait)
        time.sleep(wait)


def make_client(token: Secret, settings: PagerDutySettings) -> pagerduty.RestApiV2Client:
    """A ``RestApiV2Client`` for ``token`` with bounded retries that honour the server's wait."""
    kwargs: dict[str, Any] = {"event_hooks": {"response": [_HonourWait(settings.max_wait)]}}
    if settings.verify is not None:
        kwargs["verify"] = settings.verify
    try:
        client = pagerduty.RestApiV2Client(token.reveal(), base_url=settings.base_url, **kwargs)
    except pagerduty.UrlError:
        raise FetchError(
            "pagerduty", f"base URL {settings.base_url!r} must start with https://"
        ) from None
    client.timeout = settings.timeout  # type: ignore[assignment]  # annotated int; requests takes float seconds
    client.retry = {429: settings.rate_limit_retries}
    client.retry.update(dict.fromkeys((500, 502, 503, 504), settings.server_error_retries))
    client.max_http_attempts = settings.rate_limit_retries + settings.server_error_retries
    client.max_network_attempts = settings.network_retries
    client.sleep_timer = settings.backoff
    client.sleep_timer_base = 2
    client.stagger_cooldown = 0.5
    client.default_page_size = settings.page_size
    return client


@dataclass
class IncidentPull:
    """Everything fetched about one PagerDuty incident, as the API returned it."""

    incident: dict[str, Any]
    log_entries: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    truncated: bool = False  # more log entries than the offset ceiling lets one list

    @property
    def id(self) -> str:
        return str(self.incident["id"])


class PagerDutySource:
    """PagerDuty read through one ``RestApiV2Client``."""

    def __init__(
        self, client: pagerduty.RestApiV2Client, settings: PagerDutySettings | None = None
    ) -> None:
        self.client = client
        self.settings = settings or PagerDutySettings()
        self._host = urlsplit(client.url).netloc or "api.pagerduty.com"

    @classmethod
    def connect(cls, token: Secret, settings: PagerDutySettings | None = None) -> PagerDutySource:
        settings = settings or PagerDutySettings()
        return cls(make_client(token, settings), settings)

    @property
    def requests(self) -> int:
        """HTTP requests made so far, retries included (the client counts every response)."""
        return int(self.client.total_call_count)

    def incident(self, incident_id: str) -> dict[str, Any]:
        """The body of ``GET /incidents/{id}``'s ``incident``."""
        with self._errors(f"incident {incident_id}"):
            found = self.client.rget(f"/incidents/{incident_id}")
        if not isinstance(found, dict) or "id" not in found:
            raise FetchError(
                "pagerduty", f"incident {incident_id}: the answer holds no incident; fetch again"
            )
        return found

    def pull(self, incident_id: str) -> IncidentPull:
        """The incident, all its log entries (``is_overview=false``, with channels), notes, alerts."""
        incident = self.incident(incident_id)
        with (
            self._errors(f"log entries of {incident_id}"),
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always")
            entries = list(
                self.client.iter_all(
                    f"/incidents/{incident_id}/log_entries",
                    params={"is_overview": "false", "include[]": ["channels"]},
                )
            )
        truncated = any("incomplete" in str(w.message) for w in caught)
        with self._errors(f"notes of {incident_id}"):
            notes = self.client.rget(f"/incidents/{incident_id}/notes")
        with self._errors(f"alerts of {incident_id}"):
            alerts = list(self.client.iter_all(f"/incidents/{incident_id}/alerts"))
        return IncidentPull(incident, entries, list(notes or []), alerts, truncated)

    def incidents(
        self, since: datetime, until: datetime, services: Iterable[str] = ()
    ) -> list[dict[str, Any]]:
        """Incidents created in ``[since, until)``, optionally of some services, oldest first.

        ``iter_history`` bisects the window wherever it holds more than the 10,000 records
        classic pagination can reach, so a busy year lists whole.
        """
        params: dict[str, Any] = {"sort_by": "created_at:asc"}
        services = list(services)
        if services:
            params["service_ids[]"] = services
        with self._errors("incident list"):
            found = {
                str(i["id"]): i
                for i in self.client.iter_history("/incidents", since, until, params=params)
                if isinstance(i, dict) and "id" in i
            }
        return sorted(found.values(), key=lambda i: (str(i.get("created_at") or ""), str(i["id"])))

    # --- errors -----------------------------------------------------------------------------

    def _errors(self, what: str) -> _Translate:
        return _Translate(what, self)


class _Translate:
    """Context manager turning the client's exceptions into one-line :class:`FetchError`s."""

    def __init__(self, what: str, source: PagerDutySource) -> None:
        self.what = what
        self.source = source

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: Any
    ) -> Literal[False]:
        if error is None or isinstance(error, FetchError) or not isinstance(error, Exception):
            return False
        raise self.translate(error) from None

    def translate(self, error: Exception) -> FetchError:
        what, settings = self.what, self.source.settings
        response = getattr(error, "response", None)
        status = getattr(response, "status_code", None) if response is not None else None
        if isinstance(error, pagerduty.HttpError) and status and status >= 400:
            if status == 401:
                return CredentialError(
                    "pagerduty",
                    f"{what}: the API key was refused (401); set PAGERDUTY_API_TOKEN to a valid REST API key "
                    "(and for an EU account use pagerduty_base_url https://api.eu.pagerduty.com)",
                    status=401,
                    parameters=("pagerduty_base_url",),
                )
            if status == 403:
                return CredentialError(
                    "pagerduty",
                    f"{what}: the API key may not read this (403); use a REST API key whose user can see the "
                    "incident's service, or an account-level read-only key",
                    status=403,
                )
            if status == 404:
                return FetchError(
                    "pagerduty",
                    f"{what}: not found (404); check the incident id and the account",
                    status=404,
                )
            if status == 429:
                return FetchError(
                    "pagerduty",
                    f"{what}: still rate limited (429) after {settings.rate_limit_retries} retries; "
                    "wait a minute and fetch again",
                    status=429,
                )
            if status >= 500:
                return FetchError(
                    "pagerduty",
                    f"{what}: PagerDuty answered HTTP {status} after retries; fetch again later",
                    status=status,
                )
            return FetchError(
                "pagerduty", f"{what}: PagerDuty answered HTTP {status}", status=status
            )
        if isinstance(error, pagerduty.HttpError) or "invalid JSON" in str(error):
            return FetchError(
                "pagerduty", f"{what}: a truncated or malformed answer; fetch again", status=status
            )
        if isinstance(error, pagerduty.Error) and _untrusted(error):
            return FetchError(
                "pagerduty",
                f"{what}: the TLS certificate of {self.source._host} is not trusted; if a proxy or private CA "
                "signs it, set SSL_CERT_FILE (or REQUESTS_CA_BUNDLE) to that CA's PEM file",
            )
        if isinstance(error, pagerduty.Error):
            return FetchError(
                "pagerduty",
                f"{what}: no answer from {self.source._host} after {settings.network_retries} attempts; "
                "check the network (or pagerduty_base_url) and fetch again",
                parameters=("pagerduty_base_url",),
            )
        if isinstance(error, (ValueError, KeyError, TypeError)):
            return FetchError(
                "pagerduty", f"{what}: an answer of an unexpected shape ({type(error).__name__})"
            )
        return FetchError("pagerduty", f"{what}: {type(error).__name__}")


def _untrusted(error: BaseException) -> bool:
    """Whether a certificate check failure is somewhere in the error's chain of causes."""
    seen: BaseException | None = error
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(
            seen
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
