"""The simulator under load and over time: 256 streams, pacing, chunk packing, the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys

import httpx

from agentdeck.sim import SimConfig, SimServer, expected_text


def request(i: int) -> dict:
    return {
        "messages": [{"role": "user", "content": f"stream number {i}"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def content(raw: bytes) -> tuple[str, dict]:
    text, usage = "", {}
    for part in raw.split(b"\n\n"):
        payload = part[6:]
        if not payload or payload == b"[DONE]":
            continue
        doc = json.loads(payload)
        usage = doc.get("usage") or usage
        for c in doc["choices"]:
            text += c["delta"].get("content") or ""
    return text, usage


async def test_256_concurrent_streams_all_complete_with_exact_text() -> None:
    cfg = SimConfig(tokens_per_s=400, ttft=0.5, output_tokens=24, seed=5)
    # Several pools of 32: one httpx pool of 256 connections spends seconds of CPU scanning
    # its connection list (httpcore), which would measure the client, not the simulator.
    clients = [httpx.AsyncClient(timeout=60) for _ in range(8)]
    async with SimServer(cfg) as sim:
        try:

            async def one(i: int) -> tuple[str, dict]:
                client = clients[i % len(clients)]
                r = await client.post(sim.base_url + "/chat/completions", json=request(i))
                assert r.status_code == 200
                return content(r.content)

            results = await asyncio.gather(*(one(i) for i in range(256)))
        finally:
            for client in clients:
                await client.aclose()
    for i, (text, usage) in enumerate(results):
        assert text == expected_text(cfg, request(i))[0]
        assert usage["completion_tokens"] == 24 + 1
    assert sim.stats.requests == 256 and sim.stats.by_status[200] == 256
    assert sim.stats.max_in_flight > 32, "the streams really overlapped"
    assert sim.stats.disconnects == 0 and sim.stats.in_flight == 0
    assert sim.stats.tokens_sent == 256 * (24 + 1)


async def test_pacing_never_runs_ahead_of_tokens_per_s() -> None:
    # A lower bound only: sleeps never end early, so this cannot flake on a busy machine.
    cfg = SimConfig(tokens_per_s=100, ttft=0.1, output_tokens=20, seed=1)
    async with SimServer(cfg) as sim, httpx.AsyncClient() as client:
        loop = asyncio.get_running_loop()
        started = loop.time()
        r = await client.post(sim.base_url + "/chat/completions", json=request(0))
        elapsed = loop.time() - started
    assert elapsed >= 0.1 + 20 / 100 - 0.01
    chunks = [p for p in r.content.split(b"\n\n") if p]
    assert len(chunks) == 1 + 21 + 1 + 1, "batched writes still send one chunk per token"
    # 20 text tokens + EOS = 21 steps: the last one is due ttft + 20 / tokens_per_s in.


async def test_tokens_per_chunk_packs_several_tokens() -> None:
    cfg = SimConfig(tokens_per_s=0, ttft=0, output_tokens=10, tokens_per_chunk=4, seed=1)
    async with SimServer(cfg) as sim, httpx.AsyncClient() as client:
        r = await client.post(sim.base_url + "/chat/completions", json=request(0))
    deltas = [json.loads(p[6:]) for p in r.content.split(b"\n\n")[1:-3]]
    assert len(deltas) == 3 + 1  # 4 + 4 + 2 tokens, then the EOS
    assert content(r.content)[0] == expected_text(cfg, request(0))[0]
    assert deltas[-1]["choices"][0]["finish_reason"] == "stop"


async def test_per_request_overrides_through_sim_object() -> None:
    cfg = SimConfig(tokens_per_s=5, ttft=30, output_tokens=100, seed=1)
    body = {**request(0), "sim": {"tokens_per_s": 0, "ttft": 0, "output_tokens": 3}}
    async with SimServer(cfg) as sim, httpx.AsyncClient() as client:
        r = await client.post(sim.base_url + "/chat/completions", json=body)
    assert content(r.content)[1]["completion_tokens"] == 3 + 1
    assert content(r.content)[0] == expected_text(cfg, body)[0]


def test_cli_serves_until_interrupted() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agentdeck.sim",
            "--port",
            "0",
            "--seed",
            "1",
            "--api-key",
            "k-123456",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = proc.stdout.readline()
        assert "k-123456" not in line, "the key is never printed"
        url = line.split(" at ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        models = httpx.get(url + "/models", headers={"Authorization": "Bearer k-123456"})
        assert models.json()["data"][0]["id"] == "agentdeck-sim"
        assert httpx.get(url + "/models").status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


def test_cli_rejects_bad_options_with_one_line() -> None:
    from agentdeck.sim import cli_main

    assert cli_main(["--fault-kinds", "explode"]) == 2
    assert cli_main(["--fault-rate", "3"]) == 2
