"""The fenced code blocks of README.md and docs/, and the markers that say who runs them.

The rule (docs/contributing.md says it for writers; ``tests/unit/test_docs_commands.py``
checks it): every fenced block names its language, and every shell block (``sh``,
``bash``, ``shell``, ``console``) is preceded by one marker comment, the last thing before
its opening fence:

* ``<!-- illustrative -->``: shown, run by nothing (an example with made-up names, a
  command that serves forever, a benchmark);
* ``<!-- run-by: PATH #NAME -->``: the Python test ``PATH`` reads this block by ``NAME``
  (through :func:`named`) and runs it; PATH holds ``"NAME"`` as a literal;
* ``<!-- run-by: PATH -->``: the script ``PATH`` (CI's, not Python) runs each command of
  the block: each is found in one of its lines, word by word in order, options between
  them allowed.

A block of another language may carry a ``run-by`` marker too (a sample file that a test
writes out and uses); the same checks apply to it.

``console`` blocks show a session: a line ``$ COMMAND`` is a command, the lines after it
are what it prints (stdout and stderr, as a terminal shows them); a line ``...`` stands for
any number of lines. ``sh``/``bash`` blocks are commands only; a line ending in ``\\``
continues on the next one.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

WORKSPACE = Path(__file__).resolve().parents[4]
SHELL = frozenset({"sh", "bash", "shell", "console"})
ELLIPSIS = "..."

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_MARKER = re.compile(r"^\s*<!--(?P<body>.*?)-->\s*$")
_RUN_BY = re.compile(r"^run-by:\s*(?P<path>\S+)(?:\s+#(?P<name>[\w.-]+))?$")
_ILLUSTRATIVE = re.compile(r"^illustrative(?::.*)?$")


def documents() -> list[Path]:
    """The files the rule covers: README.md and every page under docs/."""
    return [WORKSPACE / "README.md", *sorted((WORKSPACE / "docs").rglob("*.md"))]


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int  # of the opening fence, counting from 1
    lang: str  # the first word of the info string ("" when there is none)
    text: str  # the content, indentation of the fence removed, ending with a newline
    marker: str | None  # the comment right before the fence, without <!-- -->, stripped

    @property
    def where(self) -> str:
        return f"{_shown(self.doc)}:{self.line}"

    @property
    def illustrative(self) -> bool:
        return self.marker is not None and bool(_ILLUSTRATIVE.match(self.marker))

    @property
    def runner(self) -> tuple[str, str | None] | None:
        """(PATH, NAME or None) of a run-by marker, else None."""
        match = _RUN_BY.match(self.marker or "")
        return (match["path"], match["name"]) if match else None


def blocks(doc: Path) -> list[Block]:
    """Every fenced block of ``doc``, in order (CommonMark fences: ``` or ~~~, closed by a
    fence of the same character at least as long)."""
    lines = doc.read_text().splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None or (opening["fence"][0] == "`" and "`" in opening["info"]):
            i += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        close = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        end = i + 1
        while end < len(lines) and not close.match(lines[end]):
            end += 1
        body = [line[indent:] if line[:indent].isspace() else line for line in lines[i + 1 : end]]
        words = opening["info"].split()
        found.append(
            Block(
                doc=doc,
                line=i + 1,
                lang=words[0].lower() if words else "",
                text="".join(line + "\n" for line in body),
                marker=_marker_before(lines, i),
            )
        )
        i = end + 1
    return found


def _marker_before(lines: list[str], index: int) -> str | None:
    j = index - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    if j < 0:
        return None
    match = _MARKER.match(lines[j])
    return match["body"].strip() if match else None


def _shown(path: Path) -> str:
    return str(path.relative_to(WORKSPACE)) if path.is_relative_to(WORKSPACE) else str(path)


def named(doc: Path, name: str) -> Block:
    """The block of ``doc`` whose run-by marker gives it ``name`` (fails if none)."""
    hits = [b for b in blocks(doc) if b.runner is not None and b.runner[1] == name]
    assert len(hits) == 1, f"{_shown(doc)} has {len(hits)} blocks named {name!r}"
    return hits[0]


def problems(doc: Path, root: Path = WORKSPACE) -> list[str]:
    """Where ``doc`` breaks the rule (module docstring), one line each; runner paths are
    relative to ``root``."""
    found = [f"{_shown(doc)}:{n}: an indented code block: fence it" for n in _indented(doc)]
    names: set[str] = set()
    for block in blocks(doc):
        if not block.lang:
            found.append(f"{block.where}: a fenced block names no language")
        runner = block.runner
        if runner is None:
            if block.lang in SHELL and not block.illustrative:
                found.append(
                    f"{block.where}: a {block.lang} block needs <!-- illustrative --> or "
                    "<!-- run-by: PATH [#NAME] --> right before it"
                )
            elif not block.illustrative and (block.marker or "").startswith(("run-by", "illustr")):
                found.append(f"{block.where}: malformed marker <!-- {block.marker} -->")
            continue
        path, name = runner
        script = root / path
        if not script.is_file():
            found.append(f"{block.where}: run-by names {path}, which does not exist")
            continue
        text = script.read_text()
        if script.suffix == ".py":
            if name is None:
                found.append(f"{block.where}: run-by a Python file needs a #NAME")
            elif name in names:
                found.append(f"{block.where}: a second block named {name!r}")
            elif f'"{name}"' not in text or doc.name not in text:
                found.append(
                    f"{block.where}: {path} does not read this block (it holds no "
                    f'"{name}" or no {doc.name!r})'
                )
            if name is not None:
                names.add(name)
        else:
            for command in commands(block):
                if not found_in(command, text):
                    found.append(f"{block.where}: {path} does not run {command!r}")
    return found


def _indented(doc: Path) -> list[int]:
    """Lines that open an indented code block: four spaces in, after a blank line, outside
    fences and not continuing a list item."""
    lines = doc.read_text().splitlines()
    fenced = {n for b in blocks(doc) for n in range(b.line, b.line + b.text.count("\n") + 2)}
    hits: list[int] = []
    in_list = False
    for n, line in enumerate(lines, start=1):
        if n in fenced or not line.strip():
            continue
        if not line[0].isspace():
            in_list = bool(re.match(r"^([-*+]|\d+[.)])\s", line))
        elif line.startswith(("    ", "\t")) and not in_list and not lines[n - 2].strip():
            hits.append(n)
    return hits


def commands(block: Block) -> list[str]:
    """The commands of a shell block: for ``console`` the ``$`` lines, else every line that
    is not blank or a comment; backslash continuations joined."""
    if block.lang == "console":
        return [command for command, _ in session(block)]
    return [
        line
        for line in _joined(block.text.splitlines())
        if line.strip() and not line.lstrip().startswith("#")
    ]


def session(block: Block) -> list[tuple[str, list[str]]]:
    """A console block as (command, the lines it prints) pairs."""
    steps: list[tuple[str, list[str]]] = []
    for line in _joined(block.text.splitlines(), prompt=True):
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            assert steps, f"{block.where}: output before the first '$ ' command"
            steps[-1][1].append(line)
    return steps


def _joined(lines: list[str], prompt: bool = False) -> list[str]:
    out: list[str] = []
    continuing = False
    for line in lines:
        if continuing:
            out[-1] = out[-1][:-1] + line.lstrip()
        else:
            out.append(line)
        continuing = line.endswith("\\") and (not prompt or out[-1].startswith("$ "))
    return out


def matches(expected: list[str], actual: list[str]) -> bool:
    """``actual`` lines are ``expected``, where a line ``...`` stands for any lines."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head == ELLIPSIS:
        return any(matches(rest, actual[k:]) for k in range(len(actual) + 1))
    return bool(actual) and actual[0].rstrip() == head.rstrip() and matches(rest, actual[1:])


def found_in(command: str, script: str) -> bool:
    """``command`` is one of ``script``'s lines, word for word in order, other words (such
    as options) between them allowed."""
    want = shlex.split(command, comments=True)
    for line in script.splitlines():
        try:
            words = iter(shlex.split(line, comments=True))
        except ValueError:
            continue
        if want and all(any(w == word for word in words) for w in want):
            return True
    return False
