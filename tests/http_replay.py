"""Local HTTP servers that stand in for Slack and PagerDuty in the fetch tests and benchmark.

The real clients (``slack_sdk.WebClient``, ``pagerduty.RestApiV2Client``) talk to these over
real sockets on 127.0.0.1. Each server:

- answers from state built out of recorded payloads (``../shared/fixtures/external``) and
  generated ones, paginating the way the service does (Slack cursors, PagerDuty offsets);
- logs every request it receives (``server.log``), so a test can count retries;
- injects faults queued per route: an HTTP status with headers (429 + ``Retry-After``, 500),
  a connection reset, a slow answer, a JSON body cut short (complete by its Content-Length,
  or shorter than it).

PagerDuty's client refuses plain http, so :class:`PagerDutyServer` speaks TLS with a throwaway
CA made by ``trustme``; a test trusts it the way a user trusts a corporate CA (``SSL_CERT_FILE``).
"""

from __future__ import annotations

import json
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

EXTERNAL = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "external"


def external(*parts: str) -> Path:
    """A path under the external fixtures; skips the calling test when they are absent."""
    path = EXTERNAL.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"external fixture {'/'.join(parts)} not found under ../shared/fixtures/external")
    return path


def load(*parts: str) -> Any:
    return json.loads(external(*parts).read_text())


def recorded_body(*parts: str) -> str:
    """The response body string of the first interaction of a VCR cassette (YAML)."""
    text = external(*parts).read_text()
    marker = "string: '"
    start = text.rindex(marker) + len(marker)
    return text[start : text.index("'\n", start)].replace("''", "'")


# --- faults ---------------------------------------------------------------------------------


@dataclass
class Fault:
    """One injected misbehaviour, used up by the next request to its route."""

    kind: str  # "status", "reset", "slow", "truncated", "short"
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0


def status(code: int, body: Any = None, **headers: str) -> Fault:
    raw = body if isinstance(body, bytes) else json.dumps(body if body is not None else {}).encode()
    return Fault("status", status=code, headers={k.replace("_", "-"): v for k, v in headers.items()}, body=raw)


def reset() -> Fault:
    return Fault("reset")


def slow(delay: float) -> Fault:
    return Fault("slow", delay=delay)


def truncated() -> Fault:
    """The real answer cut in half, with a Content-Length that matches the cut."""
    return Fault("truncated")


def short() -> Fault:
    """The real answer cut in half, with the Content-Length of the whole (the peer then hangs up)."""
    return Fault("short")


@dataclass
class Logged:
    method: str
    path: str
    params: dict[str, list[str]]
    headers: dict[str, str]
    at: float


# --- the server -----------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    tls: ssl.SSLContext | None = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is not None:  # handshake in the request's own thread
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out or hang up are part of the tests


class ReplayServer:
    """A threaded HTTP server on 127.0.0.1 whose answers come from :meth:`answer`."""

    tls_ca: Any = None

    def __init__(self) -> None:
        self.log: list[Logged] = []
        self.faults: dict[str, list[Fault]] = {}
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle
    def __enter__(self) -> ReplayServer:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def do_GET(self) -> None:
                owner._serve(self)

            do_POST = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.tls = self.server_tls()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def server_tls(self) -> ssl.SSLContext | None:
        return None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        scheme = "https" if self._server is not None and self._server.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    # faults and the log
    def inject(self, route: str, *faults: Fault) -> None:
        with self._lock:
            self.faults.setdefault(route, []).extend(faults)

    def requests(self, route: str | None = None) -> list[Logged]:
        with self._lock:
            return [r for r in self.log if route is None or self.route(r.path) == route]

    def route(self, path: str) -> str:
        return path

    def answer(self, method: str, path: str, params: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        raise NotImplementedError

    # one request
    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        params = parse_qs(parts.query, keep_blank_values=True)
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            body = handler.rfile.read(length).decode("utf-8", "replace")
            if "form-urlencoded" in (handler.headers.get("Content-Type") or ""):
                for key, values in parse_qs(body, keep_blank_values=True).items():
                    params.setdefault(key, []).extend(values)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        route = self.route(parts.path)
        with self._lock:
            self.log.append(Logged(handler.command, parts.path, params, headers, time.monotonic()))
            queue = self.faults.get(route) or []
            fault = queue.pop(0) if queue else None
        if fault is not None and fault.kind == "reset":
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.close_connection = True
            handler.connection.close()
            return
        if fault is not None and fault.kind == "status":
            self._send(handler, fault.status, {"Content-Type": "application/json", **fault.headers}, fault.body)
            return
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        code, extra, payload = self.answer(handler.command, parts.path, params, headers)
        raw_body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        out_headers = {"Content-Type": "application/json; charset=utf-8", **extra}
        if fault is not None and fault.kind == "truncated":
            raw_body = raw_body[: len(raw_body) // 2]
        if fault is not None and fault.kind == "short":
            half = raw_body[: len(raw_body) // 2]
            self._send(handler, code, out_headers, half, length=len(raw_body))
            handler.close_connection = True
            return
        self._send(handler, code, out_headers, raw_body)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, code: int, headers: dict[str, str], body: bytes, length: int | None = None) -> None:
        try:
            handler.send_response(code)
            for key, value in headers.items():
                handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(body) if length is None else length))
            handler.end_headers()
            handler.wfile.write(body)
            handler.wfile.flush()
        except OSError:
            handler.close_connection = True


# --- Slack ----------------------------------------------------------------------------------


def ts_of(seconds: float, seq: int = 0) -> str:
    return f"{int(seconds)}.{seq:06d}"


class SlackServer(ReplayServer):
    """The Slack Web API methods a fetch uses, over state set up by the test.

    ``channels``: channel objects; ``history[cid]``: top-level messages; ``threads[(cid, ts)]``:
    the replies of a thread; ``users``: user objects by id; ``members``: channel ids the app is
    in (others answer ``not_in_channel``). Errors use the recorded bodies (HTTP 200, ``ok:
    false``). ``omit_last_metadata`` drops ``response_metadata`` from last pages (as Slack
    sometimes does); ``list_pages`` replaces conversations.list with a fixed cursor chain.
    """

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.channels: list[dict[str, Any]] = []
        self.history: dict[str, list[dict[str, Any]]] = {}
        self.threads: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.members: set[str] = set()
        self.omit_last_metadata = True
        self.list_pages: dict[str, dict[str, Any]] | None = None
        self.scopes_missing: dict[str, str] = {}  # method -> scope it "needs"
        self._parents: dict[str, dict[str, dict[str, Any]]] = {}

    def route(self, path: str) -> str:
        return path.rsplit("/", 1)[-1]

    def add_channel(self, channel: dict[str, Any], messages: Iterable[dict[str, Any]] = (), threads: dict[str, list[dict[str, Any]]] | None = None, member: bool = True) -> None:
        self.channels.append(channel)
        self.history[channel["id"]] = sorted(messages, key=lambda m: _key(m["ts"]), reverse=True)
        self._parents[channel["id"]] = {m["ts"]: m for m in self.history[channel["id"]]}
        for parent, replies in (threads or {}).items():
            self.threads[(channel["id"], parent)] = sorted(replies, key=lambda m: _key(m["ts"]))
        if member:
            self.members.add(channel["id"])

    def remove(self, cid: str, message: dict[str, Any]) -> None:
        """Delete a message from a channel, as someone in Slack would."""
        self.history[cid].remove(message)
        self._parents[cid].pop(message["ts"], None)

    def answer(self, method: str, path: str, params: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        name = self.route(path)
        p = {k: v[-1] for k, v in params.items()}
        auth = headers.get("authorization", "")
        if not auth:
            return 200, {}, recorded_body("slack", "slack-ruby-client", "auth_test_error.yml").encode()
        if auth != f"Bearer {self.token}":
            return 200, {}, load("slack", "slackapi-slack-api-specs", "conversations.list.error_invalid_auth.json")
        if name in self.scopes_missing:
            return 200, {}, {"ok": False, "error": "missing_scope", "needed": self.scopes_missing[name], "provided": "users:read"}
        handler = getattr(self, "_" + name.replace(".", "_"), None)
        if handler is None:
            return 404, {}, {"ok": False, "error": "unknown_method"}
        return 200, {}, handler(p)

    def _page(self, items: list[Any], key: str, p: dict[str, str], default: int = 100, **extra: Any) -> dict[str, Any]:
        limit = max(1, min(int(p.get("limit") or default), 1000))
        start = int(p.get("cursor") or 0)
        chunk = items[start : start + limit]
        more = start + limit < len(items)
        body: dict[str, Any] = {"ok": True, key: chunk, **extra}
        if more:
            body["has_more"] = True
            body["response_metadata"] = {"next_cursor": str(start + limit)}
        else:
            body["has_more"] = False
            if not self.omit_last_metadata:
                body["response_metadata"] = {"next_cursor": ""}
        return body

    def _conversations_list(self, p: dict[str, str]) -> dict[str, Any]:
        if self.list_pages is not None:
            return self.list_pages[p.get("cursor") or ""]
        types = set((p.get("types") or "public_channel").split(","))
        wanted = [
            c for c in self.channels
            if ("private_channel" if c.get("is_private") else "public_channel") in types
        ]
        return self._page(wanted, "channels", p)

    def _conversations_info(self, p: dict[str, str]) -> dict[str, Any]:
        for channel in self.channels:
            if channel["id"] == p.get("channel"):
                return {"ok": True, "channel": channel}
        return load("slack", "slackapi-slack-api-specs", "conversations.history.error_channel_not_found.json")

    def _check_channel(self, cid: str | None) -> dict[str, Any] | None:
        if cid not in self.history:
            return load("slack", "slackapi-slack-api-specs", "conversations.history.error_channel_not_found.json")
        if cid not in self.members:
            return {"ok": False, "error": "not_in_channel"}
        return None

    def _conversations_history(self, p: dict[str, str]) -> dict[str, Any]:
        cid = p.get("channel")
        error = self._check_channel(cid)
        if error:
            return error
        inclusive = p.get("inclusive") in ("1", "true")
        oldest, latest = p.get("oldest"), p.get("latest")

        def keep(m: dict[str, Any]) -> bool:
            k = _key(m["ts"])
            if oldest and (k < _key(oldest) or (k == _key(oldest) and not inclusive)):
                return False
            if latest and (k > _key(latest) or (k == _key(latest) and not inclusive)):
                return False
            return True

        return self._page([m for m in self.history[cid] if keep(m)], "messages", p, pin_count=0)

    def _conversations_replies(self, p: dict[str, str]) -> dict[str, Any]:
        cid, ts = p.get("channel"), p.get("ts") or ""
        error = self._check_channel(cid)
        if error:
            return error
        parent = self._parents[cid].get(ts)
        if parent is None:
            return load("slack", "slackapi-slack-api-specs", "conversations.replies.error_thread_not_found.json")
        return self._page([parent, *self.threads.get((cid, ts), [])], "messages", p, default=1000)

    def _users_info(self, p: dict[str, str]) -> dict[str, Any]:
        user = self.users.get(p.get("user") or "")
        if user is None:
            return load("slack", "slackapi-slack-api-specs", "users.info.error_user_not_found.json")
        return {"ok": True, "user": user}

    def _users_list(self, p: dict[str, str]) -> dict[str, Any]:
        return self._page(list(self.users.values()), "members", p, default=200, cache_ts=0)


def _key(ts: str) -> tuple[int, int]:
    seconds, _, micros = ts.partition(".")
    return int(seconds), int((micros + "000000")[:6])


def fixture_users() -> list[dict[str, Any]]:
    """The two members of Slack's own users.list example."""
    return load("slack", "slackapi-slack-api-specs", "users.list.200.json")["members"]


#: the people of a generated channel
GENERATED_USERS = ["W012A3CDE", "W07QCRPA4", "U0GEN0001", "U0GEN0002"]


def generated_users(ids: list[str] = GENERATED_USERS) -> list[dict[str, Any]]:
    """User objects of the shape users.list gives, made up: for tests that need nothing beside
    the checkout."""
    return [
        {"id": uid, "team_id": "T0001", "name": f"user{n}", "real_name": f"User {n}", "deleted": False, "is_bot": False,
         "profile": {"display_name": f"user{n}", "real_name": f"User {n}"}}
        for n, uid in enumerate(ids)
    ]


def generated_channel(
    cid: str,
    name: str,
    *,
    messages: int,
    threads: int,
    start: datetime,
    step: timedelta = timedelta(seconds=7),
    users: list[str] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """A channel of ``messages`` messages in all, ``threads`` of the top-level ones starting a
    thread; the replies (spread evenly) are part of the count. One reply per thread with 3 or
    more replies is broadcast to the channel, as people do. Returns (channel, top, threads)."""
    users = users or GENERATED_USERS
    per_thread = (messages - threads) // (threads + 1) if threads else 0
    replies_total = per_thread * threads
    top_count = messages - replies_total
    base = start.timestamp()
    top: list[dict[str, Any]] = []
    thread_map: dict[str, list[dict[str, Any]]] = {}
    gap = max(1, top_count // max(threads, 1))
    for i in range(top_count):
        ts = ts_of(base + i * step.total_seconds(), i % 1_000_000)
        user = users[i % len(users)]
        text = f"message {i}" + (f" cc <@{users[(i + 1) % len(users)]}>" if i % 10 == 0 else "")
        top.append({"type": "message", "user": user, "text": text, "ts": ts, "team": "T0001"})
    for t in range(threads):
        parent = top[t * gap]
        replies = []
        for r in range(per_thread):
            seconds = _key(parent["ts"])[0] + 1 + r
            reply = {
                "type": "message",
                "user": users[(t + r) % len(users)],
                "text": f"reply {r} in thread {t}",
                "ts": ts_of(seconds, 500_000 + (t * 97 + r) % 499_999),
                "thread_ts": parent["ts"],
                "parent_user_id": parent["user"],
            }
            if r == 2:
                reply["subtype"] = "thread_broadcast"
            replies.append(reply)
        if replies:
            parent.update(
                thread_ts=parent["ts"],
                reply_count=len(replies),
                reply_users=sorted({r["user"] for r in replies}),
                reply_users_count=len({r["user"] for r in replies}),
                latest_reply=replies[-1]["ts"],
                subscribed=True,
                last_read=replies[-1]["ts"],
            )
            thread_map[parent["ts"]] = replies
    broadcasts = [dict(r) for rs in thread_map.values() for r in rs if r.get("subtype") == "thread_broadcast"]
    channel = {"id": cid, "name": name, "is_channel": True, "is_private": False, "created": int(base) - 60, "name_normalized": name}
    return channel, top + broadcasts, thread_map


# --- PagerDuty ------------------------------------------------------------------------------


class PagerDutyServer(ReplayServer):
    """The REST API v2 paths a fetch uses, over TLS, with classic offset pagination (and the
    API's 10,000-record ceiling on offset + limit)."""

    def __init__(self, token: str, ca: Any) -> None:
        super().__init__()
        self.token = token
        self.ca = ca
        self.incidents: dict[str, dict[str, Any]] = {}
        self.log_entries: dict[str, list[dict[str, Any]]] = {}
        self.notes: dict[str, list[dict[str, Any]]] = {}
        self.alerts: dict[str, list[dict[str, Any]]] = {}
        self.forbidden: set[str] = set()
        self._times: dict[str, tuple[str, Any]] = {}

    def server_tls(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        return context

    def route(self, path: str) -> str:
        parts = path.strip("/").split("/")
        if len(parts) >= 2 and parts[0] == "incidents":
            parts[1] = "{id}"
        return "/" + "/".join(parts)

    def add_incident(self, incident: dict[str, Any], log_entries: list[dict[str, Any]] = (), notes: list[dict[str, Any]] = (), alerts: list[dict[str, Any]] = ()) -> None:  # type: ignore[assignment]
        self.incidents[incident["id"]] = incident
        self.log_entries[incident["id"]] = list(log_entries)
        self.notes[incident["id"]] = list(notes)
        self.alerts[incident["id"]] = list(alerts)

    def answer(self, method: str, path: str, params: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        if headers.get("authorization") != f"Token token={self.token}":
            return 401, {}, {"error": {"message": "Unauthorized", "code": 2006}}
        parts = path.strip("/").split("/")
        if parts[0] != "incidents":
            return 404, {}, {"error": load("pagerduty", "pagerduty-api-schema", "error.object.example.json")}
        if len(parts) == 1:
            return self._list(params)
        incident = parts[1]
        if incident in self.forbidden:
            return 403, {}, {"error": {"message": "Access Denied", "code": 2010}}
        if incident not in self.incidents:
            return 404, {}, {"error": load("pagerduty", "pagerduty-api-schema", "error.object.example.json")}
        if len(parts) == 2:
            return 200, {}, {"incident": self.incidents[incident]}
        what = parts[2]
        if what == "notes":
            return 200, {}, {"notes": self.notes[incident]}
        if what == "log_entries":
            return self._classic(self.log_entries[incident], "log_entries", params)
        if what == "alerts":
            return self._classic(self.alerts[incident], "alerts", params)
        return 404, {}, {"error": {"message": "Not Found", "code": 2100}}

    def _created(self, incident: dict[str, Any]) -> datetime:
        cached = self._times.get(incident["id"])
        if cached is None or cached[0] != incident["created_at"]:
            cached = self._times[incident["id"]] = (incident["created_at"], _parse(incident["created_at"]))
        return cached[1]

    def _classic(self, items: list[Any], key: str, params: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        limit = int(params.get("limit", ["25"])[-1])
        offset = int(params.get("offset", ["0"])[-1])
        if offset + limit > 10_000:
            return 400, {}, {"error": {"message": "Invalid Input Provided", "code": 2001, "errors": ["Offset must be less than 10000."]}}
        chunk = items[offset : offset + limit]
        body: dict[str, Any] = {key: chunk, "limit": limit, "offset": offset, "more": offset + limit < len(items)}
        if params.get("total", ["false"])[-1] == "true":
            body["total"] = len(items)
        else:
            body["total"] = None
        return 200, {}, body

    def _list(self, params: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        since = _parse(params.get("since", [""])[-1])
        until = _parse(params.get("until", [""])[-1])
        services = set(params.get("service_ids[]", []))
        found = [
            i for i in self.incidents.values()
            if (since is None or self._created(i) >= since)
            and (until is None or self._created(i) < until)
            and (not services or i.get("service", {}).get("id") in services)
        ]
        found.sort(key=self._created)
        return self._classic(found, "incidents", params)


def _parse(value: str) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


def pd_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def generated_incident(number: int, created: datetime, *, resolved: datetime | None, service: str = "PSVC001", description: str = "") -> dict[str, Any]:
    """An incident shaped like the API schema's incidents.list example, with our times."""
    template = load("pagerduty", "pagerduty-api-schema", "incidents.list.200.json")["incidents"][0]
    pd_id = f"PINC{number:05d}"
    incident = json.loads(json.dumps(template))
    incident.update(
        id=pd_id,
        incident_number=number,
        title=f"Incident {number}",
        summary=f"[#{number}] Incident {number}",
        description=description or f"Incident {number}",
        created_at=pd_time(created),
        status="resolved" if resolved else "triggered",
        resolved_at=pd_time(resolved) if resolved else None,
        last_status_change_at=pd_time(resolved or created),
        self=f"https://api.pagerduty.com/incidents/{pd_id}",
        html_url=f"https://subdomain.pagerduty.com/incidents/{pd_id}",
    )
    incident["service"] = dict(incident["service"], id=service)
    return incident


def generated_log(incident: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """``count`` log entries: a trigger, an acknowledge, then annotations, then (if resolved) a resolve."""
    created = _parse(incident["created_at"])
    assert created is not None
    out = []
    for i in range(count):
        kind = "trigger" if i == 0 else "acknowledge" if i == 1 else "annotate"
        if i == count - 1 and incident.get("resolved_at") and count > 2:
            kind = "resolve"
        agent = (
            {"id": "PSVC001", "type": "service_reference", "summary": "Mail"}
            if kind == "trigger"
            else {"id": "PUSER01", "type": "user_reference", "summary": "Earline Greenholt"}
        )
        out.append(
            {
                "id": f"R{incident['id']}{i:04d}",
                "type": f"{kind}_log_entry",
                "summary": f"{kind.title()} {i}",
                "created_at": pd_time(created + timedelta(minutes=i)),
                "agent": agent,
                "channel": {"type": "api" if kind == "trigger" else "website"},
                "incident": {"id": incident["id"], "type": "incident_reference"},
            }
        )
    return out


def trusting(ca: Any, path: Path, setenv: Callable[[str, str], None]) -> Path:
    """Write the CA to ``path`` and point ``SSL_CERT_FILE`` at it, as a user with a private CA would."""
    ca.cert_pem.write_to_path(str(path))
    setenv("SSL_CERT_FILE", str(path))
    return path
