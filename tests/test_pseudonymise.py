"""Pseudonymised sharing: with ``--pseudonymise`` no output names anybody.

The names looked for are every form the snapshot holds: Slack display names, real names and
user names, PagerDuty users (who acted, who was notified or assigned), and each first or last
name of four letters or more on its own.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pia.batch import run_batch
from pia.cli import main
from pia.privacy import shareable_events
from pia.privacy.pseudonyms import Pseudonyms, for_incident, pagerduty_people
from pia.events.slack import Directory
from pia.report.review import SECTIONS, Review
from pia.snapshot import list_incidents, open_incident

from conftest import DATA

SAMPLE = "2026-11-20-login-outage"
#: the review's sections with text, by the method that draws each (the timeline is a chart of
#: the events' actors, checked through the events)
SECTION_METHODS = ("header", "durations", "key_events", "responders", "hypotheses", "communication", "directives", "review_text", "action_items", "data_quality")


def real_names(incident: str, data: Path = DATA) -> set[str]:
    """Every form of every person's name in a snapshot, and their name parts of 4+ letters."""
    folder = data / "incidents" / incident
    names: set[str] = set()
    users = folder / "slack" / "users.json"
    for user in json.loads(users.read_text()) if users.exists() else []:
        if user.get("is_bot") or user["id"] == "USLACKBOT":
            continue
        names.update(n for n in (user.get("name"), user.get("real_name"), (user.get("profile") or {}).get("display_name")) if n)
    names.update(pagerduty_people(folder / "pagerduty" if (folder / "pagerduty").is_dir() else None))
    parts = {p for n in names for p in re.split(r"[\s._-]+", n) if p.isalpha() and len(p) >= 4}
    return names | parts


def named(name: str, text: str) -> bool:
    """Whether ``name`` stands in ``text`` as a word ("Chen" in "Mei Lin Chen", not in "kitchen")."""
    return bool(found(text, [name]))


def found(text: str, names: set[str] | list[str]) -> set[str]:
    """Which of ``names`` stand in ``text`` as words, case-insensitively (longest first: in
    "Marcus Okafor" that name is found, not "Okafor" on its own)."""
    words = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    hits = re.findall(rf"(?<![\w])(?:{words})(?![\w])", text, re.IGNORECASE)
    return {n for n in names if n.casefold() in {h.casefold() for h in hits}}


#: embedded images: base64 holds no name, but by chance a word like "/Chen+" now and then
_IMAGES = re.compile(r'(?:data:image/png;base64,|"image/png": ")[A-Za-z0-9+/=\\n]+')


def readable(path: Path) -> str:
    """The file as a reader sees it: JSON decoded, HTML entities and Markdown escapes undone,
    embedded images left out."""
    raw = _IMAGES.sub("", path.read_text())
    if path.suffix == ".json":
        raw += "\n" + json.dumps(json.loads(raw), ensure_ascii=False)
    decoded = html.unescape(raw)
    return decoded + "\n" + re.sub(r"\\(.)", r"\1", decoded)


def run(args: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(args) == 0
    return out.getvalue()


# --- one render, every output ---------------------------------------------------------------


@pytest.fixture(scope="module")
def aliases_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("aliases") / "aliases.toml"
    path.write_text('"Sofia L" = "Auth lead"\n')  # any form of a name: here Slack's display name
    return path


@pytest.fixture(scope="module")
def shared(tmp_path_factory, aliases_file) -> Path:
    """The sample's review, draft, executed notebook, timelines and batch index, pseudonymised
    (its title naming the on-call)."""
    data = tmp_path_factory.mktemp("named")
    folder = data / "incidents" / SAMPLE
    shutil.copytree(DATA / "incidents" / SAMPLE, folder)
    (folder / "manifest.json").unlink(missing_ok=True)
    toml = folder / "incident.toml"
    toml.write_text(toml.read_text().replace('title = "', 'title = "Priya Raman paged: ', 1))
    out = tmp_path_factory.mktemp("shared")
    flags = ["--data-dir", str(data), "--pseudonymise", "--pseudonyms", str(aliases_file)]
    run(["report", SAMPLE, "--out", str(out), "--format", "html,md", *flags])
    for fmt in ("csv", "json", "table"):
        (out / f"timeline.{fmt}").write_text(run(["timeline", SAMPLE, "--format", fmt, *flags]))
    run_batch(data, out=out / "batch", formats=["md"], trends=False, progress=False, pseudonymise=True, pseudonyms=aliases_file)
    shutil.copy(out / "batch" / "index.html", out / "index.html")
    return out


def test_no_output_names_anybody(shared):
    names = real_names(SAMPLE)
    assert {"Priya", "Priya Raman", "priya.raman", "Marcus Okafor", "Sofia L", "Daniel (comms)", "Okafor", "Lindqvist"} <= names
    files = sorted(p for p in shared.iterdir() if p.is_file())
    assert {p.suffix for p in files} == {".html", ".md", ".ipynb", ".csv", ".json", ".table"}
    for path in files:
        assert not found(readable(path), names), path.name


def test_the_control_names_them(tmp_path):
    """The same timeline without --pseudonymise is full of names, so the check above is not empty."""
    timeline = run(["timeline", SAMPLE, "--data-dir", str(DATA), "--format", "json"])
    assert {"Priya Raman", "Marcus", "Sofia L", "Daniel (comms)", "Marcus Okafor", "Sofia Lindqvist"} <= found(timeline, real_names(SAMPLE))


def test_labels_are_roles_and_stable(shared):
    page = readable(shared / f"{SAMPLE}.html")
    assert "<dt>Incident commander</dt><dd>IC</dd>" in page
    timeline = json.loads((shared / "timeline.json").read_text())
    people = {row["actor"] for row in timeline if row["is_human"]}
    assert people == {"IC", "Auth lead", *(f"Responder {i}" for i in range(1, 6))}
    # the first human to act (Priya acknowledges the page) is Responder 1 in every output
    first = next(row for row in timeline if row["is_human"])
    assert first["actor"] == "Responder 1" and first["text"] == "Acknowledged by Responder 1."
    assert "IC: IC, ops: Responder 1" in "\n".join(row["text"] for row in timeline)
    draft = readable(shared / f"{SAMPLE}.md")
    assert "Responder 1" in draft and "Auth lead" in draft and "IC" in draft
    assert "Responder 1 paged: Login 5xx" in readable(shared / "index.html")


def test_the_mapping_stays_out_of_the_outputs(shared, aliases_file):
    """Aliases show; the file that maps them to names is only a path in the notebook's
    parameters, and nothing of its content is written anywhere."""
    content = aliases_file.read_text()
    for path in (p for p in shared.iterdir() if p.is_file()):
        text = readable(path)
        assert content.strip() not in text and '"Sofia L"' not in text


def test_pseudonymised_trends_name_nobody(tmp_path):
    assert main(["trends", "--data-dir", str(DATA), "--out", str(tmp_path), "--pseudonymise"]) == 0
    page = readable(tmp_path / "trends.html")
    assert "Responder 1" in page
    assert not found(page, set().union(*(real_names(i) for i in list_incidents(DATA))))


# --- every sample, every section, in-process --------------------------------------------------


@pytest.mark.parametrize("incident", list_incidents(DATA))
def test_every_sample_names_nobody(incident):
    review = Review.load(incident, data_dir=DATA, pseudonymise=True)
    shown = [getattr(review, method)()._repr_html_() for method in SECTION_METHODS]
    shown.append(str(review.postmortem()))
    shown.append(review.events[["actor", "text"]].to_csv())
    shown.append(shareable_events(open_incident(incident, DATA), DATA, pseudonymise=True)[["actor", "text"]].to_csv())
    text = html.unescape("\n".join(shown))
    text += "\n" + re.sub(r"\\(.)", r"\1", text)
    assert not found(text, real_names(incident))
    assert review.commander == "IC"
    assert len(SECTION_METHODS) == len(SECTIONS)  # the header in, the timeline chart out


def test_a_pagerduty_only_incident_has_its_commander_as_ic():
    """incident.toml names a PagerDuty user as commander: the header shows IC, not an id."""
    incident = "2026-01-17-batch-disk-full"
    assert Review.load(incident, data_dir=DATA).commander == "Lukas Becker"
    review = Review.load(incident, data_dir=DATA, pseudonymise=True)
    assert review.commander == "IC" and set(review.responders_table()["person"]) == {"IC"}


def test_addressees_and_responders_are_labels():
    review = Review.load(SAMPLE, data_dir=DATA, pseudonymise=True)
    labels = {"IC", *(f"Responder {i}" for i in range(1, 12))}
    assert set(review.directives_table()["to_name"]) <= labels
    assert set(review.responders_table()["person"]) <= labels
    assert set(review.events.loc[review.events["is_human"], "actor"]) <= labels


# --- the aliases ------------------------------------------------------------------------------


def events(*rows: tuple[str, str, str]) -> pd.DataFrame:
    """Events of (time, actor, actor_id), all by humans."""
    return pd.DataFrame(
        {
            "ts": pd.to_datetime([r[0] for r in rows], utc=True),
            "actor": pd.Series([r[1] for r in rows], dtype="string"),
            "actor_id": pd.Series([r[2] for r in rows], dtype="string"),
            "is_human": True,
        }
    )


DIRECTORY = Directory(
    users={"U1": "Priya", "U2": "Marcus", "U3": "Mei Lin", "U9": "Bot"},
    bots=frozenset({"U9"}),
    full_names={"U1": "Priya Raman", "U2": "Marcus Okafor", "U3": "Mei Lin Chen"},
)


def test_whole_names_longest_first_case_insensitive():
    acted = events(("2026-01-01T10:00Z", "Priya Raman", "PX1"), ("2026-01-01T10:01Z", "Marcus", "U2"), ("2026-01-01T10:02Z", "Mei Lin", "U3"))
    aliases = Pseudonyms.build(acted, DIRECTORY, commander="U2", handles={"U1": "priya.raman"})
    text = pd.Series(
        [
            "Acknowledged by Priya Raman.",
            "@priya can you check? cc MARCUS",
            "mei lin chen is in the kitchen with Chen",
            "ask priya.raman (or raman) about it",
            "Priyanka is someone else",
        ],
        dtype="string",
    )
    assert aliases.text(text).tolist() == [
        "Acknowledged by Responder 1.",
        "@Responder 1 can you check? cc IC",
        "Responder 2 is in the kitchen with Responder 2",
        "ask Responder 1 (or Responder 1) about it",
        "Priyanka is someone else",
    ]
    assert "bot" not in aliases.aliases


def test_people_pagerduty_only_names_are_replaced_too():
    """Notified or assigned in the log but never acting, and not in Slack: still a person."""
    acted = events(("2026-01-01T10:00Z", "Marcus", "U2"))
    aliases = Pseudonyms.build(acted, DIRECTORY, commander="U2", others=["Jo Okonkwo-Bell", "Marcus Okafor"])
    assert aliases.text(pd.Series(["Notified Jo Okonkwo-Bell by SMS. Okonkwo was asleep"], dtype="string")).tolist() == [
        "Notified Responder 1 by SMS. Responder 1 was asleep"
    ]
    assert aliases.aliases["marcus okafor"] == "IC"


def test_mapping_in_pia_toml_and_a_file_the_file_wins(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA / "incidents" / SAMPLE, data / "incidents" / SAMPLE)
    (data / "pia.toml").write_text('[pseudonyms]\n"Priya Raman" = "On-call SRE"\n"Marcus Okafor" = "Commander"\n')
    mapping = tmp_path / "aliases.toml"
    mapping.write_text('marcus = "The IC"\n')
    incident = open_incident(SAMPLE, data)
    found = for_incident(incident, incident.events(), data, commander="U03LM9PZ1QA", mapping_file=mapping)
    assert found.aliases["priya"] == "On-call SRE" and found.aliases["marcus okafor"] == "The IC"
    review = Review.load(SAMPLE, data_dir=data, pseudonymise=True)  # pia.toml alone
    assert review.commander == "Commander" and "On-call SRE" in set(review.responders_table()["person"])
    mapping.write_text("marcus = 3\n")
    with pytest.raises(Exception, match=r"aliases.toml: marcus: must be"):
        for_incident(incident, incident.events(), data, mapping_file=mapping)
