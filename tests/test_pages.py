"""The pages a reader takes into the review: numbers that agree between chart and table, one
notation for censored values, data-quality findings beside the numbers they affect, the story
in key events, and pages that read well (names, Slack formatting, headings, layout), checked
in the library and at 1280 px in headless Chromium."""

from __future__ import annotations

import re
import shutil
from itertools import combinations

import pandas as pd
import pytest

from pia.cli import main
from pia.report import charts
from pia.report.html import said, slack
from pia.report.review import CENSORED, Review
from pia.report.trends import TrendsReport, day_span

from conftest import DATA, write_incident

LOGIN = "2026-11-20-login-outage"
CDN = "2026-03-12-cdn-cache-hit-ratio"
SEARCH = "2026-11-24-search-latency"


@pytest.fixture(scope="module")
def login():
    return Review.load(LOGIN, data_dir=DATA)


@pytest.fixture(scope="module")
def cdn():
    return Review.load(CDN, data_dir=DATA)


@pytest.fixture(scope="module")
def search():
    return Review.load(SEARCH, data_dir=DATA)


# --- numbers that agree ------------------------------------------------------------------------


def test_late_updates_are_the_same_on_the_chart_and_in_the_table(login, monkeypatch):
    """The 15:10:12 update waited 33m 09s since 14:37:02: late in the table, and the chart
    draws that same wait, red, labelled with the update's time."""
    rows = login.updates_table()
    assert list(rows["wait"]) == ["31m 50s", "33m 09s"] and list(rows["late"]) == [True, True]
    drawn = {}
    monkeypatch.setattr(charts.Chart, "from_figure", classmethod(lambda cls, figure, alt, caption="": drawn.update(figure=figure, alt=alt, caption=caption)))
    charts.cadence_chart(rows, target_minutes=login.cadence_minutes)
    axis = drawn["figure"].axes[0]
    heights = [round(bar.get_height(), 2) for bar in axis.patches]
    assert heights == [round(s / 60, 2) for s in rows["gap"].dt.total_seconds()]
    assert [int(h) for h in heights] == [31, 33]
    assert [tick.get_text() for tick in axis.get_xticklabels()] == ["→ 14:37", "→ 15:10"]
    assert {bar.get_facecolor()[:3] for bar in axis.patches} == {(0xB3 / 255, 0x26 / 255, 0x1E / 255)}  # all red
    assert "2 of 2 over" in drawn["alt"] and "green" not in drawn["caption"]
    section = login.communication()._repr_html_()
    assert "2 updates; target: one every 30 minutes; 2 came late." in section


def test_an_open_incident_is_written_with_at_least_and_a_footnote(search):
    html = search.durations()._repr_html_()
    assert "+ open" not in html
    values = search.durations_table().query("status == 'censored'")["value"]
    assert len(values) and all(v.startswith(CENSORED) for v in values)
    assert re.search(r'<span class="flag-censored"[^>]*>≥ \d', html)
    assert "≥: the incident is still open; the value is censored at 2026-11-24" in html
    assert search.facts()["duration"].startswith("≥ ")
    draft = str(search.postmortem())
    durations = draft[draft.index("## Durations") : draft.index("| Milestone |")]
    assert "| ≥ 1h 17m |" in durations and "≥: the incident is still open" in durations and "(open)" not in durations


@pytest.mark.parametrize("incident", [LOGIN, SEARCH])
def test_the_timeline_caption_names_what_was_drawn(incident):
    review = Review.load(incident, data_dir=DATA)
    figure, _, caption = charts.timeline_figure(review.events, review.detection.milestones, hypotheses=review.detection.hypotheses)
    axis = figure.axes[0]
    band = any(isinstance(p, __import__("matplotlib").patches.Rectangle) or p.get_label() == "impact" for p in axis.patches)
    assert ("shaded band" in caption) == band
    assert ("until restore" not in caption) and ("stars are hypotheses" in caption) == (len(review.detection.hypotheses) > 0)
    if incident == SEARCH:
        assert not band  # open: nothing restored, so no impact window is drawn and none is described


def test_the_cadence_caption_names_the_colours_drawn(login):
    rows = login.updates_table()
    chart = charts.cadence_chart(rows.assign(late=[False, True]), target_minutes=30)
    assert "red bars waited longer than the target and green bars were on time" in chart.caption


# --- data quality beside the number ------------------------------------------------------------


def test_findings_about_milestones_stand_next_to_the_numbers_they_affect(cdn):
    notes = cdn.durations_table().set_index("name")["note"]
    assert "after PagerDuty auto-resolved at 10:41:07" in notes["time to engage"]
    assert "after PagerDuty auto-resolved" in notes["time to hypothesis"]
    assert "declared is the PagerDuty trigger" in notes["time to declare"]
    assert notes["time to resolve"] == ""
    lines = cdn.quality_lines()
    assert any("engaged, first hypothesis, working hypothesis come 39 minutes after PagerDuty auto-resolved" in line for line in lines)
    assert any("time to declare is 0 s by construction" in line for line in lines)
    assert "⚠ declared is the PagerDuty trigger" in cdn.durations()._repr_html_()
    assert "declared is the PagerDuty trigger" in str(cdn.postmortem())


def test_an_inferred_commander_is_said_beside_the_name(tmp_path):
    data = write_incident(tmp_path / "a")
    review = Review.load("inc", data_dir=data)
    header = review.header()._repr_html_()
    assert "Ana" in header and "IC inferred from the first poster (Ana); set `commander` in incident.toml" in header
    assert any(line.startswith("IC inferred: ") for line in review.quality_lines())
    named = Review.load("inc", data_dir=write_incident(tmp_path / "b", toml='commander = "U2"\n'))
    assert "IC inferred" not in named.header()._repr_html_() and "Bo Li" in named.header()._repr_html_()


# --- the story -----------------------------------------------------------------------------------


def test_key_events_tell_what_was_tried_and_what_worked(login):
    rows = login.key_events_table()
    at = rows.set_index("time")  # times of the day of detection, without the date
    assert at.loc["14:24:58", "what"] == "mitigation did not help" and "errors persist" in at.loc["14:24:58", "evidence"]
    assert at.loc["14:41:00", "what"] == "mitigation that worked" and "auth-config#1187" in at.loc["14:41:00", "evidence"]
    assert at.loc["14:38:15", "what"] == "pivot"
    assert at.loc["14:29:55", "what"] == "ruled out"  # "not the database primary"
    # one row per message, naming every milestone it marks
    assert rows["ref"][rows["ref"] != ""].is_unique
    assert at.loc["14:06:51", "what"] == "acknowledged, engaged"
    assert at.loc["14:14:02", "what"] == "first hypothesis"
    assert at.loc["15:10:12", "what"] == "restored at 14:53:00, status update"


def test_offsets_round_toward_zero_like_durations(login):
    rows = login.key_events_table().set_index("what")
    assert rows.loc["impact start", "T"] == "T-00:03"  # 3m 12s before detection
    assert login.since_detection(login.at("detected") - pd.Timedelta(seconds=59)) == "T-00:00"
    assert login.since_detection(login.at("detected") + pd.Timedelta(minutes=61, seconds=59)) == "T+01:01"


def test_one_name_per_person_on_every_table(login):
    people = set(login.responders_table()["person"])
    assert "Priya Raman" in people and "Priya" not in people
    shown = set(login.key_events_table()["who"]) | set(login.hypotheses_table()["actor"]) | set(login.updates_table()["actor"])
    asks = login.directives_table()
    shown |= set(asks["actor"]) | set(asks["to_name"])
    assert "Priya" not in shown and "Sofia L" not in shown and "Daniel (comms)" not in shown
    assert {"Priya Raman", "Sofia Lindqvist", "Daniel Cohen"} <= shown
    assert login.facts()["commander"] == "Marcus Okafor"


# --- Slack formatting, escaped -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "html"),
    [
        ("*<script>*", "<strong>&lt;script&gt;</strong>"),
        ("*bold* and _italic_ and ~gone~", "<strong>bold</strong> and <em>italic</em> and <del>gone</del>"),
        ("run `rm -rf *x*` now", "run <code>rm -rf *x*</code> now"),
        (":mega: :tada: :pray: :our_custom_thing:", "📣 🎉 🙏 :our_custom_thing:"),
        ("<https://example.com/a?b=1&c=2|the doc>", '<a href="https://example.com/a?b=1&amp;c=2">the doc</a>'),
        ("PR (https://git.example.com/pr/1187).", 'PR (<a href="https://git.example.com/pr/1187" title="https://git.example.com/pr/1187">git.example.com/…</a>).'),
        ("snake_case_name, 2*3*4 and a_b_", "snake_case_name, 2*3*4 and a_b_"),
        ("[click](javascript:alert(1))", "[click](javascript:alert(1))"),
        ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
        ('https://x.io/"onmouseover=alert(1)', '<a href="https://x.io/" title="https://x.io/">x.io</a>&quot;onmouseover=alert(1)'),
        ("<javascript:alert(1)|click>", "&lt;javascript:alert(1)|click&gt;"),
        ("\x000\x00 left", "0 left"),
    ],
)
def test_slack_formatting_is_rendered_from_escaped_text(raw, html):
    assert slack(raw) == html


def test_evidence_is_text_with_a_small_link_to_its_source():
    shown = said("*Login recovered*", "https://acme.slack.com/archives/C1/p1")
    assert shown == '<strong>Login recovered</strong> <a class="source" href="https://acme.slack.com/archives/C1/p1">Slack</a>'
    assert said("x", "javascript:alert(1)") == "x"


def test_the_review_shows_slack_formatting_and_words_as_headings(login):
    page = "".join(getattr(login, name)()._repr_html_() for name in ("durations", "key_events", "responders", "hypotheses", "communication", "directives"))
    assert "📣 Status update posted to #status: <strong>Login degraded (SEV1)</strong>" in page
    assert ":mega:" not in page
    headings = re.findall(r"<th(?: [^>]*)?>(.*?)</th>", page)
    assert headings and not [h for h in headings if "_" in h]
    assert "off-hours pages" in headings


# --- charts compose --------------------------------------------------------------------------


def _chart_calls(login, trends_report):
    """Each chart function of pia.report.charts with the data the reports give it, as
    ``name -> draw(ax)``."""
    from pia import trends

    table = trends_report.table
    return {
        "timeline": lambda ax: charts.timeline(login.events, login.detection.milestones, hypotheses=login.detection.hypotheses, ax=ax),
        "cadence": lambda ax: charts.cadence(login.updates_table(), target_minutes=login.cadence_minutes, ax=ax),
        "incidents_per_period": lambda ax: charts.incidents_per_period(trends.counts(table, "month"), "month", ax=ax),
        "duration_trend": lambda ax: charts.duration_trend(trends_report.duration_summary(), trends_report.duration_points(), "time_to_restore", ax=ax),
        "survival_curves": lambda ax: charts.survival_curves(trends.survival(table, "time_to_restore"), ax=ax),
        "responder_load": lambda ax: charts.responder_load(trends.responder_load(trends_report.responders), ax=ax),
    }


def test_every_chart_draws_on_the_axes_it_is_given_and_returns_them(login, trends_report):
    """Six charts side by side on one figure: each draws on its own Axes only and returns it,
    so an analyst can compose them (lifelines' plotting functions are the model)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    calls = _chart_calls(login, trends_report)
    public = {name for name, value in vars(charts).items() if callable(value) and getattr(value, "__module__", "") == charts.__name__ and not name.startswith("_")}
    drawing = {name for name in public if not name.endswith(("_chart", "_figure"))} - {"Chart", "literal_text"}
    assert drawing == set(calls)  # every chart that draws on an Axes is tried here
    figure = Figure(figsize=(12, 14))
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(calls), 1)
    for ax, (name, draw) in zip(axes, calls.items()):
        before = [len(other.get_children()) for other in axes]
        assert draw(ax) is ax, name
        after = [len(other.get_children()) for other in axes]
        changed = [other for other, b, a in zip(axes, before, after) if a != b]
        assert changed == [ax], name  # drew something, and only there
    figure.canvas.draw()  # the composed figure renders
    assert len(figure.axes) == len(calls)


def test_a_chart_without_axes_makes_a_pyplot_figure_of_its_own(login):
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    try:
        ax = charts.timeline(login.events, login.detection.milestones)
        assert plt.fignum_exists(ax.figure.number) and ax.figure.number not in before
        assert ax.figure.get_size_inches()[1] > 2.6  # sized to its lanes
    finally:
        plt.close("all")


def test_the_report_draws_its_charts_outside_pyplot(login):
    """The report's charts are PNGs of figures pyplot never sees: none is left open, and none
    would show up as a notebook cell's inline output."""
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    assert login.timeline()._repr_html_().count("data:image/png;base64,") == 1
    assert login.communication()._repr_html_().count("data:image/png;base64,") == 1
    assert plt.get_fignums() == before


# --- the timeline's labels -----------------------------------------------------------------------


def _label_boxes(figure):
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    return [t.get_window_extent(renderer) for t in figure.findobj(lambda a: getattr(a, "get_gid", lambda: None)() == charts.MILESTONE_LABEL)]


@pytest.mark.parametrize("apart", [pd.Timedelta(seconds=1), pd.Timedelta(seconds=20), pd.Timedelta(minutes=2)])
def test_milestone_labels_never_overlap_however_close(apart):
    start = pd.Timestamp("2026-11-20T14:00:00Z")
    names = ["impact_start", "detected", "acknowledged", "declared", "first_hypothesis", "mitigation_started", "mitigated", "restored", "resolved"]
    milestones = pd.DataFrame({"milestone": names, "ts": [start + i * apart for i in range(len(names))]})
    events = pd.DataFrame(
        {
            "ts": [start, start + pd.Timedelta(hours=1)],
            "kind": ["message", "message"],
            "actor": ["Ana", "Bo"],
            "source": ["slack", "slack"],
            "is_human": [True, True],
        }
    )
    figure, _, _ = charts.timeline_figure(events, milestones)
    boxes = _label_boxes(figure)
    assert len(boxes) == len(names)
    overlapping = [(a, b) for a, b in combinations(boxes, 2) if a.overlaps(b)]
    assert not overlapping


def test_milestone_labels_of_a_sample_do_not_overlap(login):
    figure, _, _ = charts.timeline_figure(login.events, login.detection.milestones, hypotheses=login.detection.hypotheses)
    boxes = _label_boxes(figure)
    assert len(boxes) == 10  # acknowledged and engaged share one moment, so one label
    assert not [(a, b) for a, b in combinations(boxes, 2) if a.overlaps(b)]


# --- trends ---------------------------------------------------------------------------------------


def test_the_window_is_said_in_words():
    day = pd.Timestamp
    assert day_span(day("2026-01-01T00:00Z"), day("2026-11-30T23:00Z")) == "1 January to 30 November 2026"
    assert day_span(day("2026-03-03T00:00Z"), day("2026-03-09T00:00Z")) == "3 to 9 March 2026"
    assert day_span(day("2025-12-30T00:00Z"), day("2026-01-02T00:00Z")) == "30 December 2025 to 2 January 2026"


@pytest.fixture(scope="module")
def trends_report():
    return TrendsReport.load(data_dir=DATA)


def test_trends_open_with_a_headline(trends_report):
    header = trends_report.header()._repr_html_()
    assert "12 incidents detected 17 January to 24 November 2026, grouped by month." in header
    assert "<h2>This month against the one before</h2>" in header
    assert "November 2026" in header and "October 2026" in header
    for label in ("Incidents", "Median time to engage", "Median time to hypothesis", "Median time to restore"):
        assert f"<th>{label}</th>" in header
    assert "2m 11s (1m 39s–2m 43s), n=2" in header  # the two November incidents, with an interval
    assert "too few to tell a change from noise" in header


def test_trend_lines_break_over_empty_months(trends_report, monkeypatch):
    drawn = {}
    monkeypatch.setattr(charts.Chart, "from_figure", classmethod(lambda cls, figure, alt, caption="": drawn.update(figure=figure)))
    trends_report.durations_section()
    axis = drawn["figure"].axes[0]  # time to engage: no incident in May
    median = next(line for line in axis.get_lines() if line.get_label() == "median")
    months = pd.to_datetime(median.get_xdata())
    values = pd.Series(median.get_ydata(), index=months)
    assert values.isna()[pd.Timestamp("2026-05-01")]
    assert values.notna().sum() == 10


def test_wide_trend_tables_turn(trends_report):
    html = trends_report.by_severity()._repr_html_()
    heads = re.findall(r"<th(?: [^>]*)?>(.*?)</th>", html)
    assert heads == ["", "SEV1", "SEV2", "SEV3", "SEV4"]  # groups across, durations down
    assert "<td class=one-line>time to restore</td>" in html


# --- at 1280 px in Chromium ----------------------------------------------------------------------

#: everything wider than the page: the page itself, and any table (or its scroll box) or image
#: whose right edge passes the viewport
TOO_WIDE = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  if (document.documentElement.scrollWidth > width) out.push('page ' + document.documentElement.scrollWidth);
  for (const el of document.querySelectorAll('table, img')) {
    const box = (el.closest('div.table') || el).getBoundingClientRect();
    if (box.right > width + 0.5 || box.left < -0.5) out.push(el.tagName + ' ' + Math.round(box.left) + '..' + Math.round(box.right));
  }
  return out;
}"""

#: lines each index title takes
TITLE_LINES = """() => Array.from(document.querySelectorAll('td.title')).map(td => {
  const range = document.createRange(); range.selectNodeContents(td);
  const lines = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
  return [td.textContent, lines.size];
})"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    data = tmp_path_factory.mktemp("pages")
    for incident in (LOGIN, CDN, SEARCH, "2026-06-09-order-events-backlog"):
        shutil.copytree(DATA / "incidents" / incident, data / "incidents" / incident)
    out = data / "reports"
    assert main(["batch", "--data-dir", str(data), "--out", str(out), "--as-of", "2026-11-24T18:00:00Z"]) == 0
    return out


@pytest.mark.parametrize("name", ["index", "trends", LOGIN, CDN, SEARCH])
def test_nothing_is_wider_than_the_page_at_1280(browser, pages, name):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto((pages / f"{name}.html").resolve().as_uri(), wait_until="load")
        assert page.evaluate(TOO_WIDE) == []
        assert page.evaluate("document.images.length") > 0 or name == "index"
        if name == "index":
            lines = page.evaluate(TITLE_LINES)
            assert lines and all(n <= 2 for _, n in lines), lines
    finally:
        page.close()
