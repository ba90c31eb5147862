"""The bad-input corpus: broken and hostile files for every reader and config file, each with
the outcome expected of it. ``handled`` means the command succeeds (the input is kept, skipped
or ignored); ``error`` means exit code 2 with one line that names the file and contains
``expect``. Each case writes its files over a small good snapshot (see ``test_corpus.py``).
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

DAY = "slack/inc-1/2026-03-14.json"
USERS = "slack/users.json"
CHANNELS = "slack/channels.json"
LOG = "pagerduty/log_entries.json"
INCIDENT = "pagerduty/incident.json"
TOML = "incident.toml"
MANIFEST = "manifest.json"
PIA_TOML = "../../pia.toml"  # the data dir's config, beside incidents/

MESSAGE = {"type": "message", "user": "U1", "text": "hello", "ts": "1773497100.000100"}
ENTRY = {"id": "R1", "type": "trigger_log_entry", "created_at": "2026-03-14T14:04:00Z", "summary": "Triggered"}


@dataclass(frozen=True)
class Link:
    """A symbolic link to ``target``, a file the runner puts beside the data dir (outside it)."""

    target: str = "outside.json"


@dataclass(frozen=True)
class Sparse:
    """A file of ``size`` bytes that takes no room on disk (a hole), to try the size limits."""

    size: int


@dataclass
class Case:
    name: str
    files: dict[str, bytes | str | object]
    expect: str = ""  # "" = handled; else a fragment of the one-line error
    command: str = "timeline"  # timeline, metrics, validate, import
    zip_members: dict[str, bytes] | None = None
    remove: list[str] = field(default_factory=list)  # files or folders of the good snapshot
    import_args: list[str] = field(default_factory=list)
    channel: str = "inc-1"
    export: Callable[[Path], Path] | None = None  # builds the export to import, in a folder
    incident: str = "inc"  # the id the command is given (a folder of that name is the case's to write)

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


def patched(archive: bytes, member: str, **fields: int) -> bytes:
    """``archive`` with header fields of ``member`` overwritten in both its local header and
    the central directory: ``size`` (declared uncompressed size), ``flags``, ``method``."""
    data = bytearray(archive)
    # offsets of the fields after each header's signature: local header, central directory
    layout = {b"PK\x03\x04": (26, 30, {"flags": (6, "<H"), "method": (8, "<H"), "size": (22, "<I")}),
              b"PK\x01\x02": (28, 46, {"flags": (8, "<H"), "method": (10, "<H"), "size": (24, "<I")})}
    for signature, (name_length, name_start, offsets) in layout.items():
        at = data.find(signature)
        while at != -1:
            length = struct.unpack("<H", data[at + name_length : at + name_length + 2])[0]
            if data[at + name_start : at + name_start + length] == member.encode():
                for key, value in fields.items():
                    offset, fmt = offsets[key]
                    data[at + offset : at + offset + struct.calcsize(fmt)] = struct.pack(fmt, value)
            at = data.find(signature, at + 4)
    return bytes(data)


def to_file(data: Callable[[], bytes], name: str = "export.zip") -> Callable[[Path], Path]:
    def build(where: Path) -> Path:
        (where / name).write_bytes(data())
        return where / name

    return build


def export_folder(where: Path) -> Path:
    """An export folder whose day file is a link to a file outside it."""
    folder = where / "export"
    (folder / "inc-1").mkdir(parents=True)
    (folder / "users.json").write_text("[]")
    (folder / "channels.json").write_text(json.dumps([{"id": "C1", "name": "inc-1"}]))
    (where / "outside.json").write_text(json.dumps([MESSAGE]))
    (folder / "inc-1" / "2026-03-14.json").symlink_to(where / "outside.json")
    return folder


DAY_BYTES = json.dumps([MESSAGE]).encode()


def bz2_export() -> bytes:
    """A good export whose members are compressed with bzip2 and lzma (both readable)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("users.json", b"[]", zipfile.ZIP_BZIP2)
        archive.writestr("channels.json", b'[{"id": "C1", "name": "inc-1"}]', zipfile.ZIP_LZMA)
        archive.writestr("inc-1/2026-03-14.json", DAY_BYTES, zipfile.ZIP_BZIP2)
    return buffer.getvalue()


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
    Case("export: member declared small, expanding large", {}, "2026-03-15.json: cannot be read from the zip, it is damaged", "import",
         export=to_file(lambda: patched(export(extra={"inc-1/2026-03-15.json": b"[" + b" " * 4_000_000 + b"]"}), "inc-1/2026-03-15.json", size=100))),
    Case("export: member declared at 300 MB", {}, "refusing a likely zip bomb", "import",
         export=to_file(lambda: patched(export(), "inc-1/2026-03-14.json", size=300 * 1024**2))),
    Case("export: damaged deflate stream", {}, "cannot be read from the zip, it is damaged", "import",
         export=to_file(lambda: export().replace(zlib.compress(DAY_BYTES)[2:12], bytes(10)))),
    Case("export: encrypted member", {}, "users.json: encrypted: export again without a password", "import",
         export=to_file(lambda: patched(export(), "users.json", flags=1))),
    Case("export: unsupported compression", {}, "compressed with method 9", "import",
         export=to_file(lambda: patched(export(), "users.json", method=9))),
    Case("export: truncated zip", {}, "export.zip: not a folder or a zip file", "import", export=to_file(lambda: export()[:-40])),
    Case("export: member with ..\\ (Windows)", {}, "unsafe path in the archive", "import", zip_members={"..\\..\\evil.json": b"[]"}),
    Case("export: member with a drive letter", {}, "unsafe path in the archive", "import", zip_members={"C:/evil.json": b"[]"}),
    Case("export: folder with a link out of it", {}, "a link out of the export folder", "import", export=export_folder),
    Case("export: no such channel", {}, "export.zip: no channel 'inc-9' in the export (channels: inc-1)", "import", channel="inc-9"),
    Case("export: channels.json an object", {}, "", "import", export=to_file(lambda: export(channels={"inc-1": "C1"}))),
    Case("export: bzip2 and lzma members", {}, "", "import",
         export=to_file(bz2_export)),
    Case("export: --since after --until", {}, "", "import", import_args=["--incident", "imported", "--since", "2026-03-15T00:00:00Z", "--until", "2026-03-14T00:00:00Z"]),
    Case("export: --since without offset", {}, "--since", "import", import_args=["--incident", "imported", "--since", "2026-03-14T00:00:00"]),
    # a snapshot that holds its Slack export as slack.zip
    Case("slack.zip: member with ../", {"slack.zip": zip_of({"../x.json": b"[]"})}, "slack.zip: ../x.json: unsafe path in the archive", remove=["slack"]),
    Case("slack.zip: zip bomb", {"slack.zip": lambda: zip_bomb()}, "slack.zip: inc-1/2026-03-14.json: expands to", remove=["slack"]),
    Case("slack.zip: not a zip", {"slack.zip": b"PK\x05\x06" + bytes(10)}, "slack.zip: not a folder or a zip file", remove=["slack"]),
    Case("slack.zip: a good one", {"slack.zip": lambda: export()}, remove=["slack"]),
    Case("slack/: a day file linking out of the snapshot", {DAY: Link()}, "2026-03-14.json: a link out of the snapshot"),
    Case("slack/: a link that leads nowhere", {"slack/inc-1/2026-03-16.json": Link("missing.json")}),
    # more day files
    Case("day: UTF-16", {DAY: json.dumps([MESSAGE]).encode("utf-16")}, "2026-03-14.json: byte 0: not UTF-8 text"),
    Case("day: NaN and Infinity", {DAY: '[{"type": "message", "user": "U1", "ts": "1773497100.000100", "text": NaN, "edited": Infinity}]'}),
    Case("day: ts NaN", {DAY: '[{"type": "message", "user": "U1", "ts": NaN}]'}, "2026-03-14.json: message 0: ts nan is not a Slack timestamp string"),
    Case("day: duplicate keys", {DAY: '[{"ts": "1773497100.000100", "ts": "1773497101.000100", "type": "message", "user": "U1"}]'}),
    Case("day: the same message twice", {DAY: day(MESSAGE, MESSAGE)}),
    Case("day: an edit whose message is a string", {DAY: day(msg(subtype="message_changed", message="hello", previous_message=5))}),
    Case("day: thread_ts garbage", {DAY: day(msg(thread_ts="not-a-ts"), msg(ts="1773497200.000000", thread_ts=["x"]))}),
    Case("day: 20,000 messages", {DAY: day(*(msg(ts=f"17734{i:05d}.000100", text=f"m{i} <@U1> <#C1>") for i in range(20_000)))}),
    Case("day: invalid date in the name", {"slack/inc-1/2026-13-45.json": day(msg(ts="1773497300.000000"))}),
    # more users and channels
    Case("users: not UTF-8", {USERS: b"[\xc3\x28]"}, "users.json: byte 1: not UTF-8 text"),
    Case("users: null", {USERS: "null"}, "users.json: expected a JSON list of users"),
    Case("users: the same id twice", {USERS: [{"id": "U1", "name": "ana"}, {"id": "U1", "name": "bea"}]}),
    Case("users: names with RTL and zero-width", {USERS: [{"id": "U1", "name": "\u202eana\u200b", "profile": {"display_name": "   "}}]}),
    Case("channels: null", {CHANNELS: "null"}, "channels.json: expected a JSON list of channels"),
    # more PagerDuty
    Case("log: entries empty", {LOG: log()}),
    Case("log: time past 2262", {LOG: log(entry(created_at="2999-01-01T00:00:00Z"))}, "log_entries[0]: timestamp '2999-01-01T00:00:00Z' is not an ISO 8601 time"),
    Case("log: agent type a list", {LOG: log(entry(agent={"id": "P1", "type": ["user_reference"]}))}),
    Case("log: one entry as log_entry", {LOG: {"log_entry": ENTRY}}),
    Case("incident: a list", {INCIDENT: [{"id": "P1"}]}, "incident.json: expected an object with an 'incident' object"),
    Case("incident: created_at without offset", {INCIDENT: {"incident": {"id": "P1", "created_at": "2026-03-14T14:00:00"}}}, "incident.json: incident.created_at: timestamp"),
    Case("incident: odd field types", {INCIDENT: {"incident": {"id": "P1", "title": ["x"], "service": "svc", "incident_number": {"n": 1}, "html_url": 5}}}),
    Case("notes: content an object", {"pagerduty/notes.json": {"notes": [{"created_at": "2026-03-14T14:06:00Z", "content": {"x": 1}, "user": "ana"}]}}),
    Case("alerts: created_at a number", {"pagerduty/alerts.json": {"alerts": [{"created_at": 5}]}}, "alerts.json: alerts[0]: is not an alert with a 'created_at'"),
    Case("alerts: malformed", {"pagerduty/alerts.json": '{"alerts": [}'}, "alerts.json: line 1 column 13: malformed JSON"),
    # more incident.toml
    Case("incident.toml: not UTF-8", {TOML: b'id = "inc"\ntitle = "\xff"\n'}, "incident.toml: byte 20: not UTF-8 text"),
    Case("incident.toml: id of the wrong type", {TOML: "id = 5\n"}, "incident.toml: id: is 5 but the folder is 'inc'"),
    Case("incident.toml: fields of the wrong types", {TOML: 'id = "inc"\ntitle = ["a"]\nseverity = 1\nservices = "auth"\nslack_channels = "inc-1"\ncommander = 5\n'}),
    Case("incident.toml: milestones not a table", {TOML: 'id = "inc"\nmilestones = 3\n'}, "incident.toml: milestones: must be a table", "metrics"),
    # manifest.json (pia validate)
    Case("manifest: malformed", {MANIFEST: "{"}, "manifest.json: line 1 column 2: malformed JSON", "validate"),
    Case("manifest: files a list", {MANIFEST: {"files": ["incident.toml"]}}, "manifest.json: expected an object with a 'files' table", "validate"),
    Case("manifest: a file changed", {MANIFEST: {"files": {"incident.toml": {"sha256": "0" * 64, "size": 1}}}}, "incident.toml: changed since the manifest was written", "validate"),
    Case("manifest: lists a file outside", {MANIFEST: {"files": {"../../../../outside.json": {"sha256": "0" * 64, "size": 1}}}}, "../../../../outside.json: listed in the manifest but missing", "validate"),
    Case("manifest: entries of the wrong type", {MANIFEST: {"files": {"incident.toml": "abc", "x": None}}}, "incident.toml: changed since the manifest was written", "validate"),
    # more pia.toml and rules
    Case("pia.toml: not UTF-8", {PIA_TOML: b"[rules]\n# \xff\n"}, "pia.toml: byte 10: not UTF-8 text", "metrics"),
    Case("pia.toml: rule with a capturing group", {PIA_TOML: '[rules.grp]\nlabel = "hypothesis"\npattern = "(db|cache) is down"\n'}, "pia.toml: rules.grp.pattern: has a capturing group", "metrics"),
    Case("pia.toml: rule of an unknown label", {PIA_TOML: '[rules.x]\nlabel = "coffee"\npattern = "brew"\n'}, "pia.toml: rules.x.label: unknown label 'coffee'", "metrics"),
    Case("pia.toml: rule a string", {PIA_TOML: '[rules]\nx = "brew"\n'}, "pia.toml: rules.x: must be a table with label and pattern", "metrics"),
    # hostile snapshots: links out, files too large, names pia cannot use
    Case("links: notes.json linking out of the snapshot", {"pagerduty/notes.json": Link()}, "notes.json: a link out of the snapshot"),
    Case("links: log_entries.json linking out of the snapshot", {LOG: Link()}, "log_entries.json: a link out of the snapshot"),
    Case("links: incident.toml linking out of the snapshot", {TOML: Link()}, "incident.toml: a link out of the snapshot"),
    Case("links: slack.zip linking out of the snapshot", {"slack.zip": Link()}, "slack.zip: a link out of the snapshot", remove=["slack"]),
    Case("links: a stray file linking out, hashed for the cache", {"pagerduty/extra.json": Link()}, "extra.json: a link out of the snapshot", "metrics"),
    Case("links: a stray file linking out, checked by validate", {"pagerduty/extra.json": Link()}, "extra.json: a link out of the snapshot", "validate"),
    Case("size: alerts.json of 4.5 GB (sparse)", {"pagerduty/alerts.json": Sparse(4_500_000_000)}, "alerts.json: 4,500,000,000 bytes, more than the"),
    Case("size: slack.zip of 4.5 GB (sparse)", {"slack.zip": Sparse(4_500_000_000)}, "slack.zip: 4,500,000,000 bytes, more than the", remove=["slack"]),
    Case("size: a 4.5 GB stray file, hashed for the cache", {"pagerduty/dump.bin": Sparse(4_500_000_000)}, "dump.bin: 4,500,000,000 bytes, more than the", "metrics"),
    Case("incident.toml: an array 50,000 deep", {TOML: 'id = "inc"\nx = ' + "[" * 50_000 + "]" * 50_000 + "\n"}, "incident.toml: TOML nested too deeply to read"),
    Case("id: a folder named like a link", {"../https:evil.example/incident.toml": 'id = "https:evil.example"\n'}, "is not a safe incident id", "validate", incident="https:evil.example"),
    Case("id: a folder named javascript:", {"../javascript:alert(1)/incident.toml": "title = 'x'\n"}, "is not a safe incident id", "validate", incident="javascript:alert(1)"),
    Case("export: an emoji channel name", {}, "", "import", channel="🚨-inc", export=to_file(lambda: export(channels=[{"id": "C1", "name": "🚨-inc"}], extra={"🚨-inc/2026-03-14.json": DAY_BYTES}))),
    Case("export: incident id of 300 characters", {}, "cannot be a folder name", "import", zip_members={}, import_args=["--incident", "a" * 300]),
    Case("pia.toml: working hours of 25", {PIA_TOML: "[working_hours]\nstart = 25\n"}, "pia.toml: working_hours.start: must be an hour 0-24", "metrics"),
]

#: how the special export cases build their archive
EXPORTS: dict[str, Callable[[], bytes]] = {
    "bomb": zip_bomb,
    "not a zip": lambda: b"PK\x03\x04 this is not really a zip",
    "channels": lambda: export(channels=[{"id": "C1", "name": "../../x"}]),
}

#: for each packaged secret pattern, text that makes a backtracking engine try every start and
#: length (a cue followed by a long run the pattern almost accepts); made at ``size`` bytes
SECRET_WORST_CASES: dict[str, Callable[[int], str]] = {
    "private_key_block": lambda n: ("-----BEGIN PRIVATE KEY BLOCK" * (n // 28 + 1))[:n],
    "gcp_private_key_id": lambda n: ('"private_key_id"' + " " * n)[:n],
    "slack_token": lambda n: ("xoxb-" + "-" * n)[:n],
    "slack_webhook": lambda n: ("https://hooks.slack.com/services/" + "/" * n)[:n],
    "pagerduty_user_token": lambda n: ("u+" * n)[:n],
    "pagerduty_key": lambda n: ("pd key" + " " * n)[:n],
    "github_token": lambda n: ("ghp_" * n)[:n],
    "aws_access_key_id": lambda n: ("AKIA" * n)[:n],
    "aws_secret": lambda n: ("aws_secret_access_key" + " " * n)[:n],
    "jwt": lambda n: ("eyJ" + "a" * 8 + "." + "eyJ" * n)[:n],
    "url_password": lambda n: ("a://" + ":" * n)[:n],
    "authorization_header": lambda n: ("Authorization:" + " " * n)[:n],
    "bearer_token": lambda n: ("bearer" + " " * n)[:n],
    "assignment": lambda n: ("password" + " " * n)[:n],
    "assignment_colon": lambda n: ("token:" + " " * (n // 2) + "&a" * n)[:n],
}
