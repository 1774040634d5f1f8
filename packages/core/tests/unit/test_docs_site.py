"""The documentation site has a page for every deploy/ folder, and each page shows the
folder's files themselves.

A page ``docs/deploy/FOLDER.md`` must be in mkdocs.yml's navigation and include every file
of ``deploy/FOLDER/`` (but README files) with a snippet line, ``--8<-- "deploy/FOLDER/FILE"``,
which pymdownx.snippets replaces by the file when the site is built, so the page cannot
drift from the file the tests run. The build itself, which checks every link, anchor and
included path, is ``nox -s docs`` (``mkdocs build --strict``).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from corral_testing.docblocks import WORKSPACE

_SNIPPET = re.compile(r'^\s*--8<--\s+"([^"]+)"\s*$', re.M)


def nav_pages(nav: object) -> list[str]:
    """Every page path named in an mkdocs ``nav`` (nested lists and one-key mappings)."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [page for item in nav for page in nav_pages(item)]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in nav_pages(value)]
    return []


def deploy_page_problems(root: Path) -> list[str]:
    """What is missing for the deploy/ folders under ``root`` (a repository's layout)."""
    nav = nav_pages(yaml.safe_load((root / "mkdocs.yml").read_text()).get("nav", []))
    found = []
    for folder in sorted(p for p in (root / "deploy").iterdir() if p.is_dir()):
        page = root / "docs" / "deploy" / f"{folder.name}.md"
        name = page.relative_to(root / "docs").as_posix()
        if not page.is_file():
            found.append(f"deploy/{folder.name}/ has no page docs/{name}")
            continue
        if name not in nav:
            found.append(f"docs/{name} is not in mkdocs.yml's nav")
        included = set(_SNIPPET.findall(page.read_text()))
        for file in sorted(folder.rglob("*")):
            path = file.relative_to(root).as_posix()
            shown = path in included or file.name.upper().startswith("README")
            if file.is_file() and not shown:
                found.append(f'docs/{name} does not include {path} (--8<-- "{path}")')
    return found


def test_every_deploy_folder_has_a_page_that_includes_its_files():
    assert deploy_page_problems(WORKSPACE) == []


def test_a_missing_page_an_unlisted_page_and_an_unshown_file_are_found(tmp_path):
    for path, text in {
        "deploy/nginx/corral.conf": "upstream",
        "deploy/nginx/README.md": "how",
        "deploy/systemd/corral.service": "[Unit]",
        "deploy/systemd/corral.socket": "[Socket]",
        "deploy/runit/run": "#!/bin/sh",
        "docs/deploy/nginx.md": '```nginx\n--8<-- "deploy/nginx/corral.conf"\n```\n',
        "docs/deploy/systemd.md": '```ini\n--8<-- "deploy/systemd/corral.service"\n```\n',
        "mkdocs.yml": "nav:\n  - Home: index.md\n  - Deployment:\n      - nginx: deploy/nginx.md\n",
    }.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    assert deploy_page_problems(tmp_path) == [
        "deploy/runit/ has no page docs/deploy/runit.md",
        "docs/deploy/systemd.md is not in mkdocs.yml's nav",
        "docs/deploy/systemd.md does not include deploy/systemd/corral.socket (--8<-- "
        '"deploy/systemd/corral.socket")',
    ]
