"""Tokens and connection settings from the environment: the one place pia reads them.

Nothing else in pia looks at ``SLACK_BOT_TOKEN``, ``SLACK_TOKEN`` or ``PAGERDUTY_API_TOKEN``.
A token is passed from here straight into the API client that needs it; it never reaches a
log line, an error message, a snapshot or a notebook parameter. :class:`Secret` keeps it out of
``repr`` and ``str`` so a stray print or traceback shows ``Secret('***')`` instead.

Variables read:

``SLACK_BOT_TOKEN`` (or ``SLACK_TOKEN``)
    a Slack bot token (``xoxb-…``) of an app with the read scopes in ``docs/fetch.md``
``PAGERDUTY_API_TOKEN``
    a read-only PagerDuty REST API key (user or account)
``PIA_SLACK_BASE_URL`` / ``PIA_PAGERDUTY_BASE_URL``
    send the clients elsewhere (a proxy, PagerDuty's EU region, a test server)
``SSL_CERT_FILE`` / ``SSL_CERT_DIR``
    a custom CA; both clients already honour these through the standard library / httpx2.
    ``REQUESTS_CA_BUNDLE`` is honoured too, for people whose environment sets only that.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from typing import NoReturn

from pia.errors import FetchError

SLACK_TOKEN_VARS = ("SLACK_BOT_TOKEN", "SLACK_TOKEN")
PAGERDUTY_TOKEN_VAR = "PAGERDUTY_API_TOKEN"
SLACK_BASE_URL_VAR = "PIA_SLACK_BASE_URL"
PAGERDUTY_BASE_URL_VAR = "PIA_PAGERDUTY_BASE_URL"


class CredentialError(FetchError):
    """A token is missing, or the service refused it. Fetching more with it is pointless, so a
    discovery run stops at the first one instead of failing every incident the same way."""


class Secret:
    """A token that does not show itself: ``str``/``repr`` print ``***``; :meth:`reveal` gives
    the value to the one call that must send it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:  # no pickling a token into a file by accident
        raise TypeError("a Secret cannot be pickled")


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def slack_token(environ: Mapping[str, str] | None = None) -> Secret:
    """The Slack token from ``SLACK_BOT_TOKEN``, else ``SLACK_TOKEN``.

    Raises :class:`CredentialError` naming the variable to set when neither is.
    """
    env = _env(environ)
    for name in SLACK_TOKEN_VARS:
        value = env.get(name, "").strip()
        if value:
            return Secret(value)
    raise CredentialError(
        "slack",
        "no token: set SLACK_BOT_TOKEN to the app's bot token (xoxb-…); see docs/fetch.md for the scopes",
    )


def pagerduty_token(environ: Mapping[str, str] | None = None) -> Secret:
    """The PagerDuty REST API key from ``PAGERDUTY_API_TOKEN``; :class:`CredentialError` if unset."""
    value = _env(environ).get(PAGERDUTY_TOKEN_VAR, "").strip()
    if not value:
        raise CredentialError(
            "pagerduty",
            "no token: set PAGERDUTY_API_TOKEN to a read-only REST API key (user or account); see docs/fetch.md",
        )
    return Secret(value)


def slack_base_url(
    option: str | None = None, environ: Mapping[str, str] | None = None
) -> str | None:
    """``--slack-base-url`` if given, else ``$PIA_SLACK_BASE_URL``, else None (Slack itself).

    The Slack client joins method names straight onto the base URL, so it ends in ``/``.
    """
    value = option or _env(environ).get(SLACK_BASE_URL_VAR) or None
    if value and not value.endswith("/"):
        value += "/"
    return value


def pagerduty_base_url(
    option: str | None = None, environ: Mapping[str, str] | None = None
) -> str | None:
    """``--pagerduty-base-url`` if given, else ``$PIA_PAGERDUTY_BASE_URL``, else None
    (``https://api.pagerduty.com``; EU accounts use ``https://api.eu.pagerduty.com``)."""
    value = option or _env(environ).get(PAGERDUTY_BASE_URL_VAR) or None
    if value and not value.startswith("https://"):
        raise FetchError(
            "pagerduty",
            f"base URL {value!r} must start with https:// (the client refuses plain http)",
        )
    return value.rstrip("/") if value else None


def pagerduty_tls(environ: Mapping[str, str] | None = None) -> ssl.SSLContext | None:
    """A TLS context for the PagerDuty client when ``REQUESTS_CA_BUNDLE`` names a CA and
    ``SSL_CERT_FILE`` does not (httpx2 reads ``SSL_CERT_FILE``/``SSL_CERT_DIR`` but not the
    requests variable); the bundle is loaded together with ``SSL_CERT_DIR``, if set.

    None means "the client's default", which honours ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``.
    """
    env = _env(environ)
    if env.get("SSL_CERT_FILE"):
        return None
    bundle = env.get("REQUESTS_CA_BUNDLE") or env.get("CURL_CA_BUNDLE")
    if not bundle:
        return None
    directory = env.get("SSL_CERT_DIR") or None
    try:
        if os.path.isdir(bundle):
            return ssl.create_default_context(capath=bundle)
        return ssl.create_default_context(cafile=bundle, capath=directory)
    except (OSError, ssl.SSLError) as error:
        raise FetchError("pagerduty", f"cannot load the CA bundle {bundle}: {error}") from None
