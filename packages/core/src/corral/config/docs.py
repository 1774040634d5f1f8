"""Generate ``docs/settings.md`` from the settings table.

Usage::

    python -m corral.config.docs            # (re)write docs/settings.md at the repository root
    python -m corral.config.docs --check    # exit 1 if docs/settings.md is out of date
    python -m corral.config.docs --output FILE
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from corral.config.settings import (
    SECTIONS,
    SETTINGS,
    UNSUPPORTED_SETTINGS,
    Setting,
    UnsupportedSetting,
)

REGENERATE = "python -m corral.config.docs"


def default_output() -> Path:
    """``docs/settings.md`` in the repository this source tree belongs to."""
    return Path(__file__).resolve().parents[5] / "docs" / "settings.md"


def _default_text(setting: Setting) -> str:
    if setting.default_doc is not None:
        return setting.default_doc
    return f"`{setting.default!r}`"


def _flag_text(setting: Setting) -> str:
    parts = []
    for flag in setting.flags:
        if setting.nargs == "?":
            parts.append(f"`{flag} [{setting.metavar or 'VALUE'}]`")
        elif setting.takes_value:
            parts.append(f"`{flag} {setting.metavar or 'VALUE'}`")
        else:
            parts.append(f"`{flag}`")
    text = ", ".join(parts)
    if setting.action == "append":
        text += " (repeat the flag for several values)"
    if setting.nargs == "?":
        text += f" (the bare flag means `{setting.const}`)"
    return text


def _setting_section(setting: Setting) -> list[str]:
    lines = [f"### `{setting.name}`", ""]
    if setting.flags:
        lines.append(f"- **Command line:** {_flag_text(setting)}")
        example = setting.flags[-1]
        if setting.takes_value:
            example += f" {setting.metavar or 'VALUE'}"
        lines.append(f'- **Environment:** `CORRAL_CMD_ARGS="{example}"` (or `GUNICORN_CMD_ARGS`)')
    else:
        lines.append("- **Command line:** none (config file only)")
    if setting.cli_only:
        lines.append("- **Config file:** not applicable")
    elif setting.is_hook:
        args = ", ".join(setting.hook_args or ())
        lines.append(f"- **Config file:** `def {setting.name}({args}): ...`")
    else:
        lines.append(f"- **Config file:** `{setting.name} = ...`")
    lines.append(f"- **Type:** `{setting.type_doc}`")
    if setting.choices:
        lines.append(f"- **Choices:** {', '.join(f'`{c}`' for c in setting.choices)}")
    lines.append(f"- **Default:** {_default_text(setting)}")
    lines.append("")
    lines.extend(setting.doc.strip().splitlines())
    lines.append("")
    return lines


def _anchor(section: str) -> str:
    return section.lower().replace(" ", "-")


def generate() -> str:
    """The full text of ``docs/settings.md``."""
    lines = [
        "# Settings",
        "",
        "<!-- Generated from packages/core/src/corral/config/settings.py; do not edit. -->",
        "",
        "This page is generated from corral's settings table. To change it, edit the table in",
        f"`packages/core/src/corral/config/settings.py` and run `{REGENERATE}` (add `--check` to",
        "only verify that this file is current).",
        "",
        "Setting names and flags are the same as Gunicorn's, so a Gunicorn command line or",
        "`gunicorn.conf.py` works unchanged.",
        "",
        "## Where settings come from",
        "",
        "Each setting takes the value from the highest of these sources that gives one:",
        "",
        "1. the command line: `corral [OPTIONS] [APP]`;",
        "2. the `CORRAL_CMD_ARGS` environment variable (arguments split like a shell would);",
        "3. the `GUNICORN_CMD_ARGS` environment variable (same format);",
        "4. the config file: `-c PATH`, `-c python:MODULE`, or else `./corral.conf.py`, or else",
        "   `./gunicorn.conf.py`. It is Python; top-level names that are settings are used,",
        "   other names are ignored (a name resembling a setting, or a Gunicorn setting corral",
        "   does not support, causes a warning);",
        "5. the default.",
        "",
        "`APP` (`MODULE:VARIABLE`) may instead be given in the config file as `wsgi_app`.",
        "",
        "## Contents",
        "",
    ]
    used = [s for s in SECTIONS if any(setting.section == s for setting in SETTINGS)]
    for section in used:
        names = ", ".join(f"`{setting.name}`" for setting in SETTINGS if setting.section == section)
        lines.append(f"- [{section}](#{_anchor(section)}): {names}")
    lines.append("")
    for section in used:
        lines.extend([f"## {section}", ""])
        for setting in SETTINGS:
            if setting.section == section:
                lines.extend(_setting_section(setting))
    refused = [u for u in UNSUPPORTED_SETTINGS if u.refuse]
    warned = [u for u in UNSUPPORTED_SETTINGS if not u.refuse]
    lines.extend(
        [
            "## Gunicorn settings not supported yet",
            "",
            "Each is one of two kinds. A value that asks for nothing (`daemon = False`,",
            "`user = None`, the user corral already runs as) is accepted silently either way.",
            "",
            "### Refused: ignoring them would be a hazard",
            "",
            "Asked for on the command line, in `GUNICORN_CMD_ARGS` or in a config file,",
            "these stop corral before it starts, with one line naming the setting (exit",
            "code 2 for a flag, 1 for a config file): serving without them would look",
            "right and be wrong.",
            "",
            "| setting | flags | what ignoring it would do |",
            "|---|---|---|",
        ]
    )
    for unsupported in refused:
        lines.append(
            f"| `{unsupported.name}` | {_flags(unsupported)} | {_sentence(unsupported.refuse)} |"
        )
    lines.extend(
        [
            "",
            "### Ignored with a warning: harmless to ignore",
            "",
            "Accepted so that existing configurations keep working; corral logs a warning",
            "saying what is lost, and serves.",
            "",
            "| setting | flags | what is lost |",
            "|---|---|---|",
        ]
    )
    for unsupported in warned:
        lines.append(
            f"| `{unsupported.name}` | {_flags(unsupported)} | {_sentence(unsupported.why)} |"
        )
    lines.append("")
    return "\n".join(lines)


def _flags(unsupported: UnsupportedSetting) -> str:
    return ", ".join(f"`{f}`" for f in unsupported.flags) or "config file only"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=REGENERATE, description="Generate docs/settings.md from the settings table."
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    parser.add_argument("--output", type=Path, default=None, help="file to write or check")
    args = parser.parse_args(argv)
    output: Path = args.output or default_output()
    text = generate()
    if args.check:
        try:
            current = output.read_text(encoding="utf-8")
        except FileNotFoundError:
            current = None
        if current != text:
            print(f"{output} is out of date; run: {REGENERATE}", file=sys.stderr)
            return 1
        print(f"{output} is up to date")
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
