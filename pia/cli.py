"""The ``pia`` command: parse options, make one library call, print the result.

Errors of the library (:class:`pia.errors.PiaError`) print as one line and exit 2; nothing
here holds analysis logic.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TypedDict

import pandas as pd

from pia import __version__
from pia.errors import PiaError
from pia.output import print_frame, terminal_text
from pia.snapshot import data_dir, list_incidents, open_incident, summary_table
from pia.times import as_utc

Command = Callable[[argparse.Namespace], int]


def cmd_timeline(args: argparse.Namespace) -> int:
    """Print an incident's merged timeline, or a summary line per incident without one."""
    if args.incident:
        from pia.privacy import shareable_events

        incident = open_incident(args.incident, args.data_dir)
        events = shareable_events(incident, data_dir(args.data_dir), **privacy(args))
        print_frame(
            events,
            args.format,
            table_columns=["ts", "source", "kind", "actor", "text"],
            raw_csv=args.raw_csv,
        )
        return 0
    ids = list_incidents(args.data_dir)
    if not ids:
        raise PiaError(f"no incidents in {data_dir(args.data_dir)}/incidents")
    table, failures = summary_table(args.data_dir, ids)
    print_frame(
        _shareable(table, args.data_dir, **privacy(args)), args.format, raw_csv=args.raw_csv
    )
    for line in failures:
        error_line(line, args)
    return 2 if failures else 0


def option(parameter: str) -> str:
    """The option that gives a library function's ``parameter``: ``as_of`` is ``--as-of``."""
    return "--" + parameter.replace("_", "-")


def error_line(text: object, args: argparse.Namespace, prefix: str = "pia: error: ") -> None:
    """One line on stderr: an error can quote its input, so secrets in it are masked (unless
    --no-redact) and control characters shown escaped."""
    print(prefix + shown(text, args), file=sys.stderr)


def shown(text: object, args: argparse.Namespace) -> str:
    """``text`` from the input, as a command may print it."""
    from pia.privacy.redact import mask_text

    text = str(text)
    if not getattr(args, "no_redact", False):
        try:
            root = data_dir(getattr(args, "data_dir", None))
        except PiaError:  # no data dir to read: the packaged patterns still mask
            root = None
        text = mask_text(text, root)
    return terminal_text(text)


class Privacy(TypedDict):
    """The privacy options every command that shows snapshot text passes on."""

    redact: bool
    pseudonymise: bool
    pseudonyms: str | None


def privacy(args: argparse.Namespace) -> Privacy:
    """The privacy options of a command, warning on stderr when secrets stay unmasked."""
    if args.no_redact:
        print(
            "pia: warning: secrets are not masked (--no-redact); do not share this output",
            file=sys.stderr,
        )
    return {
        "redact": not args.no_redact,
        "pseudonymise": getattr(args, "pseudonymise", False),
        "pseudonyms": getattr(args, "pseudonyms", None),
    }


def _shareable(
    table: pd.DataFrame,
    root: str | None,
    *,
    redact: bool,
    pseudonymise: bool,
    pseudonyms: str | None,
) -> pd.DataFrame:
    """``table`` (a line per incident) with secrets masked in every text column (title,
    severity, services, ...); pseudonymised, without titles (a title's names can only be
    replaced where the incident's people are read, in a report)."""
    from pia.privacy import scrub, title_mask
    from pia.privacy.redact import load_redactor

    if table.empty:
        return table
    base = data_dir(root)
    mask = title_mask(base, redact=redact, pseudonymise=pseudonymise or pseudonyms is not None)
    rest = table.drop(columns="title", errors="ignore")
    rest = scrub.frame(rest, load_redactor(base), None) if redact else rest
    if "title" not in table or mask is None:
        return rest
    return rest.assign(title=table["title"].map(mask, na_action="ignore"))[list(table.columns)]


def cmd_import_slack(args: argparse.Namespace) -> int:
    """Carve one channel of a Slack workspace export (folder or zip) into a snapshot."""
    from pia.snapshot import safe_id
    from pia.sources.slack_export import import_slack_export

    safe_id(args.incident, "--incident")  # named by its option here; the library says "incident id"
    path = import_slack_export(
        args.export,
        channel=args.channel,
        incident=args.incident,
        root=args.data_dir,
        since=as_utc(args.since, "since"),
        until=as_utc(args.until, "until"),
    )
    events = open_incident(args.incident, args.data_dir).events()
    print(terminal_text(f"imported #{args.channel} into {path} ({len(events)} events)"))
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    """Print the metrics table: one row per incident with its durations and response counts.

    The table shows the headline durations and counts (--columns picks others), durations as
    human times (a censored one as "≥ 2h 05m", as on every page) and a line saying where each starts; CSV and JSON
    hold every column, durations in seconds and each milestone's time. An open incident is
    censored at --as-of; without it, its unfinished durations are empty. One incident that cannot be measured prints a one-line error and the
    others still print (exit status 2). Secrets in titles are masked unless --no-redact.

    With --explain INCIDENT: each milestone's candidates for that one incident, the one used
    and the runners-up, best first (time, the time of the message that stated it, who, how it
    was found, the text), secrets masked unless --no-redact. A value in incident.toml
    [milestones] wins over them all.
    """
    if args.explain:
        return _explain(args)
    from pia.cache import measure_all
    from pia.metrics import for_output, legend
    from pia.milestones import load_config

    as_of = as_utc(args.as_of)
    options = privacy(args)
    table = measure_all(
        args.data_dir, args.incident or None, as_of=as_of, progress=sys.stderr.isatty()
    )
    if table.table.empty and not table.failures:
        raise PiaError(f"no incidents in {data_dir(args.data_dir)}/incidents")
    if not table.table.empty:
        shown = for_output(
            _shareable(table.table, args.data_dir, **options), args.format, args.columns
        )
        left_out = print_frame(
            shown,
            args.format,
            raw_csv=args.raw_csv,
            width=None if args.columns else _terminal_width(),
        )
        if args.format == "table":
            kept = [c for c in shown if c not in left_out]
            print(legend([str(c) for c in kept], left_out, load_config(data_dir(args.data_dir))))
    for line in table.failures:
        error_line(line, args)
    return 2 if table.failures else 0


def _explain(args: argparse.Namespace) -> int:
    """``pia metrics --explain INCIDENT``: one incident's milestone candidates."""
    import shutil

    from pia.metrics import explain_milestones
    from pia.output import format_candidates

    if len(args.incident) != 1:
        got = "none" if not args.incident else f"{len(args.incident)}: {' '.join(args.incident)}"
        raise PiaError(
            f"--explain takes exactly one INCIDENT (got {got}), e.g. pia metrics --explain 2026-11-20-login-outage"
        )
    if args.as_of is not None:
        raise PiaError(
            "--explain lists every candidate whenever it was posted; it takes no --as-of"
        )
    found = explain_milestones(
        args.incident[0], args.data_dir, redact=bool(privacy(args)["redact"])
    )
    if args.format == "table":
        sys.stdout.write(
            format_candidates(found, width=shutil.get_terminal_size((100, 24)).columns)
        )
    else:
        print_frame(found.candidates, args.format, raw_csv=args.raw_csv)
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    """Fetch an incident's Slack channels and PagerDuty incidents into its snapshot; or, with
    --pagerduty-since and --pagerduty-until, one snapshot per PagerDuty incident of that window.

    Tokens come from SLACK_BOT_TOKEN (or SLACK_TOKEN) and PAGERDUTY_API_TOKEN. The channels and
    incidents are the options, else those of the snapshot's incident.toml. The Slack window is
    --since/--until, else the PagerDuty incident's lifetime widened by --margin, else the
    channel's whole history. A fetch that fails leaves the snapshot as it was. See docs/fetch.md.
    """
    from pia.sources.fetch import Connections, discover, fetch_incident, parse_margin

    connections = Connections.from_options(
        slack_base_url=args.slack_base_url,
        pagerduty_base_url=args.pagerduty_base_url,
        slack_rate=args.slack_rate,
        workers=args.workers,
    )
    margin = parse_margin(args.margin)
    # the library's parameters by the names of this command's options
    args.options = {
        "slack_channels": "--slack-channel",
        "pagerduty_incidents": "--pagerduty-incident",
    }
    if args.pagerduty_since or args.pagerduty_until:
        if args.incident or args.slack_channel or args.pagerduty_incident:
            raise PiaError(
                "discovery (--pagerduty-since/--pagerduty-until) takes no INCIDENT, --slack-channel or --pagerduty-incident"
            )
        since = as_utc(args.pagerduty_since, "pagerduty_since")
        until = as_utc(args.pagerduty_until, "pagerduty_until")
        if since is None or until is None:
            raise PiaError("discovery needs both --pagerduty-since and --pagerduty-until")
        args.options = {"since": "--pagerduty-since", "until": "--pagerduty-until"}
        run = discover(
            since,
            until,
            root=args.data_dir,
            services=args.service,
            channel_pattern=args.channel_pattern,
            id_pattern=args.id_pattern,
            margin=margin,
            connections=connections,
        )
        for result in run.results:
            print(result.describe())
        for _, line in run.failures:
            error_line(line, args)
        print(f"{len(run.results)} of {run.listed} PagerDuty incidents fetched")
        return 2 if run.failures else 0
    if not args.incident:
        raise PiaError(
            "name an INCIDENT to fetch, or list PagerDuty incidents with --pagerduty-since and --pagerduty-until"
        )
    if args.service or args.channel_pattern:
        raise PiaError(
            "--service and --channel-pattern apply to discovery (--pagerduty-since/--pagerduty-until) only"
        )
    result = fetch_incident(
        args.incident,
        root=args.data_dir,
        slack_channels=args.slack_channel,
        pagerduty_incidents=args.pagerduty_incident,
        since=as_utc(args.since, "since"),
        until=as_utc(args.until, "until"),
        margin=margin,
        connections=connections,
    )
    print(result.describe())
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Render an incident's review: run the notebook with papermill, keep the executed .ipynb,
    and write HTML (default), PDF (headless Chromium) and the Markdown postmortem draft."""
    from pia.report.render import parse_formats, render_report

    rendered = render_report(
        args.incident,
        data_dir=args.data_dir,
        out=args.out,
        formats=parse_formats(args.format),
        as_of=args.as_of,
        tz=args.tz,
        **privacy(args),
    )
    for fmt, path in rendered.files.items():
        print(f"{fmt:5} {path}")
    for reason in rendered.skipped.values():
        error_line(reason, args, "pia: ")
    return 0


def cmd_notebook(args: argparse.Namespace) -> int:
    """Write the incident's review notebook, executed, into --out (default reviews/), to open in
    JupyterLab and write the review in. A notebook there that someone has changed is kept
    (--force replaces it)."""
    from pia.report.render import write_review_notebook

    path = write_review_notebook(
        args.incident,
        data_dir=args.data_dir,
        out=args.out,
        force=args.force,
        as_of=args.as_of,
        tz=args.tz,
        **privacy(args),
    )
    print(f"ipynb {path}")
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    """Render a review for every incident in the data dir (or the window) in parallel, skipping
    those whose snapshot, config and notebook are unchanged; then the trends report and an
    index page. Exits 2 if any incident failed, after finishing the others."""
    from pia.batch import run_batch

    result = run_batch(
        args.data_dir,
        out=args.out,
        formats=args.format,
        since=args.since,
        until=args.until,
        jobs=args.jobs,
        force=args.force,
        as_of=args.as_of,
        tz=args.tz,
        scheduler=args.scheduler,
        **privacy(args),
    )
    for path in result.written:
        print(f"{path.suffix.lstrip('.'):5} {path}")
    print(
        f"{len(result.rendered)} rendered, {len(result.unchanged)} unchanged, {len(result.failed)} failed"
    )
    if result.as_of is not None:
        print(
            f"open incidents counted to {result.as_of:%Y-%m-%d %H:%M:%S} UTC"
            + ("" if args.as_of else " (now; --as-of to choose)")
        )
    for reason in result.failed.values():
        error_line(reason, args, "pia: failed: ")
    return 0 if result.ok else 2


def cmd_trends(args: argparse.Namespace) -> int:
    """Render the trends report across incidents: incidents per period by severity, duration
    medians and p90 with bootstrap intervals, Kaplan–Meier curves, tables by service and
    severity, responder load."""
    from pia.report.render import render_trends

    rendered = render_trends(
        data_dir=args.data_dir,
        out=args.out,
        formats=args.format,
        since=args.since,
        until=args.until,
        group_by=args.group_by,
        as_of=args.as_of,
        table=args.table,
        pseudonymise=args.pseudonymise,
    )
    for fmt, path in rendered.files.items():
        print(f"{fmt:5} {path}")
    for reason in rendered.skipped.values():
        error_line(reason, args, "pia: ")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Check snapshots: files against their manifest.json, data against the events contract,
    and the data-quality findings; prints each finding under its incident's counts. Exit code:
    0 clean (notes only), 1 warnings, 2 errors."""
    from pia.validate import validate

    ids = args.incident or list_incidents(args.data_dir)
    if not ids:
        raise PiaError(f"no incidents in {data_dir(args.data_dir)}/incidents")
    worst = 0
    for incident in ids:
        result = validate(incident, args.data_dir)
        worst = max(worst, result.level)
        counts = {
            level: sum(1 for lv, _ in result.findings if lv == level)
            for level in ("error", "warning", "note")
        }
        print(
            f"{shown(incident, args)}: {counts['error']} errors, {counts['warning']} warnings, {counts['note']} notes"
        )
        for level, what in [] if args.quiet else result.findings:
            print(f"  {level}: {shown(what, args)}")
    return worst


def _terminal_width() -> int:
    """The terminal's width; 100 where output goes to a file or a pipe."""
    import shutil

    return shutil.get_terminal_size((100, 24)).columns


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


RAW_CSV_HELP = "CSV values as they are, for programs (by default a value that a spreadsheet would run as a formula starts with ')"


def build_parser() -> argparse.ArgumentParser:
    # --data-dir is accepted before or after the command; SUPPRESS keeps a later default
    # from overwriting an earlier value.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="the data dir holding incidents/ (default: $PIA_DATA_DIR, else the nearest data/ here or above)",
    )
    parser = argparse.ArgumentParser(
        prog="pia",
        description="Post-incident analysis from Slack and PagerDuty.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"pia {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    redaction = argparse.ArgumentParser(add_help=False)
    redaction.add_argument(
        "--no-redact",
        action="store_true",
        help="keep secrets pasted into the channel (masked by default)",
    )
    shared = argparse.ArgumentParser(add_help=False, parents=[redaction])
    shared.add_argument(
        "--pseudonymise", action="store_true", help="replace people's names by IC, Responder 1, ..."
    )
    shared.add_argument(
        "--pseudonyms",
        metavar="FILE",
        help='TOML file of "Real Name" = "Alias" (implies --pseudonymise)',
    )

    timeline = commands.add_parser(
        "timeline",
        parents=[common, shared],
        help="print an incident's timeline",
        description=cmd_timeline.__doc__,
    )
    timeline.add_argument(
        "incident", nargs="?", metavar="INCIDENT", help="incident id (omit for all)"
    )
    timeline.add_argument("--format", choices=["table", "csv", "json"], default="table")
    timeline.add_argument("--raw-csv", action="store_true", help=RAW_CSV_HELP)
    timeline.set_defaults(run=cmd_timeline)

    metrics = commands.add_parser(
        "metrics",
        parents=[common, redaction],
        help="print the metrics table of incidents",
        description=cmd_metrics.__doc__,
    )
    metrics.add_argument(
        "incident", nargs="*", metavar="INCIDENT", help="incident ids (omit for all)"
    )
    metrics.add_argument(
        "--as-of", metavar="ISO", help="censor open incidents at this time (with offset)"
    )
    metrics.add_argument("--format", choices=["table", "csv", "json"], default="table")
    metrics.add_argument(
        "--columns",
        type=_names,
        metavar="LIST",
        help="comma-separated columns to show (default: the headline ones; CSV and JSON: all)",
    )
    metrics.add_argument(
        "--explain",
        action="store_true",
        help="for one INCIDENT: each milestone's winner and runners-up",
    )
    metrics.add_argument("--raw-csv", action="store_true", help=RAW_CSV_HELP)
    metrics.set_defaults(run=cmd_metrics)

    fetch = commands.add_parser(
        "fetch",
        parents=[common],
        help="fetch Slack and PagerDuty data into snapshots",
        description=cmd_fetch.__doc__,
    )
    fetch.add_argument(
        "incident", nargs="?", metavar="INCIDENT", help="the snapshot to fetch (omit for discovery)"
    )
    fetch.add_argument(
        "--slack-channel",
        action="append",
        default=[],
        metavar="NAME",
        help="channel name or id (repeatable)",
    )
    fetch.add_argument(
        "--pagerduty-incident",
        action="append",
        default=[],
        metavar="ID",
        help="PagerDuty incident id (repeatable)",
    )
    fetch.add_argument("--since", metavar="ISO", help="fetch Slack messages at or after this time")
    fetch.add_argument("--until", metavar="ISO", help="fetch Slack messages at or before this time")
    fetch.add_argument(
        "--margin",
        metavar="DURATION",
        help="widen the PagerDuty incident's lifetime by this (default 1h)",
    )
    fetch.add_argument(
        "--pagerduty-since",
        metavar="ISO",
        help="discovery: PagerDuty incidents created at or after this",
    )
    fetch.add_argument("--pagerduty-until", metavar="ISO", help="discovery: ... and before this")
    fetch.add_argument(
        "--service",
        action="append",
        default=[],
        metavar="ID",
        help="discovery: only this PagerDuty service (repeatable)",
    )
    fetch.add_argument(
        "--channel-pattern",
        metavar="PATTERN",
        help="discovery: the Slack channel name, e.g. 'inc-{number}' (fields number, id, date)",
    )
    fetch.add_argument(
        "--id-pattern",
        default="{date}-pd-{number}",
        metavar="PATTERN",
        help="discovery: new snapshot ids (default %(default)s)",
    )
    fetch.add_argument(
        "--slack-base-url",
        metavar="URL",
        help="Slack Web API base URL (default $PIA_SLACK_BASE_URL, else Slack)",
    )
    fetch.add_argument(
        "--pagerduty-base-url",
        metavar="URL",
        help="PagerDuty REST API base URL (default $PIA_PAGERDUTY_BASE_URL, else api.pagerduty.com)",
    )
    fetch.add_argument(
        "--slack-rate",
        type=float,
        metavar="N",
        help="conversations.history/replies calls per minute (default 50, Tier 3; 0: unpaced)",
    )
    fetch.add_argument(
        "--workers", type=int, metavar="N", help="threads fetching Slack thread replies (default 4)"
    )
    fetch.set_defaults(run=cmd_fetch)

    report = commands.add_parser(
        "report",
        parents=[common, shared],
        help="render an incident's review",
        description=cmd_report.__doc__,
    )
    report.add_argument("incident", metavar="INCIDENT", help="incident id")
    report.add_argument(
        "--out", default="reports", metavar="DIR", help="output folder (default: reports)"
    )
    report.add_argument(
        "--format",
        default="html",
        metavar="LIST",
        help="comma-separated: html,pdf,md,ipynb (default: html)",
    )
    report.add_argument(
        "--as-of",
        metavar="ISO",
        help="censor an open incident at this time (default: its last event)",
    )
    report.add_argument(
        "--tz",
        default="UTC",
        metavar="ZONE",
        help="display time zone, e.g. Europe/Berlin (default: UTC)",
    )
    report.set_defaults(run=cmd_report)

    notebook = commands.add_parser(
        "notebook",
        parents=[common, shared],
        help="write an incident's review notebook to open in JupyterLab",
        description=cmd_notebook.__doc__,
    )
    notebook.add_argument("incident", metavar="INCIDENT", help="incident id")
    notebook.add_argument(
        "--out", default="reviews", metavar="DIR", help="output folder (default: reviews)"
    )
    notebook.add_argument(
        "--force",
        action="store_true",
        help="replace a notebook that was changed since pia wrote it",
    )
    notebook.add_argument("--as-of", metavar="ISO", help="censor an open incident at this time")
    notebook.add_argument(
        "--tz",
        default="UTC",
        metavar="ZONE",
        help="display time zone, e.g. Europe/Berlin (default: UTC)",
    )
    notebook.set_defaults(run=cmd_notebook)

    window = argparse.ArgumentParser(add_help=False)
    window.add_argument(
        "--since", metavar="ISO", help="only incidents detected at or after this time"
    )
    window.add_argument(
        "--until", metavar="ISO", help="only incidents detected at or before this time"
    )
    window.add_argument("--as-of", metavar="ISO", help="censor incidents still open at this time")
    window.add_argument(
        "--out", default="reports", metavar="DIR", help="output folder (default: reports)"
    )

    batch = commands.add_parser(
        "batch",
        parents=[common, window, shared],
        help="render every incident's review, the trends and an index",
        description=cmd_batch.__doc__,
    )
    batch.add_argument(
        "--jobs", type=int, metavar="N", help="parallel reports (default: number of cores)"
    )
    batch.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on the Dask cluster of this scheduler (tcp://host:8786); its workers must see the data dir and --out (needs pia[dask])",
    )
    batch.add_argument(
        "--format",
        default="html",
        metavar="LIST",
        help="comma-separated: html,pdf,md,ipynb (default: html)",
    )
    batch.add_argument(
        "--force", action="store_true", help="render again even where nothing changed"
    )
    batch.add_argument(
        "--tz",
        default="UTC",
        metavar="ZONE",
        help="display time zone of the reviews (default: UTC)",
    )
    batch.set_defaults(run=cmd_batch)

    trend = commands.add_parser(
        "trends",
        parents=[common, window],
        help="render the trends report",
        description=cmd_trends.__doc__,
    )
    trend.add_argument("--group-by", choices=["week", "month"], default="month")
    trend.add_argument(
        "--format",
        default="html",
        metavar="LIST",
        help="comma-separated: html,pdf,ipynb (default: html)",
    )
    trend.add_argument(
        "--pseudonymise",
        action="store_true",
        help="show responders as Responder 1, Responder 2, ...",
    )
    trend.add_argument(
        "--table",
        metavar="FILE",
        help="a stage-timestamp CSV or metrics table (Parquet) instead of the data dir",
    )
    trend.set_defaults(run=cmd_trends)

    check = commands.add_parser(
        "validate",
        parents=[common],
        help="check snapshots against their manifest and the data contract",
        description=cmd_validate.__doc__,
    )
    check.add_argument(
        "incident", nargs="*", metavar="INCIDENT", help="incident ids (default: all)"
    )
    check.add_argument(
        "--quiet", "-q", action="store_true", help="print the counts only, not the findings"
    )
    check.set_defaults(run=cmd_validate)

    importer = commands.add_parser("import", parents=[common], help="import data into a snapshot")
    kinds = importer.add_subparsers(dest="kind", metavar="KIND", required=True)
    export = kinds.add_parser(
        "slack-export",
        parents=[common],
        help="carve a channel out of a Slack export",
        description=cmd_import_slack.__doc__,
    )
    export.add_argument("export", metavar="EXPORT", help="the export's folder or zip file")
    export.add_argument("--channel", required=True, metavar="NAME", help="channel name or id")
    export.add_argument("--incident", required=True, metavar="ID", help="the snapshot to write")
    export.add_argument("--since", metavar="ISO", help="keep messages at or after this time")
    export.add_argument("--until", metavar="ISO", help="keep messages at or before this time")
    export.set_defaults(run=cmd_import_slack)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.data_dir = getattr(args, "data_dir", None)
    try:
        as_utc(getattr(args, "as_of", None))  # checked here for every command
        return int(args.run(args))
    except PiaError as error:
        error_line(
            error.worded(lambda name: getattr(args, "options", {}).get(name, option(name))), args
        )
        return error.exit_code
    except KeyboardInterrupt:
        print("pia: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
