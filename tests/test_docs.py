"""The docs against the code (sqlite-utils' test_docs.py is the model): every command and option
of the CLI is in the README's Commands block or a doc it links to, every doc that the code's
comments and docstrings cite exists, the README's table of timeline columns is the events
contract, and the README's examples that run on the sample data run.

Commands and options are read from the argparse parser, not listed here, so a new option
without docs fails this test. Of the README's commands, those that start a kernel (report,
notebook, batch, trends) are run by their own tests; here run the quick ones, in seconds.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import shlex
import tokenize
import tomllib
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from conftest import DATA, ROOT
from pia.cli import build_parser, main
from pia.events.schema import COLUMNS

README = (ROOT / "README.md").read_text(encoding="utf-8")
#: where the code and its docs live; .venv and the like are not the project's
SOURCE_DIRS = ("pia", "tests", "notebooks", "templates", "benchmarks", "docs")


def code_blocks(text: str) -> list[tuple[str, str]]:
    """``(language, body)`` of every fenced block of a Markdown text."""
    return re.findall(r"^ *```(\w*)\n(.*?)^ *```", text, re.S | re.M)


def commands_block() -> str:
    section = README.split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    return code_blocks(section)[0][1]


def linked_docs() -> dict[str, str]:
    """The docs the README links to or names (``docs/fetch.md``), by path."""
    paths = sorted(set(re.findall(r"\bdocs/[\w-]+\.md\b", README)))
    return {path: (ROOT / path).read_text(encoding="utf-8") for path in paths}


def entries(block: str) -> dict[str, str]:
    """Each command's lines of the Commands block (a ``pia CMD`` line and the comment and
    continuation lines under it), by command (``import slack-export``)."""
    found: dict[str, str] = {}
    current = None
    for line in block.splitlines():
        start = re.match(r"pia (?:\[[^]]*\] )?([a-z-]+(?: [a-z-]+)?)", line)
        if start:
            words = start[1].split()
            current = " ".join(words[:2]) if words[0] == "import" else words[0]
        if current is not None:
            found[current] = found.get(current, "") + line + "\n"
    return found


def cli() -> tuple[list[str], list[tuple[str, tuple[str, ...]]], list[tuple[str, ...]]]:
    """The CLI as argparse holds it: commands (``import slack-export``), each command's options
    (``(command, option strings)``), and the options of ``pia`` itself."""
    commands: list[str] = []
    options: list[tuple[str, tuple[str, ...]]] = []

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    commands.append(" ".join([*path, name]))
                    walk(sub, [*path, name])
            elif action.option_strings and path and "--help" not in action.option_strings:
                options.append((" ".join(path), tuple(action.option_strings)))

    parser = build_parser()
    walk(parser, [])
    top = [tuple(a.option_strings) for a in parser._actions if a.option_strings and "--help" not in a.option_strings]
    return commands, options, top


COMMANDS, OPTIONS, TOP_OPTIONS = cli()


def mentions(text: str, option: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text) is not None


def test_the_parser_is_read():
    # the walk found the commands and options it exists to check
    assert {"timeline", "metrics", "batch", "import", "import slack-export"} <= set(COMMANDS)
    assert ("batch", ("--scheduler",)) in OPTIONS and ("--data-dir",) in TOP_OPTIONS


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "import"])
def test_every_command_is_in_the_commands_block(command):
    assert command in entries(commands_block()), f"pia {command} is not in the README's Commands block"


@pytest.mark.parametrize(("command", "option"), OPTIONS, ids=[f"{c} {o[-1]}" for c, o in OPTIONS])
def test_every_option_is_documented_with_its_command(command, option):
    """An option is documented under its command's entry in the Commands block, or in a doc
    the README links to that shows the command; an option of every command (``--data-dir``)
    in the block's line for all of them."""
    if option in TOP_OPTIONS:
        assert any(mentions(commands_block(), o) for o in option), f"{option[-1]} is not in the Commands block"
        return
    places = [entries(commands_block()).get(command, "")]
    places += [text for text in linked_docs().values() if f"pia {command}" in text]
    assert any(mentions(place, o) for place in places for o in option), f"pia {command} {option[-1]}: not in its Commands entry nor in a linked doc that shows it"


def test_every_option_of_pia_itself_is_documented():
    for option in TOP_OPTIONS:
        assert any(mentions(commands_block(), o) for o in option), option


def cited_docs(path: Path) -> list[str]:
    """The ``*.md`` files named in the comments and docstrings of a Python file."""
    source = path.read_text(encoding="utf-8")
    texts = [t.string for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type == tokenize.COMMENT]
    documented = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    texts += [ast.get_docstring(node) or "" for node in ast.walk(ast.parse(source)) if isinstance(node, documented)]
    return re.findall(r"(?<![\w/.-])((?:[\w-]+/)*[\w-]+\.md)(?![\w.])", "\n".join(texts))


def project_files() -> list[str]:
    return [p.relative_to(ROOT).as_posix() for top in SOURCE_DIRS for p in (ROOT / top).rglob("*") if p.is_file()] + [
        p.name for p in ROOT.glob("*.md")
    ]


def test_every_doc_the_code_cites_exists():
    files = project_files()
    python = [ROOT / f for f in files if f.endswith(".py")]
    cited = {(p.relative_to(ROOT).as_posix(), doc) for p in python for doc in cited_docs(p)}
    assert len(cited) >= 5  # the code does cite docs: the scan reads them
    missing = sorted(f"{where}: {doc}" for where, doc in cited if not any(f == doc or f.endswith("/" + doc) for f in files))
    assert not missing, "docs cited that the project does not have:\n" + "\n".join(missing)


def test_the_timeline_table_is_the_events_contract():
    """The README's table of timeline columns names every column of the contract, in order."""
    section = README.split("\n## The timeline\n", 1)[1].split("\n## ", 1)[0]
    documented = [name for cell in re.findall(r"^\| (`[^|]+`) \|", section, re.M) for name in re.findall(r"`(\w+)`", cell)]
    assert documented == list(COLUMNS)


def runnable(block: str) -> list[list[str]]:
    """The quick ``pia`` commands of a shell block, optional ``[...]`` parts left out; a
    command with a placeholder left (ISO, INCIDENT, N) is not runnable as it stands."""
    out = []
    for line in block.replace("\\\n", " ").splitlines():
        command = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).strip()
        command = command.removeprefix(".venv/bin/")
        if not command.startswith("pia ") and command != "pia":
            continue
        words = shlex.split(command)[1:]
        quick = words[:1] in (["timeline"], ["metrics"], ["validate"])
        if quick and not re.search(r"\b[A-Z]{2,}\b|\.\.\.|\|", command):
            out.append(words)
    return out


README_COMMANDS = [words for lang, body in code_blocks(README) if lang in ("sh", "") for words in runnable(body)]


def test_the_readme_has_quick_commands_to_run():
    assert len(README_COMMANDS) >= 4, README_COMMANDS


@pytest.mark.parametrize("words", README_COMMANDS, ids=[" ".join(w) for w in README_COMMANDS])
def test_the_readmes_commands_run_on_the_samples(words, capsys):
    code = main([*words, "--data-dir", str(DATA)])
    out, err = capsys.readouterr()
    # validate exits 1 for warnings, which samples may have; 2 is an error
    assert code == 0 or (words[0] == "validate" and code == 1), err
    assert out.strip() and "Traceback" not in err


def test_the_readmes_python_runs_on_the_samples(monkeypatch):
    blocks = [body for lang, body in code_blocks(README) if lang == "python"]
    assert blocks
    monkeypatch.setenv("PIA_DATA_DIR", str(DATA))
    for body in blocks:
        namespace: dict[str, object] = {}
        with redirect_stdout(io.StringIO()):
            exec(compile(body, "README.md", "exec"), namespace)
        assert len(namespace) > 1  # it defined what it shows


def test_the_readmes_incident_toml_is_read_as_written():
    """The README's example ``incident.toml`` parses, and its manual milestone is taken."""
    from pia.milestones import manual_milestones

    (body,) = [body for lang, body in code_blocks(README) if lang == "toml"]
    meta = tomllib.loads(body)
    found = manual_milestones(meta, "README.md")
    assert list(found["milestone"]) == ["impact_start"] and str(found["ts"].iloc[0]) == "2026-03-14 13:58:00+00:00"
