"""``agentdeck sim``: serve the simulator on a local port until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from .. import eventloop
from ..config.profiles import SIM_MODEL
from .config import FAULT_KINDS, SimConfig

__all__ = ["build_parser", "cli_main", "config_from_args"]


def build_parser(prog: str = "agentdeck sim") -> argparse.ArgumentParser:
    """The command's options; every SimConfig knob a person would want from a shell."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve a simulated vLLM (OpenAI-compatible) endpoint for demos and tests.",
    )
    d = SimConfig()
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    add("--port", type=int, default=8000, help="port; 0 picks a free one (default: %(default)s)")
    add(
        "--model",
        action="append",
        dest="models",
        metavar="NAME",
        help=f"served model name, repeatable (default: {SIM_MODEL}, as with --demo)",
    )
    add(
        "--api-key",
        default=None,
        help="Bearer key required on /v1 routes (default: $AGENTDECK_SIM_API_KEY, else none)",
    )
    add(
        "--tokens-per-s",
        type=float,
        default=d.tokens_per_s,
        help="tokens/s per stream; 0 = unpaced",
    )
    add(
        "--ttft",
        type=float,
        default=d.ttft,
        help="seconds to the first token (default: %(default)s)",
    )
    add(
        "--prefill-tokens-per-s",
        type=float,
        default=d.prefill_tokens_per_s,
        help="prompt tokens/s added to the ttft; 0 = prompt length is free",
    )
    add("--output-tokens", type=int, default=d.output_tokens, help="tokens of a natural answer")
    add(
        "--jitter",
        type=float,
        default=0.3,
        help="vary answer length by this fraction (default: %(default)s)",
    )
    add("--tokens-per-chunk", type=int, default=d.tokens_per_chunk, help="tokens per SSE chunk")
    add("--reasoning", action="store_true", help="send a short reasoning phase in delta.reasoning")
    add(
        "--max-model-len",
        type=int,
        default=d.max_model_len,
        help="context length (default: %(default)s)",
    )
    add("--max-num-seqs", type=int, default=None, help="requests generating at once; the rest wait")
    add(
        "--seed",
        type=int,
        default=None,
        help="fix the text per prompt (default: fresh text each time)",
    )
    add(
        "--fault-rate",
        type=float,
        default=0.0,
        help="probability that a request gets a random fault",
    )
    add(
        "--fault-kinds",
        default=",".join(FAULT_KINDS),
        help="comma-separated kinds the fault rate spreads over (default: %(default)s)",
    )
    add("--fault-seed", type=int, default=None, help="seed for the fault draws")
    add("--stall-s", type=float, default=d.stall_s, help="length of a stall fault in seconds")
    return parser


def config_from_args(args: argparse.Namespace) -> SimConfig:
    """Build the SimConfig the parsed options describe; ValueError names a bad option."""
    kinds = [k.strip() for k in args.fault_kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in FAULT_KINDS]
    if unknown:
        raise ValueError(
            f"--fault-kinds: unknown {', '.join(unknown)}; known: {', '.join(FAULT_KINDS)}"
        )
    if not 0.0 <= args.fault_rate <= 1.0:
        raise ValueError(f"--fault-rate must be between 0 and 1, got {args.fault_rate}")
    faults = {k: args.fault_rate / len(kinds) for k in kinds} if args.fault_rate and kinds else {}
    return SimConfig(
        models=tuple(args.models) if args.models else (SIM_MODEL,),
        api_key=args.api_key or os.environ.get("AGENTDECK_SIM_API_KEY") or None,
        tokens_per_s=args.tokens_per_s,
        ttft=args.ttft,
        prefill_tokens_per_s=args.prefill_tokens_per_s,
        output_tokens=args.output_tokens,
        output_tokens_jitter=args.jitter,
        tokens_per_chunk=args.tokens_per_chunk,
        reasoning=args.reasoning,
        max_model_len=args.max_model_len,
        max_num_seqs=args.max_num_seqs,
        seed=args.seed,
        faults=faults,
        fault_seed=args.fault_seed,
        stall_s=args.stall_s,
    )


async def _serve(config: SimConfig, host: str, port: int) -> None:
    from .server import SimServer

    async with SimServer(config, host=host, port=port) as sim:
        auth = "Bearer key required" if config.api_key else "no auth"
        print(
            f"agentdeck sim: serving {', '.join(config.models)} at {sim.base_url} ({auth}); "
            "Ctrl-C to stop",
            flush=True,
        )
        await asyncio.Event().wait()


def cli_main(argv: list[str] | None = None) -> int:
    """Run ``agentdeck sim``; returns the exit status (0 after Ctrl-C, 2 for bad options)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"agentdeck sim: error: {exc}", file=sys.stderr)
        return 2
    try:
        eventloop.run(_serve(config, args.host, args.port))
    except KeyboardInterrupt:
        pass
    except OSError as exc:  # port in use, bad interface
        print(
            f"agentdeck sim: error: cannot serve on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    return 0
