"""Copying text where users are: OSC 52, tmux's paste buffer, a local clipboard tool.

OSC 52 asks the terminal to set its clipboard and gets no answer: many terminals ignore it, and
tmux drops it unless ``set-clipboard`` is ``on`` (its default, ``external``, ignores what
applications send). So the app never says "copied" on OSC 52 alone:

- inside tmux without ``set-clipboard on``, the text also goes to tmux's paste buffer
  (``tmux load-buffer -``), which the app can check;
- a local clipboard tool (wl-copy, xclip, xsel, pbcopy) gets it too when a display is there;
- GNU screen passes OSC 52 on only when configured to, so it is named as uncertain;
- the notification names every place the text went, and the file that holds it on disk.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import App

__all__ = ["copy_text", "local_clipboard_command", "tmux_needs_buffer"]

TIMEOUT = 5.0
"""Seconds a clipboard command may take."""


def local_clipboard_command() -> tuple[str, ...] | None:
    """The first clipboard tool on PATH that has a display to talk to, or None (e.g. on a
    headless GPU host, where xclip would only fail)."""
    env = os.environ
    candidates = []
    if env.get("WAYLAND_DISPLAY"):
        candidates.append(("wl-copy",))
    if env.get("DISPLAY"):
        candidates += [("xclip", "-selection", "clipboard"), ("xsel", "--clipboard", "--input")]
    if sys.platform == "darwin":
        candidates.append(("pbcopy",))
    for command in candidates:
        if shutil.which(command[0]):
            return command
    return None


async def _run(command: tuple[str, ...], text: str | None = None) -> tuple[bool, str]:
    """Run ``command`` (feeding ``text``); (succeeded, its output)."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE if text is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await asyncio.wait_for(
            proc.communicate(text.encode("utf-8") if text is not None else None), TIMEOUT)
    except (OSError, asyncio.TimeoutError):
        return False, ""
    return proc.returncode == 0, out.decode("utf-8", "replace").strip()


async def tmux_needs_buffer() -> bool:
    """True inside tmux when OSC 52 from the app may not reach a clipboard: ``set-clipboard``
    is not ``on`` (or tmux cannot be asked)."""
    if not os.environ.get("TMUX") or not shutil.which("tmux"):
        return False
    ok, value = await _run(("tmux", "show", "-gv", "set-clipboard"))
    return not ok or value != "on"


async def _routes(text: str) -> tuple[list[str], list[str]]:
    """Send ``text`` everywhere it may help: (places known to hold it, places maybe)."""
    sure: list[str] = []
    maybe = ["the terminal (OSC 52, if it allows it)"]
    if os.environ.get("TMUX"):
        if await tmux_needs_buffer():
            ok, _ = await _run(("tmux", "load-buffer", "-"), text)
            if ok:
                sure.append("tmux's paste buffer (prefix ] pastes it)")
        else:  # tmux takes OSC 52 into a buffer itself, and passes it to the terminal
            maybe = ["tmux and the terminal (OSC 52, set-clipboard on)"]
    elif os.environ.get("STY"):
        maybe = ["the terminal (OSC 52, if screen passes it on)"]
    command = local_clipboard_command()
    if command is not None:
        ok, _ = await _run(command, text)
        if ok:
            sure.append(f"the clipboard ({command[0]})")
    return sure, maybe


def copy_text(app: App[Any], text: str, path: Path | None) -> None:
    """Copy ``text`` by OSC 52 and, in the background, to tmux or a local tool; then say
    where it went (and the file on disk that holds it)."""
    app.copy_to_clipboard(text)

    async def send() -> None:
        sure, maybe = await _routes(text)
        size = f"{len(text):,} characters"
        lines = [f"{size} sent to " + " and ".join(maybe) + "."]
        if sure:
            lines.insert(0, f"{size} copied to " + " and ".join(sure) + ".")
            lines[1] = "Also sent to " + " and ".join(maybe) + "."
        if path is not None:
            lines.append(f"File: {path}")
        app.notify("\n".join(lines), title="Copied" if sure else "Sent to the clipboard",
                   markup=False, timeout=8)

    app.run_worker(send(), group="clipboard")
