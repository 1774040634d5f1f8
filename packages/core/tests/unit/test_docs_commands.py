"""Every command the docs show is run by a test or by CI, or is marked as illustrative.

The rule, for README.md and every page under docs/ (corral_testing/docblocks.py states it
exactly; docs/contributing.md tells writers): every fenced block names its language, and
every shell block (``sh``, ``bash``, ``shell``, ``console``) has a marker comment right
before it: ``<!-- illustrative -->``, ``<!-- run-by: PATH #NAME -->`` (a Python test that
reads the block by name and runs it) or ``<!-- run-by: PATH -->`` (a script, such as
.ci/run, each of whose lines runs a command of the block). This module checks every marker,
and it is itself the runner of the blocks listed in ``RUNS``: each command runs in a fresh
folder holding the page's sample files (``FILES``), with this environment's ``corral``
first on ``PATH``, and a ``console`` block's output must be what the page shows.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from corral_testing.docblocks import (
    WORKSPACE,
    blocks,
    commands,
    documents,
    matches,
    named,
    problems,
    session,
)

THIS = Path(__file__).resolve().relative_to(WORKSPACE).as_posix()

# (page, block name): the shell blocks this module runs.
RUNS = [
    ("docs/index.md", "check"),
    ("docs/index.md", "print-config"),
    ("docs/index.md", "help"),
    ("docs/coming-from-gunicorn.md", "gunicorn-conf"),
    ("docs/coming-from-gunicorn.md", "paste"),
    ("docs/proxy-protocol.md", "settings"),
]
# (page, file name): sample files a page shows, written out before its commands run.
FILES = [
    ("docs/index.md", "hello.py"),
    ("docs/coming-from-gunicorn.md", "gunicorn.conf.py"),
]
# Variables that would change what corral prints.
_UNSET = ("CORRAL_CMD_ARGS", "GUNICORN_CMD_ARGS", "WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS")


def test_readme_and_every_page_follow_the_rule():
    found = [problem for doc in documents() for problem in problems(doc)]
    assert found == []


NEEDS = "needs <!-- illustrative --> or <!-- run-by: PATH [#NAME] --> right before it"


def test_the_rule_finds_each_kind_of_breach(tmp_path):
    (tmp_path / "ci.sh").write_text("pip install --quiet nox && nox -s tests\n")
    (tmp_path / "runner.py").write_text('named(PAGE, "good")  # page.md\n')
    doc = tmp_path / "page.md"
    doc.write_text(
        "<!-- illustrative -->\n```sh\nanything\n```\n"
        "<!-- run-by: ci.sh -->\n```sh\npip install nox && nox -s tests\n```\n"
        "<!-- run-by: runner.py #good -->\n```console\n$ true\n```\n"
        "```bash\nunmarked\n```\n"
        "```\nno language\n```\n"
        "<!-- run-by: nowhere.py #x -->\n```sh\nx\n```\n"
        "<!-- run-by: runner.py -->\n```sh\nx\n```\n"
        "<!-- run-by: runner.py #unread -->\n```sh\nx\n```\n"
        "<!-- run-by: runner.py #good -->\n```sh\nx\n```\n"
        "<!-- run-by: ci.sh -->\n```sh\nnox -s lint\n```\n"
        "<!-- run_by: ci.sh -->\n```sh\nx\n```\n"
        "Text.\n\n    an indented block\n\n- a list\n\n    its continuation\n"
    )
    assert [line.split(": ", 1)[1] for line in problems(doc, root=tmp_path)] == [
        "an indented code block: fence it",
        f"a bash block {NEEDS}",
        "a fenced block names no language",
        "run-by names nowhere.py, which does not exist",
        "run-by a Python file needs a #NAME",
        "runner.py does not read this block (it holds no \"unread\" or no 'page.md')",
        "a second block named 'good'",
        "ci.sh does not run 'nox -s lint'",
        f"a sh block {NEEDS}",
    ]


def test_console_output_may_elide_lines_with_an_ellipsis():
    assert matches(["a", "...", "d"], ["a", "b", "c", "d"])
    assert matches(["a", "...", "d"], ["a", "d"])
    assert not matches(["a", "...", "d"], ["a", "b", "c"])
    assert not matches(["a", "b"], ["a", "b", "c"])


def test_this_module_runs_every_block_that_names_it():
    marked = {
        (doc.relative_to(WORKSPACE).as_posix(), block.runner[1])
        for doc in documents()
        for block in blocks(doc)
        if block.runner is not None and block.runner[0] == THIS
    }
    assert marked == set(RUNS) | set(FILES)


def _run(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in _UNSET}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}"
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(("doc", "name"), RUNS)
def test_the_command_does_what_the_page_shows(tmp_path, doc, name):
    page = WORKSPACE / doc
    for sample_doc, file_name in FILES:
        if sample_doc == doc:
            (tmp_path / file_name).write_text(named(page, file_name).text)
    block = named(page, name)
    if block.lang == "console":
        steps = session(block)
        assert steps, f"{block.where}: no command"
        for command, expected in steps:
            printed = _run(command, tmp_path).stdout.splitlines()
            assert matches(expected, printed), f"{block.where}: {command}\n" + "\n".join(printed)
    else:
        for command in commands(block):
            result = _run(command, tmp_path)
            assert result.returncode == 0 and result.stdout.strip(), (
                f"{block.where}: {command} exited {result.returncode}\n{result.stdout}"
            )
