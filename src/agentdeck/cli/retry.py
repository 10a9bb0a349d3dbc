"""``agentdeck runs retry``: a multi-call run's failed or cancelled calls, run again into it.

It connects to the server the run used unless a flag names another (``--profile``,
``--base-url``, ``--demo``): the key is that of a profile whose URL is the run's, and a note
says so whenever the server differs from the run's. Its output is a run command's: progress and
the summary on stderr, the run's document with ``--json`` and ``--events``, exit codes by how
the run ended.
"""

from __future__ import annotations

import argparse
from typing import Any

from .context import Ctx, settings_flags
from .exitcodes import EXIT_OK

__all__ = ["retry", "retry_flags"]


async def retry(ctx: Ctx, store: Any) -> int:
    """Run the failed, cancelled or interrupted calls of ``ctx.args.run_id`` again."""
    from ..store.report import format_summary
    from ..systems.registry import get
    from ..systems.resume import plan_retry, retry_run
    from .commands import show_result

    info = store.load_run(ctx.args.run_id)
    plan = plan_retry(info)
    if plan.empty:
        ctx.out.note(f"nothing to retry: every call of run {info.run_id} is done")
        if ctx.args.json:
            ctx.out.json({"schema": 1, "run_id": info.run_id, "status": info.status,
                          "retried": []})
        return EXIT_OK
    ctx.settings = _settings(ctx, info)
    what = ", ".join(plan.retry) if plan.retry else "none"
    ctx.out.note(f"retrying run {info.run_id}: calls {what}"
                 + (" and the aggregation" if plan.aggregate_again else ""))
    async with ctx.connect() as model:
        result, notes = await retry_run(model, store, plan, ctx.listeners())
        name = model.model_name
    for note in notes:
        ctx.out.note(note)
    if (result.summary.get("requests") or {}).get("done"):
        ctx.out.block(format_summary(result.summary))
    return show_result(ctx, get("multi"), result, name)


def _settings(ctx: Ctx, info: Any) -> Any:
    """The settings flags give; without an endpoint flag, the run's own endpoint and model."""
    from ..client.endpoint import normalize_api_url
    from ..config.profiles import SIM_MODEL
    from ..config.settings import load_settings

    flags = settings_flags(ctx.args)
    named = ctx.demo or flags.get("profile") or flags.get("base_url")
    if not named and (not info.endpoint or info.model == SIM_MODEL):
        ctx.demo = True  # a simulator's run: a fresh simulator serves it again
        return load_settings(flags)
    if not named:
        settings = load_settings(flags)
        wanted = normalize_api_url(info.endpoint)[1]
        match = next((p for p in settings.profiles.values() if p.base_url
                      and normalize_api_url(p.base_url)[1] == wanted), None)
        if match is not None:
            flags["profile"] = match.name  # its key goes to its own URL
        else:
            flags["base_url"] = info.endpoint
        if flags.get("model") is None and info.model:
            flags["model"] = info.model
    settings = load_settings(flags)
    used = settings.profile.base_url if not ctx.demo else None
    if not info.endpoint or used is None or \
            normalize_api_url(used)[1] != normalize_api_url(info.endpoint)[1]:
        ctx.out.note(f"retrying against {'the built-in simulator' if used is None else used}; "
                     f"the run used {info.endpoint or 'the built-in simulator'}")
    return settings


def retry_flags(connection: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """What ``runs retry`` takes: where to connect, and the output flags of a run (the
    generation params are the run's own)."""
    p = argparse.ArgumentParser(add_help=False, parents=[connection])
    taken = {flag for action in p._actions for flag in action.option_strings}
    s = argparse.SUPPRESS
    for flags, text in ((("-q", "--quiet"), "print nothing on stderr but errors"),
                        (("--json",), "print the run as one JSON document at the end"),
                        (("--events",), "print every run event as a JSON line")):
        if not taken & set(flags):
            p.add_argument(*flags, action="store_true", default=s, help=text)
    return p
