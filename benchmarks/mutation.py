"""Mutation testing: change one operator or constant of a module at a time and see whether the
tests that run that line notice. Prints the score per module and every mutant that survived.

    python benchmarks/mutation.py                        # every module below
    python benchmarks/mutation.py pia/trends.py --jobs 2 # one module
    python benchmarks/mutation.py --report               # the score of what has run so far

Not part of the test suite (hours of CPU on a small machine). How it stays affordable:

- each module has the test files that cover it (``MODULES``); a first run of those tests under a
  line tracer records which tests execute each line, and how long each test takes;
- a mutant runs only the tests that execute its line (fastest first, but tests that share a
  module-scoped fixture together and in their own order; stopping at the first failure); a mutant on a line no test executes is reported as not covered, without a run;
- the third-party libraries are imported once; each mutant runs in a forked child that imports
  pia afresh with the mutated module compiled from the changed syntax tree (nothing is written to
  the source files), in a session and temporary folder of its own, with a timeout;
- results are appended to ``build/mutation/results.jsonl`` as they come, keyed by the module, the
  mutated line's text and the change, so an interrupted run resumes where it stopped and an edit
  re-runs only the mutants of the lines it touched (``--again`` re-runs the survivors too).

Mutations: arithmetic and bitwise operators swapped (``+``/``-``, ``*``/``/``, ``&``/``|``),
comparisons moved across their boundary or negated (``<``/``<=``, ``==``/``!=``, ``in``/``not in``,
``is``/``is not``), ``and``/``or``, ``not``/``~``/unary minus dropped, ``True``/``False``
flipped, numbers changed by one, ``break``/``continue`` swapped. Strings (messages, column names)
and annotations are left alone. A test run that times out counts as killed (the mutant made the
code loop or crawl); one that errors before running a test is listed apart and not scored. A
survivor explained in ``benchmarks/mutation-equivalents.md`` (the change is not observable) is
counted as ``equiv`` and left out of the score.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import importlib.abc
import importlib.util
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: module → the test files that exercise it (tests that only drive a notebook kernel are left
#: out: the kernel is another process and imports pia unmutated)
MODULES: dict[str, list[str]] = {
    "pia/trends.py": ["tests/test_trends.py"],
    "pia/cache.py": ["tests/test_batch.py", "tests/test_metrics.py"],
    "pia/snapshot.py": [
        "tests/test_snapshot.py", "tests/test_samples.py", "tests/test_events_slack.py", "tests/test_validate.py", "tests/test_cli_timeline.py",
        "tests/test_corpus.py", "tests/test_fetch_cli.py",  # hostile exports (links, zip bombs) and fetched snapshots written whole
    ],
    "pia/metrics.py": ["tests/test_metrics.py", "tests/test_milestones.py", "tests/test_integrations.py"],  # bots' posts credited to people only the directory knows
    "pia/milestones/detect.py": [
        "tests/test_milestones.py", "tests/test_metrics.py", "tests/test_accuracy.py",
        "tests/test_integrations.py",  # the order of evidence: PagerDuty, incident platforms, status pages, alerts
    ],
    "pia/milestones/numbers.py": ["tests/test_milestones.py"],
    "pia/milestones/vocative.py": ["tests/test_milestones.py"],
    "pia/batch.py": ["tests/test_batch.py"],
}
#: imported once in the parent, so each child only imports pia itself
PRELOAD = [
    "numpy", "pandas", "pyarrow", "pyarrow.parquet", "pytest", "hypothesis", "lifelines", "jinja2", "lemminflect", "emoji", "tqdm",
    "matplotlib.pyplot", "matplotlib.dates", "mpl_toolkits.mplot3d", "PIL.Image",  # the charts (Agg, as pia.report.charts sets it)
    "anyio.pytest_plugin", "platformdirs", "_hypothesis_pytestplugin", "concurrent.futures.process", "xml.etree.ElementTree",  # pytest's plugins and the batch's pool
]
STATE = ROOT / "build" / "mutation"
GOAL = 0.85
#: bumped when the baseline records something new (a saved one of another format is traced again)
BASELINE_FORMAT = "2"

# --- mutants ------------------------------------------------------------------------------------

_BINARY = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Mult, ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult, ast.BitAnd: ast.BitOr, ast.BitOr: ast.BitAnd, ast.BitXor: ast.BitOr}
_COMPARE = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
_SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^",
           ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=", ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
           ast.And: "and", ast.Or: "or", ast.Not: "not", ast.Invert: "~", ast.USub: "-"}


@dataclass(frozen=True)
class Mutant:
    module: str
    index: int  # the n-th mutable spot in the module, in walk order
    choice: int  # which change of that spot
    line: int
    what: str  # e.g. "< → <="

    @property
    def name(self) -> str:
        return f"{self.module}:{self.line} {self.what}"


def _skipped(tree: ast.AST) -> set[int]:
    """ids of nodes whose mutation means nothing: annotations, f-strings, docstrings, ``__all__``."""
    skip: set[int] = set()

    def mark(node: ast.AST | None) -> None:
        if node is not None:
            skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            mark(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            mark(node.returns)
        elif isinstance(node, ast.AnnAssign):
            mark(node.annotation)
        elif isinstance(node, ast.JoinedStr):
            mark(node)
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            mark(node)
    return skip


def _changes(node: ast.AST) -> list[tuple[str, object]]:
    """The ways to change ``node``: (description, what to apply)."""
    if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in _BINARY:
        new = _BINARY[type(node.op)]
        return [(f"{_SYMBOL[type(node.op)]} → {_SYMBOL[new]}", ("op", new))]
    if isinstance(node, ast.Compare):
        return [(f"{_SYMBOL[type(op)]} → {_SYMBOL[_COMPARE[type(op)]]}", ("cmp", i)) for i, op in enumerate(node.ops) if type(op) in _COMPARE]
    if isinstance(node, ast.BoolOp):
        new = ast.Or if isinstance(node.op, ast.And) else ast.And
        return [(f"{_SYMBOL[type(node.op)]} → {_SYMBOL[new]}", ("op", new))]
    if isinstance(node, ast.UnaryOp) and type(node.op) in (ast.Not, ast.Invert, ast.USub):
        return [(f"{_SYMBOL[type(node.op)]} dropped", ("drop", None))]
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return [(f"{node.value} → {not node.value}", ("value", not node.value))]
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return [(f"{node.value!r} → {node.value + 1!r}", ("value", node.value + 1))]
    if isinstance(node, ast.Break):
        return [("break → continue", ("swap", ast.Continue))]
    if isinstance(node, ast.Continue):
        return [("continue → break", ("swap", ast.Break))]
    return []


def _spots(tree: ast.AST) -> list[ast.AST]:
    skip = _skipped(tree)
    return [n for n in ast.walk(tree) if id(n) not in skip and _changes(n)]


def mutants(module: str, source: str) -> list[Mutant]:
    tree = ast.parse(source)
    return [
        Mutant(module, index, choice, node.lineno, what)
        for index, node in enumerate(_spots(tree))
        for choice, (what, _) in enumerate(_changes(node))
    ]


class _Apply(ast.NodeTransformer):
    def __init__(self, target: ast.AST, change: tuple[str, object]) -> None:
        self.target, self.change = target, change

    def generic_visit(self, node: ast.AST) -> ast.AST:
        node = super().generic_visit(node)
        if node is not self.target:
            return node
        kind, value = self.change
        if kind == "op":
            node.op = value()
        elif kind == "cmp":
            node.ops[value] = _COMPARE[type(node.ops[value])]()
        elif kind == "drop":
            return node.operand
        elif kind == "value":
            node.value = value
        elif kind == "swap":
            return ast.copy_location(value(), node)
        return node


def mutated_code(mutant: Mutant, source: str, filename: str):
    tree = ast.parse(source)
    target = _spots(tree)[mutant.index]
    change = _changes(target)[mutant.choice][1]
    tree = ast.fix_missing_locations(_Apply(target, change).visit(tree))
    return compile(tree, filename, "exec")


# --- running tests in a forked child ------------------------------------------------------------


class _Serve(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Gives the mutated code for one module name; everything else imports as usual."""

    def __init__(self, name: str, path: str, code) -> None:
        self.name, self.path, self.code = name, path, code

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        return importlib.util.spec_from_file_location(fullname, self.path, loader=self)

    def create_module(self, spec):
        return None

    def exec_module(self, module) -> None:
        exec(self.code, module.__dict__)


class _Tracer:
    """Which tests execute each line of one file (``None``: at import, so every test), and how
    long each test takes."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.current: str | None = None
        self.setup = False
        self.hits: dict[int, set[tuple[str | None, bool]]] = defaultdict(set)
        self.seconds: dict[str, float] = {}
        self.shared: dict[str, list[str]] = {}  # test → the module-scoped fixtures it uses

    def trace(self, frame, event, arg):
        if frame.f_code.co_filename != self.filename:
            return None
        self.hits[frame.f_lineno].add((self.current, self.setup))
        return self._line

    def _line(self, frame, event, arg):
        if event == "line":
            self.hits[frame.f_lineno].add((self.current, self.setup))
        return self._line

    def arm(self) -> None:
        """Trace from here on. Python drops a trace function that fails, as one called at the
        recursion limit does (a test of deeply nested input): armed again at each test, the
        tests after such a one are still traced."""
        sys.settrace(self.trace)
        threading.settrace(self.trace)

    def pytest_runtest_protocol(self, item, nextitem):
        self.arm()
        self.current = item.nodeid
        defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
        self.shared[item.nodeid] = sorted(name for name, found in defs.items() if found and found[-1].scope in ("module", "class", "package"))
        self.started = time.perf_counter()

    def pytest_runtest_setup(self, item):
        self.arm()
        self.setup = True

    def pytest_runtest_call(self, item):
        self.arm()
        self.setup = False

    def pytest_runtest_logfinish(self, nodeid, location):
        self.seconds[nodeid] = time.perf_counter() - self.started
        self.current = None


def _pytest_args(tests: list[str], basetemp: Path) -> list[str]:
    return ["-q", "-x", "-p", "no:cacheprovider", "-p", "no:randomly", "--no-header", "-o", "addopts=", f"--rootdir={ROOT}", f"--basetemp={basetemp}", *tests]


def _child(tests: list[str], basetemp: Path, out: Path, serve: _Serve | None = None, tracer: _Tracer | None = None) -> None:
    """In the forked child: run the tests and leave with pytest's exit code."""
    os.setsid()  # its own process group, so a timeout ends the kernels and workers it started too
    code = 3
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        sys.dont_write_bytecode = True
        os.chdir(basetemp.parent)  # a command's default output folder lands here, not in the checkout
        os.environ["TMPDIR"] = str(basetemp.parent)  # and temporary folders too: a killed child leaves nothing
        tempfile.tempdir = None
        if serve is not None:
            sys.meta_path.insert(0, serve)
        import pytest

        plugins = []
        if tracer is not None:
            tracer.arm()
            plugins.append(tracer)
        code = int(pytest.main(_pytest_args(tests, basetemp), plugins=plugins))
        if tracer is not None:
            sys.settrace(None)
            result = {"hits": {str(k): sorted([t or "", s] for t, s in v) for k, v in tracer.hits.items()}, "seconds": tracer.seconds, "shared": tracer.shared}
            (basetemp.parent / "baseline.json").write_text(json.dumps(result))
    except BaseException:  # noqa: BLE001 - anything here is reported by the exit code
        import traceback

        traceback.print_exc()
    finally:
        try:
            import atexit

            atexit._run_exitfuncs()  # the tests' own clean-up (copied sample data)
        finally:
            os._exit(code)


@dataclass
class _Running:
    pid: int
    work: Path
    deadline: float
    started: float
    mutant: Mutant | None


def _start(tests: list[str], timeout: float, mutant: Mutant | None = None, serve: _Serve | None = None, tracer: _Tracer | None = None) -> _Running:
    work = Path(tempfile.mkdtemp(prefix="pia-mutant-"))
    (work / "tmp").mkdir()
    pid = os.fork()
    if pid == 0:
        _child(tests, work / "tmp", work / "output.txt", serve, tracer)
    return _Running(pid, work, time.monotonic() + timeout, time.monotonic(), mutant)


def _poll(running: _Running) -> int | None:
    """The child's exit code; -1 once it is past its time (it is ended); None while it runs."""
    pid, status = os.waitpid(running.pid, os.WNOHANG)
    if pid:
        return os.waitstatus_to_exitcode(status)
    if time.monotonic() > running.deadline:
        try:
            os.killpg(running.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(running.pid, 0)
        return -1
    return None


# --- the run ------------------------------------------------------------------------------------


def _module_name(module: str) -> str:
    return module.removesuffix(".py").replace("/", ".")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _node_file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def baseline(module: str, state: Path, timeout: float) -> dict:
    """Which tests execute each line of ``module`` and how long each test takes (cached)."""
    tests = MODULES[module]
    key = _digest(BASELINE_FORMAT, *((ROOT / p).read_text() for p in [module, *tests]))
    cached = state / f"{_module_name(module)}.baseline.json"
    if cached.exists():
        saved = json.loads(cached.read_text())
        if saved.get("key") == key:
            return saved
    print(f"{module}: tracing {', '.join(tests)} once", flush=True)
    running = _start([str(ROOT / t) for t in tests], timeout, tracer=_Tracer(str(ROOT / module)))
    while (code := _poll(running)) is None:
        time.sleep(0.5)
    output = (running.work / "output.txt").read_text(errors="replace")
    found = running.work / "baseline.json"
    if code != 0 or not found.exists():
        shutil.rmtree(running.work, ignore_errors=True)
        raise SystemExit(f"{module}: the tests do not pass unmutated (exit {code}); fix that first:\n{output[-3000:]}")
    saved = {"key": key, **json.loads(found.read_text())}
    shutil.rmtree(running.work, ignore_errors=True)
    state.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(saved))
    return saved


def observers(source: str) -> dict[int, set[int]]:
    """For lines that run only at import, the lines whose running shows their effect: a
    default argument (on a ``def``'s signature) shows in the function's body; a module
    constant or a class attribute (a dataclass field's default) where its name is read. A
    line whose effect shows nowhere else in the module is not listed (every test runs it)."""
    tree = ast.parse(source)
    skip = _skipped(tree)
    reads: dict[str, set[int]] = defaultdict(set)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Load) and id(node) not in skip:
            reads[node.id if isinstance(node, ast.Name) else node.attr].add(node.lineno)
    out: dict[int, set[int]] = {}

    def body_lines(function: ast.AST) -> set[int]:
        return set(range(function.body[0].lineno, function.end_lineno + 1))

    def visit(statements: list[ast.stmt], owner: str | None) -> None:
        for node in statements:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                for line in range(start, node.body[0].lineno):
                    out[line] = body_lines(node)
            elif isinstance(node, ast.ClassDef):
                visit(node.body, node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {t.id for t in targets if isinstance(t, ast.Name)}
                seen = set().union(*(reads[n] for n in names | ({owner} if owner else set()))) - set(range(node.lineno, node.end_lineno + 1))
                if seen:
                    for line in range(node.lineno, node.end_lineno + 1):
                        out[line] = seen

    visit(tree.body, None)
    return out


def readers(source: str, tests: list[str]) -> dict[int, set[str]]:
    """For each line of a module-level assignment in ``source``, the test functions of
    ``tests`` (files) that read one of its names themselves (a test that checks a constant):
    ``file::function``, the prefix of each of its parametrised ids."""
    assigned: dict[str, set[int]] = defaultdict(set)
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for name in (t.id for t in targets if isinstance(t, ast.Name)):
                assigned[name].update(range(node.lineno, node.end_lineno + 1))
    out: dict[int, set[str]] = defaultdict(set)
    for test_file in tests:
        for function in ast.parse((ROOT / test_file).read_text()).body:
            if not isinstance(function, ast.FunctionDef) or not function.name.startswith("test"):
                continue
            read = {n.id for n in ast.walk(function) if isinstance(n, ast.Name)} | {n.attr for n in ast.walk(function) if isinstance(n, ast.Attribute)}
            for name in read & set(assigned):
                for line in assigned[name]:
                    out[line].add(f"{test_file}::{function.name}")
    return out


def tests_of_line(saved: dict, line: int, observed: dict[int, set[int]] | None = None, read: dict[int, set[str]] | None = None) -> list[str]:
    """The tests that execute ``line`` (every test of a file where it runs while setting up a
    test of that file, as a shared fixture does): the file whose chosen tests are fastest
    first, and in it the fastest test first, except that tests on one module-scoped fixture
    run together in the file's order, with the earlier tests on it, since one can carry its
    output to the next.
    A line that runs at import is judged by the tests that run the lines where its effect
    shows (``observed``, from :func:`observers`) and the tests that read its names themselves
    (``read``, from :func:`readers`), else by every test."""
    seconds: dict[str, float] = saved["seconds"]
    hits = saved["hits"].get(str(line), [])
    at_import = any(not test for test, _ in hits)
    if at_import and observed and line in observed:
        hits = [hit for seen in sorted(observed[line]) for hit in saved["hits"].get(str(seen), [])]
        prefixes = (read or {}).get(line, set())
        hits += [(t, False) for t in seconds if t.split("[")[0] in prefixes]
    found: set[str] = set()
    for test, setup in hits:
        if not test:
            found = set(seconds)
            break
        found.add(test)
        if setup:
            found.update(t for t in seconds if _node_file(t) == _node_file(test))
    position = {test: n for n, test in enumerate(seconds)}  # the baseline's run order
    shared: dict[str, list[str]] = saved.get("shared", {})
    for test in list(found):  # a test on a module-scoped fixture needs the earlier tests on it: they fill it
        needs = set(shared.get(test, []))
        found.update(t for t in seconds if needs & set(shared.get(t, [])) and _node_file(t) == _node_file(test) and position[t] < position[test])
    # a test on its own, or the tests on one module-scoped fixture together: fastest first
    group = {t: ",".join(shared.get(t, [])) or t for t in found}
    cost: dict[str, float] = defaultdict(float)
    for test in found:
        cost[_node_file(test)] += seconds.get(test, 0.0)
        cost[group[test]] += seconds.get(test, 0.0)
    return sorted(found, key=lambda t: (cost[_node_file(t)], _node_file(t), cost[group[t]], group[t], position.get(t, 0)))


def keys(module: str, source: str) -> list[tuple[Mutant, str]]:
    """Each mutant with its key: the module, the text of its line, which of the spots on lines
    of that text it is, and the change; an edit elsewhere in the module keeps the key."""
    lines = source.splitlines()
    ordinal: dict[tuple[str, int], int] = {}
    count: dict[str, int] = defaultdict(int)
    out = []
    for mutant in mutants(module, source):
        text = lines[mutant.line - 1].strip()
        if (text, mutant.index) not in ordinal:
            ordinal[text, mutant.index] = count[text]
            count[text] += 1
        out.append((mutant, _digest(module, text, str(ordinal[text, mutant.index]), mutant.what)))
    return out


def _load(results: Path) -> dict[str, dict]:
    done = {}
    if results.exists():
        for line in results.read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                done[record["key"]] = record
    return done


def run(modules: list[str], jobs: int, state: Path, factor: float, limit: int | None, again: bool = False) -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")
    for name in PRELOAD:
        try:
            __import__(name)
        except ImportError:
            pass
    results = state / "results.jsonl"
    state.mkdir(parents=True, exist_ok=True)
    done = _load(results)
    queue: list[tuple[Mutant, str, list[str], float]] = []
    for module in modules:
        source = (ROOT / module).read_text()
        saved = baseline(module, state, timeout=3600)
        observed = observers(source)
        read = readers(source, MODULES.get(module, []))
        todo = 0
        for mutant, key in keys(module, source):
            if key in done and not (again and done[key]["status"] in ("survived", "uncovered")):
                continue
            tests = tests_of_line(saved, mutant.line, observed, read)
            if not tests:
                _record(results, done, key, mutant, "uncovered", 0.0)
                continue
            budget = factor * sum(saved["seconds"].get(t, 1.0) for t in tests) + 20
            queue.append((mutant, key, tests, budget))
            todo += 1
        print(f"{module}: {todo} mutants to run", flush=True)
    queue.sort(key=lambda item: item[3])  # the cheapest first: an interrupted run has scored the most mutants
    if limit is not None:
        queue = queue[:limit]
    sources = {m: (ROOT / m).read_text() for m in modules}
    running: dict[int, tuple[_Running, str]] = {}
    total, finished = len(queue), 0
    while queue or running:
        while queue and len(running) < jobs:
            mutant, key, tests, budget = queue.pop(0)
            code = mutated_code(mutant, sources[mutant.module], str(ROOT / mutant.module))
            serve = _Serve(_module_name(mutant.module), str(ROOT / mutant.module), code)
            child = _start([f"{ROOT}/{t}" for t in tests], budget, mutant, serve)
            running[child.pid] = (child, key)
        for pid, (child, key) in list(running.items()):
            code = _poll(child)
            if code is None:
                continue
            del running[pid]
            status = {0: "survived", 1: "killed", -1: "timeout"}.get(code, "error")
            if status == "error":
                status = f"error (pytest exit {code})"
            _record(results, done, key, child.mutant, status, time.monotonic() - child.started)
            shutil.rmtree(child.work, ignore_errors=True)
            finished += 1
            print(f"[{finished}/{total}] {status:<10} {child.mutant.name}", flush=True)
        time.sleep(0.05)


def _record(results: Path, done: dict, key: str, mutant: Mutant, status: str, seconds: float) -> None:
    record = {"key": key, "module": mutant.module, "line": mutant.line, "what": mutant.what, "status": status, "seconds": round(seconds, 2)}
    done[key] = record
    with results.open("a") as handle:
        handle.write(json.dumps(record) + "\n")


#: survivors explained as equivalent (no observable behaviour changes), one a line:
#: - `module` · `code on the mutated line` · `change`: why
EQUIVALENTS = Path(__file__).with_name("mutation-equivalents.md")
_EQUIVALENT = re.compile(r"^- `(?P<module>[^`]+)` · `(?P<code>[^`]+)` · `(?P<what>[^`]+)`: (?P<why>.+)$")


def equivalents(path: Path = EQUIVALENTS) -> list[dict[str, str]]:
    if not path.exists():
        return []
    return [m.groupdict() for line in path.read_text().splitlines() if (m := _EQUIVALENT.match(line.strip()))]


def _explained(record: dict, text: str, known: list[dict[str, str]]) -> str | None:
    return next((e["why"] for e in known if e["module"] == record["module"] and e["what"] == record["what"] and e["code"] in text), None)


def report(modules: list[str], state: Path) -> bool:
    """Print the score of each module (of its current source) and the survivors; True where
    every measured module reaches the goal. A survivor listed in ``mutation-equivalents.md``
    is counted apart (``equiv``) and left out of the score; a listed one that a test kills is
    named, since the list is then wrong."""
    done = _load(state / "results.jsonl")
    known = equivalents()
    ok = True
    survivors, wrongly = [], []
    lines = {m: (ROOT / m).read_text().splitlines() for m in modules}
    print(f"\n{'module':<28} {'mutants':>7} {'run':>5} {'killed':>6} {'timeout':>7} {'survived':>8} {'uncovered':>9} {'equiv':>5} {'error':>5} {'score':>6}")
    for module in modules:
        source = (ROOT / module).read_text()
        records = [done[key] | {"line": mutant.line} if key in done else None for mutant, key in keys(module, source)]
        seen = [r for r in records if r]
        count = defaultdict(int)
        for r in seen:
            status = r["status"].split(" ")[0]
            why = _explained(r, lines[module][r["line"] - 1].strip(), known)
            if why and status in ("survived", "uncovered"):
                status = "equiv"
            elif why and status in ("killed", "timeout"):
                wrongly.append(r)
            count[status] += 1
            if status in ("survived", "uncovered", "error"):
                survivors.append(r)
        detected = count["killed"] + count["timeout"]
        scored = detected + count["survived"] + count["uncovered"]
        score = detected / scored if scored else float("nan")
        if len(seen) < len(records) or score < GOAL:
            ok = False
        print(f"{module:<28} {len(records):>7} {len(seen):>5} {count['killed']:>6} {count['timeout']:>7} {count['survived']:>8} {count['uncovered']:>9} {count['equiv']:>5} {count['error']:>5} {f'{score:.1%}' if scored else 'not run':>7}")
    if survivors:
        print("\nsurvivors:")
        for r in sorted(survivors, key=lambda r: (r["module"], r["line"])):
            print(f"  {r['module']}:{r['line']:<5} {r['status']:<9} {r['what']:<16} {lines[r['module']][r['line'] - 1].strip()[:90]}")
    for r in wrongly:
        print(f"listed as equivalent but {r['status']}: {r['module']}:{r['line']} {r['what']} (take it off {EQUIVALENTS.name})")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"modules to mutate (default: {', '.join(MODULES)})")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="mutants run at once (default: one per core)")
    parser.add_argument("--state", type=Path, default=STATE, help="where results are kept between runs")
    parser.add_argument("--timeout-factor", type=float, default=3.0, help="a mutant's time limit: this times its tests' unmutated time, plus 20 s")
    parser.add_argument("--limit", type=int, help="run at most this many mutants now (the rest on the next run)")
    parser.add_argument("--again", action="store_true", help="run the survivors again (after adding tests)")
    parser.add_argument("--report", action="store_true", help="only print the score of what has run")
    args = parser.parse_args(argv)
    modules = args.modules or list(MODULES)
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown module {unknown[0]} (known: {', '.join(MODULES)})")
    if not args.report:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        for module in modules:  # one at a time: a module's score is ready before the next is traced
            run([module], args.jobs, args.state, args.timeout_factor, args.limit, args.again)
    return 0 if report(modules, args.state) else 1


if __name__ == "__main__":
    sys.exit(main())
