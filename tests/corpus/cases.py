"""The bad-input corpus: broken and hostile files for every reader and config file, each with
the outcome expected of it. ``handled`` means the command succeeds (the input is kept, skipped
or ignored); ``error`` means exit code 2 with one line that names the file and contains
``expect``. Each case writes its files over a small good snapshot (see ``test_corpus.py``).
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Callable

DAY = "slack/inc-1/2026-03-14.json"
USERS = "slack/users.json"
CHANNELS = "slack/channels.json"
LOG = "pagerduty/log_entries.json"
INCIDENT = "pagerduty/incident.json"
TOML = "incident.toml"
PIA_TOML = "../../pia.toml"  # the data dir's config, beside incidents/

MESSAGE = {"type": "message", "user": "U1", "text": "hello", "ts": "1773497100.000100"}
ENTRY = {"id": "R1", "type": "trigger_log_entry", "created_at": "2026-03-14T14:04:00Z", "summary": "Triggered"}


@dataclass
class Case:
    name: str
    files: dict[str, bytes | str | object]
    expect: str = ""  # "" = handled; else a fragment of the one-line error
    command: str = "timeline"  # timeline, metrics, import
    zip_members: dict[str, bytes] | None = None
    remove: list[str] = field(default_factory=list)
    import_args: list[str] = field(default_factory=list)
    channel: str = "inc-1"

    @property
    def outcome(self) -> str:
        return "error" if self.expect else "handled"


def day(*messages: object) -> list[object]:
    return list(messages)


def msg(**changes: object) -> dict[str, object]:
    return {**MESSAGE, **changes}


def log(*entries: object) -> dict[str, object]:
    return {"log_entries": list(entries)}


def entry(**changes: object) -> dict[str, object]:
    return {**ENTRY, **changes}


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def zip_bomb() -> bytes:
    """64 MB of zeros in a zip of a few tens of kB (made at run time, never committed)."""
    return zip_of({"users.json": b"[]", "inc-1/2026-03-14.json": b"[" + b" " * (64 * 1024**2) + b"]"})


def export(channels: object = None, extra: dict[str, bytes] | None = None) -> bytes:
    members = {
        "users.json": json.dumps([{"id": "U1", "name": "ana"}]).encode(),
        "channels.json": json.dumps(channels if channels is not None else [{"id": "C1", "name": "inc-1"}]).encode(),
        "inc-1/2026-03-14.json": json.dumps([MESSAGE]).encode(),
    }
    return zip_of({**members, **(extra or {})})


CASES: list[Case] = [
    # Slack day files
    Case("day: malformed JSON", {DAY: "[{"}, "malformed JSON"),
    Case("day: empty file", {DAY: ""}, "line 1 column 1: malformed JSON"),
    Case("day: an object", {DAY: {"messages": []}}, "a day file must be a JSON list of messages, not an object"),
    Case("day: a string", {DAY: "\"hello\""}, "a day file must be a JSON list of messages, not a string"),
    Case("day: null", {DAY: "null"}, "a day file must be a JSON list of messages, not null"),
    Case("day: numbers", {DAY: [1, 2]}, "message 0: is a int, not an object"),
    Case("day: message without ts", {DAY: day({"type": "message", "text": "x"})}, "message 0: has no 'ts'"),
    Case("day: ts a number", {DAY: day(msg(ts=1773497100.0001))}, "is not a Slack timestamp string"),
    Case("day: ts a word", {DAY: day(msg(ts="noon"))}, "ts 'noon' is not a Slack timestamp"),
    Case("day: ts negative", {DAY: day(msg(ts="-1.000000"))}, "is not a Slack timestamp"),
    Case("day: ts past 2262", {DAY: day(msg(ts="9999999999.000000"))}, "is out of range"),
    Case("day: ts with spaces", {DAY: day(msg(ts=" 1773497100.000100"))}, "is not a Slack timestamp"),
    Case("day: not UTF-8", {DAY: b"\xff\xfe[]"}, "not UTF-8 text"),
    Case("day: byte-order mark", {DAY: b"\xef\xbb\xbf" + json.dumps([MESSAGE]).encode()}),
    Case("day: nested 100,000 deep", {DAY: "[" * 100_000 + "]" * 100_000}, "JSON nested too deeply to read"),
    Case("day: a 5 MB message", {DAY: day(msg(text="x" * 5_000_000))}),
    Case("day: unknown subtype", {DAY: day(msg(subtype="huddle_thread"))}),
    Case("day: user null", {DAY: day(msg(user=None))}),
    Case("day: reactions a string", {DAY: day(msg(reactions="eyes"))}),
    Case("day: files an object", {DAY: day(msg(files={"name": "x"}))}),
    Case("day: attachments of numbers", {DAY: day(msg(text="", attachments=[1, 2]))}),
    Case("day: same ts in two day files", {"slack/inc-1/2026-03-15.json": day(MESSAGE)}),
    Case("day: a file that is not a day", {"slack/inc-1/notes.txt": "scratch"}),
    Case("day: deletion of an unknown message", {DAY: day(MESSAGE, {"type": "message", "subtype": "message_deleted", "ts": "1773497200.000000", "deleted_ts": "1.000000"})}),
    Case("day: reply older than its parent", {DAY: day(msg(ts="1773497000.000100", thread_ts="1773497100.000100"), MESSAGE)}),
    Case("day: lone surrogate", {DAY: '[{"type": "message", "user": "U1", "ts": "1773497100.000100", "text": "\\ud800 oops"}]'}),
    Case("day: right-to-left and zero-width", {DAY: day(msg(text="\u202egnp.exe\u200b"))}),
    Case("day: HTML and script", {DAY: day(msg(text="<script>alert(1)</script>"))}),
    Case("day: channel folder with no day files", {"slack/empty-channel/readme.md": "x"}),
    # users.json and channels.json
    Case("users: malformed", {USERS: "[{"}, "users.json: line 1 column 3: malformed JSON"),
    Case("users: an object", {USERS: {"members": []}}, "users.json: expected a JSON list of users"),
    Case("users: user without id", {USERS: [{"name": "x"}]}, "user 0: is not a user object with a string 'id'"),
    Case("users: profile a string", {USERS: [{"id": "U1", "profile": "Ana"}]}),
    Case("users: bot without profile", {USERS: [{"id": "U1", "is_bot": True}]}),
    Case("channels: malformed", {CHANNELS: "{"}, "channels.json: line 1 column 2: malformed JSON"),
    Case("channels: an object", {CHANNELS: {"channels": []}}, "channels.json: expected a JSON list of channels"),
    Case("channels: entries without id", {CHANNELS: [{"name": "inc-1"}, 5]}),
    # PagerDuty
    Case("log: malformed", {LOG: "{\"log_entries\": ["}, "log_entries.json: line 1 column 18: malformed JSON"),
    Case("log: a list", {LOG: [ENTRY]}, "log_entries.json: expected an object with a 'log_entries' list"),
    Case("log: entries null", {LOG: {"log_entries": None}}, "expected an object with a 'log_entries' list"),
    Case("log: entry without created_at", {LOG: log({"type": "trigger_log_entry"})}, "log_entries[0]: has no 'created_at'"),
    Case("log: entry without type", {LOG: log({"created_at": "2026-03-14T14:04:00Z"})}, "log_entries[0]: has no 'type'"),
    Case("log: time without offset", {LOG: log(entry(created_at="2026-03-14T14:04:00"))}, "has no UTC offset (add Z or +00:00)"),
    Case("log: time that is not a time", {LOG: log(entry(), entry(created_at="tomorrow+00:00"))}, "log_entries[1]: timestamp 'tomorrow+00:00' is not an ISO 8601 time"),
    Case("log: created_at a number", {LOG: log(entry(created_at=1773497100))}, "log_entries[0]: has no 'created_at'"),
    Case("log: entry a string", {LOG: log("trigger")}, "log_entries[0]: is not an object"),
    Case("log: assignees a string", {LOG: log(entry(type="assign_log_entry", assignees="Ana"))}),
    Case("log: unknown type", {LOG: log(entry(type="urgency_change_log_entry"))}),
    Case("log: missing beside incident.json", {INCIDENT: {"incident": {"id": "P1"}}}, "log_entries.json: missing: a PagerDuty snapshot needs log_entries.json", remove=[LOG]),
    Case("incident: malformed", {INCIDENT: "{"}, "incident.json: line 1 column 2: malformed JSON"),
    Case("incident: no id", {INCIDENT: {"incident": {"title": "x"}}}, "incident.json: incident.id: is missing"),
    Case("incident: bad created_at", {INCIDENT: {"incident": {"id": "P1", "created_at": "soon+00:00"}}}, "incident.created_at: timestamp 'soon+00:00' is not an ISO 8601 time"),
    Case("notes: a list", {"pagerduty/notes.json": []}, "notes.json: expected an object with a 'notes' list"),
    Case("notes: note without time", {"pagerduty/notes.json": {"notes": [{"content": "x"}]}}, "notes[0]: is not a note with a 'created_at'"),
    Case("alerts: a string", {"pagerduty/alerts.json": "\"none\""}, "alerts.json: expected an object with an 'alerts' list"),
    # incident.toml
    Case("incident.toml: malformed", {TOML: "id = \n"}, "incident.toml: line 1, column 6: malformed TOML"),
    Case("incident.toml: another id", {TOML: 'id = "other"\n'}, "incident.toml: id: is 'other' but the folder is 'inc'"),
    Case("incident.toml: milestone without offset", {TOML: 'id = "inc"\n[milestones]\nimpact_start = "2026-03-14T14:00:00"\n'}, "incident.toml: milestones.impact_start", "metrics"),
    Case("incident.toml: unknown milestone", {TOML: 'id = "inc"\n[milestones]\nfixed = "2026-03-14T14:00:00Z"\n'}, "incident.toml: milestones.fixed", "metrics"),
    Case("incident.toml: people not a table", {TOML: 'id = "inc"\npeople = "Ana"\n'}, "incident.toml: people", "metrics"),
    # pia.toml
    Case("pia.toml: malformed", {PIA_TOML: "[rules\n"}, "pia.toml: line 1", "metrics"),
    Case("pia.toml: unknown table", {PIA_TOML: "[colours]\nred = 1\n"}, "pia.toml: colours: unknown table", "metrics"),
    Case("pia.toml: rule that is not a regex", {PIA_TOML: '[rules.broken]\nlabel = "hypothesis"\npattern = "(unclosed"\n'}, "pia.toml: rules.broken", "metrics"),
    Case("pia.toml: duration of an unknown milestone", {PIA_TOML: '[durations.time_to_coffee]\nfrom = "detected"\nto = "coffee"\n'}, "pia.toml: durations.time_to_coffee", "metrics"),
    Case("pia.toml: secret that is not a regex", {PIA_TOML: '[secrets.bad]\npattern = "[a-"\n'}, "pia.toml: secrets.bad.pattern: not a valid regular expression"),
    # workspace exports (pia import slack-export)
    Case("export: member with ../", {}, "unsafe path in the archive", "import", zip_members={"../../evil.json": b"[]"}),
    Case("export: absolute member", {}, "unsafe path in the archive", "import", zip_members={"/tmp/evil.json": b"[]"}),
    Case("export: zip bomb", {}, "refusing a likely zip bomb", "import", zip_members={"bomb": b""}),
    Case("export: not a zip", {}, "not a folder or a zip file", "import", zip_members={"not a zip": b""}),
    Case("export: channel named ../../x", {}, "cannot be a folder name", "import", zip_members={"channels": b""}, channel="../../x"),
    Case("export: incident id ../escape", {}, "cannot be a folder name", "import", zip_members={}, import_args=["--incident", "../escape"]),
    Case("export: good one", {}, "", "import", zip_members={}),
]

#: how the special export cases build their archive
EXPORTS: dict[str, Callable[[], bytes]] = {
    "bomb": zip_bomb,
    "not a zip": lambda: b"PK\x03\x04 this is not really a zip",
    "channels": lambda: export(channels=[{"id": "C1", "name": "../../x"}]),
}
