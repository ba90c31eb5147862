"""Run a report notebook with papermill and render it with nbconvert, in-process.

``render_report`` is what ``pia report`` calls: execute ``notebooks/incident_review.ipynb`` with
the incident's parameters, keep the executed ``.ipynb``, and write the formats asked for:
HTML through our own template (``templates/pia``), Markdown from the Jinja postmortem draft,
PDF by printing the HTML in headless Chromium where it is installed.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pia.errors import PiaError
from pia.snapshot import atomic_write
from pia.times import TimeLike, as_utc, iso

# nbformat imports jsonschema, whose format checker imports rfc3987_syntax if it is installed
# (jupyterlab brings it); that module builds a grammar at import, about 2 s, for IRI formats
# that no notebook schema uses. Marking it absent makes jsonschema skip that one checker.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # None marks a module absent

PACKAGE = Path(__file__).resolve().parents[1]


def _shipped(name: str) -> Path:
    """``notebooks/`` or ``templates/``: at the top of a checkout, and mapped into the package
    when a wheel is built, so an installed copy finds them too."""
    inside = PACKAGE / name
    return inside if inside.is_dir() else PACKAGE.parent / name


NOTEBOOKS = _shipped("notebooks")
TEMPLATES = _shipped("templates")
FORMATS = ("html", "pdf", "md", "ipynb")
_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_TIMEOUT = 60
#: seconds one notebook cell may run before the report is abandoned
CELL_TIMEOUT = 600
#: the tag of a notebook's tutorial cells (prose, and the DataFrames behind each section):
#: the HTML report leaves them out, so a report run skips them; ``pia notebook`` runs them all
NOTEBOOK_ONLY = "notebook-only"


class ReportError(PiaError):
    """A report could not be made; the message says which incident and why. ``notebook`` is
    the notebook as it ran up to the failing cell (``<name>.failed.ipynb``), where one was kept."""

    def __init__(self, message: str, notebook: Path | None = None) -> None:
        super().__init__(message)
        self.notebook = notebook


@dataclass
class Rendered:
    """What one report run wrote, and what it could not write (with the reason)."""

    incident: str
    files: dict[str, Path] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    #: the title the report shows (masked and pseudonymised as the report is)
    title: str = ""


def parse_formats(text: str | Iterable[str]) -> list[str]:
    """``"html,pdf"`` → ``["html", "pdf"]``; an unknown format lists the known ones."""
    wanted = [
        f.strip().lower() for f in (text.split(",") if isinstance(text, str) else text) if f.strip()
    ]
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown:
        raise PiaError(f"unknown format {unknown[0]!r} (known: {', '.join(FORMATS)})")
    return wanted or ["html"]


#: run first in the kernel: on Linux the kernel is killed when the process that started it
#: ends, however it ends (SIGTERM, SIGKILL, Ctrl-C), and exits at once if that has happened
#: already; an orphaned kernel would otherwise keep computing a report nobody waits for
_TIED_TO_PARENT = (
    "import ctypes as _c, os as _o, signal as _s, sys as _y\n"
    "if _y.platform == 'linux':\n"
    "    _c.CDLL(None).prctl(1, _s.SIGKILL)\n"  # PR_SET_PDEATHSIG
    "    if str(_o.getppid()) != _o.environ.get('JPY_PARENT_PID', str(_o.getppid())): _o._exit(1)\n"
    "del _c, _o, _s, _y"
)


def execute(
    notebook: Path,
    parameters: Mapping[str, Any],
    *,
    cwd: Path | None = None,
    failed: Path | None = None,
    mask: Callable[[str], str] | None = None,
    skip: str | None = None,
) -> Any:
    """Execute ``notebook`` with papermill; returns the executed notebook node (the caller
    writes it, atomically, where it belongs). Code cells tagged ``skip`` are left unrun.

    A failing cell becomes a :class:`ReportError` naming the notebook and the exception. As
    papermill does, the notebook as it ran is kept as evidence: at ``failed``, with the error
    cell marked and papermill's note at the top, its errors passed through ``mask``."""
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError
    from traitlets.config import Config

    # The kernel talks over local sockets in a folder of its own: no TCP port is opened, and
    # kernels running side by side (a batch) cannot pick the same socket names.
    with tempfile.TemporaryDirectory(prefix="pia-kernel-") as sockets:
        settings = Config(
            {"KernelManager": {"transport": "ipc", "ip": os.path.join(sockets, "kernel")}}
        )
        ran = (
            Path(sockets) / "ran.ipynb"
        )  # papermill writes it at the end, marked where a cell failed
        try:
            return papermill.execute_notebook(
                str(notebook),
                str(ran),
                parameters=dict(parameters),
                kernel_name="python3",
                progress_bar=False,
                request_save_on_cell_execute=False,
                cwd=str(cwd or Path.cwd()),
                config=settings,
                # it keeps its logs to itself, and does not outlive this process
                extra_arguments=[
                    "--IPKernelApp.log_level=CRITICAL",
                    f"--IPKernelApp.exec_lines={json.dumps([_TIED_TO_PARENT])}",
                ],
                start_timeout=120,
                execution_timeout=CELL_TIMEOUT,
                skip_cells_with_tag=skip or "skip-execution",  # nbclient's own default
            )
        except PapermillExecutionError as error:
            kept = None
            if failed is not None and ran.exists():
                kept = _keep_failed(nbformat.read(ran, as_version=4), parameters, failed, mask)
            if error.ename in _pia_errors():
                # the library's own error (a bad snapshot, an unknown incident): its message says it all
                raise ReportError(error.evalue, kept) from None
            detail = error.evalue or next(
                (line for line in reversed(_plain(error.traceback)) if line.strip()), ""
            )
            raise ReportError(
                f"{notebook.name} failed in cell {error.exec_count}: {error.ename}: {detail}", kept
            ) from None


def _keep_failed(
    ran: Any, parameters: Mapping[str, Any], path: Path, mask: Callable[[str], str] | None
) -> Path:
    """Write the notebook that failed to ``path``: re-runnable like a finished one (the run's
    parameters in its first cell), its error outputs masked where they quote the input."""
    _fold_parameters(ran, parameters)
    for cell in ran.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and mask is not None:
                output["evalue"] = mask(output.get("evalue", ""))
                output["traceback"] = [mask(line) for line in output.get("traceback", [])]
    return write_text(path, _without_timings(ran))


_TIMINGS = ("start_time", "end_time", "duration", "input_path", "output_path")


def _fold_parameters(notebook: Any, parameters: Mapping[str, Any]) -> None:
    """Write the values of this run into the ``parameters`` cell (its comments kept) and drop
    the cell papermill injected after it, so editing the first cell and running all cells in
    JupyterLab explores another incident instead of being overridden again."""
    cells = notebook.cells
    injected = [
        i for i, cell in enumerate(cells) if "injected-parameters" in cell.metadata.get("tags", [])
    ]
    first = next((cell for cell in cells if "parameters" in cell.metadata.get("tags", [])), None)
    if not injected or first is None:
        return
    lines = []
    for line in first.source.splitlines():
        name = line.split("=", 1)[0].strip()
        if "=" in line and name in parameters:
            comment = line.split("#", 1)[1] if "#" in line.split("=", 1)[1] else ""
            line = f"{name} = {parameters[name]!r}" + (f"  #{comment}" if comment else "")
        lines.append(line)
    first.source = "\n".join(lines)
    del cells[injected[0]]


def _without_timings(notebook: Any) -> str:
    """The executed notebook as JSON without the clock times and paths papermill and nbclient
    record, so the same snapshot gives the same file."""
    import nbformat

    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        for key in _TIMINGS:
            cell.metadata.get("papermill", {}).pop(key, None)
    for key in _TIMINGS:
        notebook.metadata.get("papermill", {}).pop(key, None)
    return nbformat.writes(notebook)


def _pia_errors() -> set[str]:
    """Names of pia's error classes, as a kernel reports them."""
    found, todo = set(), [PiaError]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return found


def _shown(notebook: Any, key: str) -> str | None:
    """The first output of ``key`` (a MIME type or one of pia's metadata keys) that the executed
    notebook displayed: the postmortem draft's ``text/markdown``, the header's ``pia-title``."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            value = output.get("data", {}).get(key) or output.get("metadata", {}).get(key)
            if value:
                return value if isinstance(value, str) else "".join(value)
    return None


def _plain(traceback: list[str]) -> list[str]:
    """Traceback lines without the terminal colour codes IPython adds."""
    return [
        re.sub(r"\x1b\[[0-9;]*m", "", line) for chunk in traceback for line in chunk.splitlines()
    ]


def to_html(notebook: Any, *, title: str, footer: str = "") -> str:
    """The executed notebook as one self-contained HTML page (our template, outputs only)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="pia", extra_template_basedirs=[str(TEMPLATES)])
    body, _ = exporter.from_notebook_node(
        notebook, resources={"metadata": {"name": title}, "pia_title": title, "pia_footer": footer}
    )
    return body


def find_chromium() -> str | None:
    """Path of a Chromium or Chrome binary, or None."""
    explicit = os.environ.get("PIA_CHROMIUM")
    if explicit:
        return explicit if shutil.which(explicit) else None
    return next((found for name in _CHROMIUM_NAMES if (found := shutil.which(name))), None)


CHROMIUM_MISSING = "PDF skipped: no Chromium found (install it: sudo apt-get install chromium, or set PIA_CHROMIUM)"


def chromium_args(binary: str, profile: str) -> list[str]:
    """Flags for a headless, offline Chromium that makes no background requests."""
    return [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        f"--user-data-dir={profile}",
    ]


def html_to_pdf(html: Path, pdf: Path, *, binary: str | None = None) -> None:
    """Print ``html`` to ``pdf`` with headless Chromium, bounded by a timeout."""
    binary = binary or find_chromium()
    if binary is None:
        raise ReportError(CHROMIUM_MISSING)
    with tempfile.TemporaryDirectory(prefix="pia-chromium-") as profile:
        # a file of our own, made exclusively: Chromium never writes through a planted link
        handle, name = tempfile.mkstemp(dir=pdf.parent, prefix=".pia-", suffix=".pdf.tmp")
        os.close(handle)
        tmp = Path(name)
        command = [
            *chromium_args(binary, profile),
            "--no-pdf-header-footer",
            f"--print-to-pdf={tmp}",
            html.resolve().as_uri(),
        ]
        try:
            subprocess.run(command, capture_output=True, timeout=CHROMIUM_TIMEOUT, check=True)
        except subprocess.TimeoutExpired:
            tmp.unlink(missing_ok=True)
            raise ReportError(
                f"PDF of {html.name}: Chromium did not finish within {CHROMIUM_TIMEOUT} s"
            ) from None
        except subprocess.CalledProcessError as error:
            tmp.unlink(missing_ok=True)
            raise ReportError(
                f"PDF of {html.name}: Chromium exited with {error.returncode}"
            ) from None
        if not tmp.exists() or tmp.stat().st_size == 0:
            tmp.unlink(missing_ok=True)
            raise ReportError(f"PDF of {html.name}: Chromium wrote nothing")
        os.chmod(tmp, 0o644)
        os.replace(tmp, pdf)


def write_text(path: Path, text: str) -> Path:
    atomic_write(path, text.encode())
    return path


def render_report(
    incident_id: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] = "reports",
    formats: Iterable[str] = ("html",),
    as_of: TimeLike | None = None,
    tz: str = "UTC",
    redact: bool = True,
    pseudonymise: bool = False,
    pseudonyms: str | os.PathLike[str] | None = None,
    tutorial: bool = False,
) -> Rendered:
    """Run the review notebook for ``incident_id`` and write ``<out>/<id>.ipynb`` (always) and
    the ``formats`` asked for (``html``, ``pdf``, ``md``). A PDF that cannot be made (no
    Chromium) is listed in ``skipped`` with the reason; the other formats are still written.
    Secrets are masked unless ``redact`` is false; ``pseudonymise`` / ``pseudonyms`` replace
    names (see :meth:`pia.report.review.Review.load`). The notebook's tutorial cells, which
    the report leaves out, run only where ``tutorial`` is true. Raises :class:`ReportError`
    when the notebook fails, naming the cell and the error."""
    from pia.privacy.redact import mask_text
    from pia.snapshot import data_dir as resolve
    from pia.snapshot import open_incident

    root = resolve(data_dir)
    open_incident(incident_id, root)  # an unknown id fails here, before a kernel starts
    stamp = as_utc(as_of)
    parameters = {
        "incident_id": incident_id,
        "data_dir": _from(out, root),
        "as_of": iso(stamp) if stamp is not None else None,
        "tz": tz,
        "redact": redact,
        "pseudonymise": pseudonymise,
        "pseudonyms": _from(out, pseudonyms),
    }
    mask = functools.partial(mask_text, data_dir=root) if redact else None
    skip = None if tutorial else NOTEBOOK_ONLY
    return render_notebook(
        NOTEBOOKS / "incident_review.ipynb",
        incident_id,
        parameters,
        out=out,
        formats=formats,
        mask=mask,
        skip=skip,
    )


def write_review_notebook(
    incident_id: str,
    *,
    out: str | os.PathLike[str] = "reviews",
    force: bool = False,
    **options: Any,
) -> Path:
    """``<out>/<incident_id>.ipynb``: the review notebook for that incident, every cell executed
    (the tutorial's too), to open in JupyterLab and write the review in. A notebook there that
    was changed after pia wrote it (cells edited or run) is never replaced unless ``force``;
    ``options`` are those of :func:`render_report`."""
    import nbformat

    path = Path(out) / f"{incident_id}.ipynb"
    if path.exists() and not force and _edited(path):
        raise PiaError(
            f"{path}: changed since pia wrote it, so it is kept (force replaces it)",
            parameters=("force",),
        )
    written = render_report(
        incident_id, out=out, formats=["ipynb"], tutorial=True, **options
    ).files["ipynb"]
    notebook = nbformat.read(written, as_version=4)
    notebook.metadata["pia"] = {"cells": _cells_digest(notebook)}
    write_text(written, nbformat.writes(notebook))
    return written


def _cells_digest(notebook: Any) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps(notebook["cells"], sort_keys=True).encode()).hexdigest()


def _edited(path: Path) -> bool:
    """Whether the notebook at ``path`` is not the one pia wrote: its cells differ from the
    digest pia stored, or it has none (someone else's file)."""
    import nbformat

    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception:  # not a notebook we can read: someone's file, keep it
        return True
    return notebook.metadata.get("pia", {}).get("cells") != _cells_digest(notebook)


def _from(out: str | os.PathLike[str], path: str | os.PathLike[str] | None) -> str | None:
    """``path`` relative to the output folder, where the kernel runs: the executed notebook
    opens and re-runs in JupyterLab from there, and names no folder of this machine."""
    if path is None:
        return None
    return Path(os.path.relpath(Path(path).resolve(), Path(out).resolve())).as_posix()


def _literally(text: str) -> Callable[[re.Match[str]], str]:
    """A replacement for :func:`re.sub` that puts ``text`` in as it is (no backslash escapes)."""
    return lambda _: text


def _from_here(message: str, parameters: Mapping[str, Any], folder: Path) -> str:
    """``message`` from the kernel with the paths it got (relative to the output folder)
    written relative to where the command runs, as the user gave them."""
    for value in parameters.values():
        if isinstance(value, str) and value.startswith(".."):
            here = Path(os.path.relpath(folder / value)).as_posix()
            message = re.sub(rf"{re.escape(value)}(?=[/:\s]|$)", _literally(here), message)
    return message


def render_notebook(
    notebook: Path,
    name: str,
    parameters: Mapping[str, Any],
    *,
    out: str | os.PathLike[str],
    formats: Iterable[str] = ("html",),
    title: str | None = None,
    mask: Callable[[str], str] | None = None,
    skip: str | None = None,
) -> Rendered:
    """Run ``notebook`` with ``parameters`` and write ``<out>/<name>.ipynb`` and the formats
    asked for (``html``, ``pdf``; ``md`` only where the notebook shows a postmortem draft).
    Code cells tagged ``skip`` are left unrun.

    Where a cell fails, the notebook as it ran is kept as ``<out>/<name>.failed.ipynb`` (its
    errors passed through ``mask``) and the :class:`ReportError` names it; a later run that
    succeeds removes it."""
    wanted = parse_formats(formats)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    result = Rendered(name)
    failed = folder / f"{name}.failed.ipynb"
    try:
        executed = execute(notebook, parameters, cwd=folder, failed=failed, mask=mask, skip=skip)
    except ReportError as error:
        message = _from_here(str(error), parameters, folder)
        if error.notebook is not None:
            message += f" (the notebook as it ran: {error.notebook})"
        raise ReportError(message, error.notebook) from None
    failed.unlink(missing_ok=True)
    _fold_parameters(executed, parameters)
    executed_path = write_text(folder / f"{name}.ipynb", _without_timings(executed))
    result.files["ipynb"] = executed_path
    result.title = title or _shown(executed, "pia-title") or name
    page_title = f"{result.title} ({name})"
    if "html" in wanted or "pdf" in wanted:
        html = write_text(
            folder / f"{name}.html", to_html(executed, title=page_title, footer=f"pia: {name}")
        )
        if "html" in wanted:
            result.files["html"] = html
        if "pdf" in wanted:
            try:
                pdf = folder / f"{name}.pdf"
                html_to_pdf(html, pdf)
                result.files["pdf"] = pdf
            except ReportError as error:
                result.skipped["pdf"] = str(error)
            if "html" not in wanted:
                html.unlink(missing_ok=True)
    if "md" in wanted:
        draft = _shown(executed, "text/markdown")
        if draft is None:
            result.skipped["md"] = f"{name}: no Markdown draft for this notebook"
        else:
            result.files["md"] = write_text(folder / f"{name}.md", draft)
    return result


def render_trends(
    *,
    data_dir: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] = "reports",
    formats: Iterable[str] = ("html",),
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    group_by: str = "month",
    as_of: TimeLike | None = None,
    table: str | os.PathLike[str] | None = None,
    pseudonymise: bool = False,
) -> Rendered:
    """Run the trends notebook over the data dir (or ``table``) into ``<out>/trends.*``;
    ``pseudonymise`` hides responders' names."""
    from pia.privacy.redact import mask_text
    from pia.report.trends import TrendsReport
    from pia.snapshot import data_dir as resolve

    root = resolve(data_dir)
    # check the options in-process first: a bad one fails here with pia's one-line message
    window, stamp = TrendsReport.check(
        since=since, until=until, group_by=group_by, as_of=as_of, table=table
    )
    # notebook parameters are text: each time as ISO 8601 in UTC
    since, until, as_of = (iso(t) if t is not None else None for t in (*window, stamp))
    parameters = {
        "data_dir": _from(out, root),
        "since": since,
        "until": until,
        "group_by": group_by,
        "as_of": as_of,
        "table": _from(out, table),
        "pseudonymise": pseudonymise,
    }
    mask = functools.partial(mask_text, data_dir=root)
    return render_notebook(
        NOTEBOOKS / "trends.ipynb",
        "trends",
        parameters,
        out=out,
        formats=formats,
        title="Incident trends",
        mask=mask,
    )
