"""Copying text: OSC 52 through the terminal (works over SSH) plus a local clipboard tool.

OSC 52 is fire-and-forget (some terminals ignore it), so when a local clipboard command exists
(wl-copy, xclip, xsel, pbcopy) it gets the text too, and the notification always names the file
that holds the text, which works everywhere.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import App

__all__ = ["copy_text", "local_clipboard_command"]

_COMMANDS = (
    ("wl-copy",),
    ("xclip", "-selection", "clipboard"),
    ("xsel", "--clipboard", "--input"),
    ("pbcopy",),
)


def local_clipboard_command() -> tuple[str, ...] | None:
    """The first clipboard tool on PATH, or None (e.g. on a headless GPU host)."""
    for command in _COMMANDS:
        if shutil.which(command[0]):
            return command
    return None


async def _pipe(command: tuple[str, ...], text: str) -> bool:
    try:
        proc = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await asyncio.wait_for(proc.communicate(text.encode("utf-8")), 5)
    except (OSError, asyncio.TimeoutError):
        return False
    return proc.returncode == 0


def copy_text(app: App[Any], text: str, path: Path | None) -> None:
    """Copy ``text`` by OSC 52 and, in the background, a local tool; say where the text is."""
    app.copy_to_clipboard(text)
    where = f"\nFile: {path}" if path else ""
    command = local_clipboard_command()
    if command is None:
        app.notify(
            f"Copied {len(text):,} characters via the terminal (OSC 52).{where}",
            title="Copied",
            markup=False,
        )
        return

    async def local() -> None:
        ok = await _pipe(command, text)
        how = f"OSC 52 and {command[0]}" if ok else "OSC 52"
        app.notify(
            f"Copied {len(text):,} characters ({how}).{where}", title="Copied", markup=False
        )

    app.run_worker(local(), group="clipboard")
