"""docs/settings.md is generated from the settings table and must be current."""

from __future__ import annotations

from pathlib import Path

import pytest
from corral.config import SETTINGS, docs
from corral.config.settings import UNSUPPORTED_SETTINGS

DOCS_FILE = Path(__file__).resolve().parents[4] / "docs" / "settings.md"


def test_docs_file_is_current() -> None:
    assert docs.default_output() == DOCS_FILE
    assert DOCS_FILE.read_text(encoding="utf-8") == docs.generate(), (
        "docs/settings.md is stale; run: python -m corral.config.docs"
    )


def test_generated_text_documents_every_setting() -> None:
    text = docs.generate()
    assert text.startswith("# Settings\n")
    assert "python -m corral.config.docs" in text
    for setting in SETTINGS:
        assert f"### `{setting.name}`\n" in text
        section = text.split(f"### `{setting.name}`\n", 1)[1].split("\n### ", 1)[0]
        for flag in setting.flags:
            assert f"`{flag}" in section, (setting.name, flag)
        assert f"- **Type:** `{setting.type_doc}`" in section
        assert "- **Default:** " in section
        assert setting.short in section
    for unsupported in UNSUPPORTED_SETTINGS:
        row = f"| `{unsupported.name}` | "
        assert row in text
        kind = "### Refused" if unsupported.refuse else "### Ignored with a warning"
        assert text.index(kind) < text.index(row)


def test_hooks_show_their_signature() -> None:
    text = docs.generate()
    assert "`def post_fork(server, worker): ...`" in text
    assert "`def nworkers_changed(server, new_value, old_value): ...`" in text


def test_check_mode_detects_stale_and_current_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "settings.md"
    assert docs.main(["--check", "--output", str(target)]) == 1  # missing
    assert docs.main(["--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == docs.generate()
    assert docs.main(["--check", "--output", str(target)]) == 0
    target.write_text(docs.generate() + "edited by hand\n", encoding="utf-8")
    assert docs.main(["--check", "--output", str(target)]) == 1
    assert "out of date" in capsys.readouterr().err
