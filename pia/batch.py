"""Reports for many incidents at once: in parallel, skipping what has not changed, and never
letting one broken incident stop the others; then the trends report and an index page."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pandas as pd

from pia.cache import as_given, config_hash, hash_files, measure_all, snapshot_hash
from pia.errors import PiaError
from pia.milestones.config import Config, load_config
from pia.privacy import title_mask
from pia.report.render import (
    NOTEBOOKS,
    TEMPLATES,
    Rendered,
    parse_formats,
    render_report,
    render_trends,
    write_text,
)
from pia.snapshot import data_dir, list_incidents
from pia.times import TimeLike, as_utc, human_duration

if TYPE_CHECKING:
    from pia.cluster import Cluster

#: the durations shown on the index page: the three headline ones, then mitigate and resolve
INDEX_DURATIONS = [
    "time_to_engage",
    "time_to_hypothesis",
    "time_to_restore",
    "time_to_mitigate",
    "time_to_resolve",
]
STATE = ".pia-batch"


@dataclass
class BatchResult:
    """What a batch did: rendered, up to date (skipped), failed (id → one-line reason)."""

    rendered: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    index: Path | None = None
    trends: Path | None = None
    #: the time open incidents were censored at: ``as_of``, else when the batch ran
    as_of: pd.Timestamp | None = None
    #: every file written: reports in each format, the trends, the index
    written: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def _render_one(incident: str, options: dict[str, Any]) -> tuple[str, Rendered | None, str]:
    """Worker: one report, an open incident's censored at its ``options["censor"]`` time, with
    any failure turned into a one-line message."""
    try:
        report_options = dict(options)
        censor = report_options.pop("censor")
        return incident, render_report(incident, as_of=censor.get(incident), **report_options), ""
    except PiaError as error:
        return incident, None, str(error)
    except Exception as error:  # a worker must report, not die: the batch goes on
        return (
            incident,
            None,
            f"{incident}: unexpected {type(error).__name__}: {error}".splitlines()[0],
        )


def _inputs_hash() -> str:
    """The notebooks and templates every report depends on."""
    files = [p for folder in (NOTEBOOKS, TEMPLATES) for p in folder.rglob("*") if p.is_file()]
    return hash_files(files, NOTEBOOKS.parent).hexdigest()


def run_batch(
    root: str | os.PathLike[str] | None = None,
    *,
    out: str | os.PathLike[str] = "reports",
    formats: Iterable[str] = ("html",),
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    jobs: int | None = None,
    force: bool = False,
    as_of: TimeLike | None = None,
    tz: str = "UTC",
    trends: bool = True,
    progress: bool = True,
    redact: bool = True,
    pseudonymise: bool = False,
    pseudonyms: str | os.PathLike[str] | None = None,
    scheduler: str | None = None,
) -> BatchResult:
    """Render a report for every incident in the data dir (detected within ``since``..``until``)
    with ``jobs`` processes (default: one per core), or on the Dask cluster whose scheduler is
    at ``scheduler`` (see :mod:`pia.cluster`), then the trends report and ``<out>/index.html``.
    A report whose snapshot, config, notebook, templates and options are unchanged since the
    last run is kept as it is, unless ``force``. ``redact``, ``pseudonymise`` and
    ``pseudonyms`` are passed to every report.

    Incidents still open are censored at ``as_of``, else at the time the batch runs (in
    ``result.as_of``), in their reports, the index and the trends; a report of an open
    incident is therefore rendered again on every run."""
    base = data_dir(root)
    folder = Path(out)
    wanted = parse_formats(formats)
    window = (as_utc(since, "since"), as_utc(until, "until"))
    stamp = as_utc(as_of) or pd.Timestamp.now(tz="UTC").floor("s").as_unit("ns")
    with _cluster(scheduler, base, folder) as cluster:
        measured = measure_all(base, as_of=stamp, progress=progress, cluster=cluster)
        result = BatchResult()
        for line in measured.failures:
            result.failed[_incident_of(line, base)] = line
        table = measured.table
        if len(table) and any(window):
            from pia.trends import in_window

            table = in_window(table, *window)
        todo = list(table["incident"]) if len(table) else []
        mapping = Path(pseudonyms).read_text() if pseudonyms is not None else None
        salt = json.dumps(
            [config_hash(base), _inputs_hash(), wanted, tz, redact, pseudonymise, mapping]
        )
        # a finished incident's report does not depend on as_of; an open one's is censored there
        still_open = set(table.loc[table["status"] == "open", "incident"]) if len(table) else set()
        censor = {
            i: stamp for i in todo if i in still_open
        }  # sent with every report: the open ones only
        result.as_of = stamp if still_open else None
        keys = {
            i: hashlib.sha256(
                (snapshot_hash(base / "incidents" / i) + salt + str(censor.get(i, ""))).encode()
            ).hexdigest()
            for i in todo
        }
        state = folder / STATE
        titles = {i: _stored(state / i, keys[i]) for i in todo}
        stale = [i for i in todo if force or titles[i] is None or not _written(folder, i, wanted)]
        result.unchanged = [i for i in todo if i not in stale]
        options = {
            "data_dir": base,
            "out": folder,
            "formats": wanted,
            "tz": tz,
            "redact": redact,
            "pseudonymise": pseudonymise,
            "pseudonyms": pseudonyms,
            "censor": censor,
        }
        for incident, rendered, error in _run(stale, options, jobs, progress, cluster):
            if error:
                result.failed[incident] = error
            else:
                result.rendered.append(incident)
                titles[incident] = rendered.title
                os.makedirs(state, exist_ok=True)
                write_text(
                    state / incident, json.dumps({"key": keys[incident], "title": rendered.title})
                )
                result.written += rendered.files.values()
                for fmt, reason in (rendered.skipped if rendered else {}).items():
                    result.failed.setdefault(f"{incident} ({fmt})", reason)
        trends_key = hashlib.sha256(
            json.dumps([sorted(keys.items()), salt, *map(str, window)]).encode()
        ).hexdigest()
        if trends and (
            force
            or _stored(state / "trends", trends_key) is None
            or not _written(folder, "trends", ["html"])
        ):
            try:
                hide = pseudonymise or pseudonyms is not None
                made = render_trends(
                    data_dir=base,
                    out=folder,
                    since=window[0],
                    until=window[1],
                    as_of=stamp if still_open else None,
                    pseudonymise=hide,
                )
                result.written += made.files.values()
                os.makedirs(state, exist_ok=True)
                write_text(
                    state / "trends", json.dumps({"key": trends_key, "title": "Incident trends"})
                )
            except PiaError as error:
                result.failed["trends"] = str(error)
        if trends and "trends" not in result.failed:
            result.trends = folder / "trends.html"
        if redact:  # an error can quote its input; the index shows severity and services too
            from pia.privacy import scrub
            from pia.privacy.redact import load_redactor

            redactor = load_redactor(base)
            result.failed = {
                incident: redactor.value(reason) for incident, reason in result.failed.items()
            }
            table = scrub.frame(table, redactor, None)
        mask = title_mask(
            base, redact=redact, pseudonymise=pseudonymise or pseudonyms is not None
        ) or (lambda title: "")
        result.index = write_index(folder, table, result, titles, mask, load_config(base))
        result.written.append(result.index)
        return result


@contextmanager
def _cluster(scheduler: str | None, base: Path, folder: Path) -> Iterator[Cluster | None]:
    """The cluster at ``scheduler``, checked to see both folders; None for the local pool."""
    if scheduler is None:
        yield None
        return
    from pia.cluster import Cluster

    with Cluster(scheduler) as cluster:
        cluster.check_shared(base.resolve(), folder.resolve())
        yield cluster


def _incident_of(line: str, base: Path) -> str:
    """The incident a one-line failure message is about (its path names the folder)."""
    marker = f"{base}/incidents/"
    known = sorted(list_incidents(base), key=len, reverse=True)  # a folder name may hold a ':'
    if marker in line:
        after = line.partition(marker)[2]
        return next(
            (i for i in known if after.startswith((f"{i}/", f"{i}:"))),
            after.partition("/")[0].partition(":")[0],
        )
    for incident in known:
        if incident in line:
            return incident
    return line.partition(":")[0]


def _stored(key_file: Path, key: str) -> str | None:
    """The title of the report made under ``key``, or None if it was made under another."""
    try:
        stored = json.loads(key_file.read_text())
    except (OSError, ValueError):
        return None
    return (
        str(stored.get("title", ""))
        if isinstance(stored, dict) and stored.get("key") == key
        else None
    )


def _written(folder: Path, incident: str, formats: list[str]) -> bool:
    return all((folder / f"{incident}.{fmt}").exists() for fmt in formats if fmt != "pdf")


def _run(
    todo: list[str],
    options: dict[str, Any],
    jobs: int | None,
    progress: bool,
    cluster: Cluster | None = None,
):
    """Yield ``(incident, rendered, error)`` as reports finish, in a process pool or on the
    cluster."""
    if not todo:
        return
    workers = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="reports", unit="report")
    try:
        if cluster is not None:
            yield from _run_on(cluster, todo, options, bar)
            return
        if workers == 1:
            for incident in todo:
                yield _render_one(incident, options)
                bar and bar.update()
            return
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_render_one, incident, options) for incident in todo]
            for future in as_completed(futures):
                yield future.result()
                bar and bar.update()
    finally:
        if bar is not None:
            bar.close()


def _run_on(cluster: Cluster, todo: list[str], options: dict[str, Any], bar: Any):
    """The reports rendered on the cluster's workers, which get the folders as absolute paths;
    messages name them as the caller gave them. A worker killed mid-report leaves its staging
    files behind: they are removed once the report has been written elsewhere."""
    given = options["data_dir"], options["out"]
    absolute = {"data_dir": Path(given[0]).resolve(), "out": Path(given[1]).resolve()}
    for incident, answer, lost in cluster.as_finished(_render_one, todo, options | absolute):
        _, rendered, error = answer if answer else (incident, None, f"{incident}: {lost}")
        for leftover in absolute["out"].glob(f".{incident}.*"):
            leftover.unlink(missing_ok=True)
        # a failed notebook kept under the absolute --out is named as the caller gave the folder too
        yield (
            incident,
            rendered,
            as_given(as_given(error, absolute["data_dir"], given[0]), absolute["out"], given[1])
            if error
            else "",
        )
        bar and bar.update()


def report_link(incident: str) -> str:
    """The index's link to an incident's review: relative and percent-encoded, so no id can
    make it a link elsewhere (``https:evil.example``, ``javascript:``)."""
    return "./" + quote(f"{incident}.html", safe="")


def write_index(
    folder: Path,
    table: pd.DataFrame,
    result: BatchResult,
    titles: Mapping[str, str | None] | None = None,
    mask: Callable[[str], str] = str,
    config: Config | None = None,
) -> Path:
    """``<folder>/index.html``: every incident with its key durations, status and a link to
    its report (or why it failed), and a link to the trends report. Titles are the ones the
    reports show (``titles``, masked and pseudonymised as they are), else ``mask`` of
    ``incident.toml``'s title."""
    import jinja2

    rows = []
    for record in table.to_dict("records") if len(table) else []:
        incident = record["incident"]
        shown = (titles or {}).get(incident)
        row = {
            "incident": incident,
            "title": shown
            if shown is not None and incident not in result.failed
            else mask(str(record.get("title", ""))),
            "severity": record.get("severity", ""),
            "services": str(record.get("services", "")).replace(",", ", "),
            "start": f"{record['detected']:%Y-%m-%d %H:%M}"
            if pd.notna(record.get("detected"))
            else "",
            "status": record.get("status", ""),
            "link": report_link(incident)
            if (folder / f"{incident}.html").exists() and incident not in result.failed
            else "",
            "failed": result.failed.get(incident, ""),
        }
        for name in INDEX_DURATIONS:
            value = record.get(name)
            text = human_duration(value)
            row[name] = text if record.get(f"{name}_observed", True) or text == "–" else f"≥ {text}"
        rows.append(row)
    listed = {r["incident"] for r in rows}
    rows += [
        {"incident": i, "failed": reason, "link": ""} | dict.fromkeys(INDEX_DURATIONS, "")
        for i, reason in result.failed.items()
        if i not in listed and i != "trends" and " (" not in i
    ]
    since = {spec.name: spec.since for spec in (config or load_config()).durations}
    columns = [
        {"name": d, "label": d.replace("_", " "), "since": since.get(d, "")}
        for d in INDEX_DURATIONS
    ]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.ChainableUndefined,
    )
    page = env.get_template("index.html.j2").render(
        rows=rows,
        durations=columns,
        as_of=f"{result.as_of:%Y-%m-%d %H:%M} UTC" if result.as_of is not None else "",
        failures=list(result.failed.values()),
        trends="trends.html" if result.trends else "",
    )
    return write_text(folder / "index.html", page)
