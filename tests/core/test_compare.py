"""Compare from the library: fair (interleaved, paired seeds, a cap per target), per-target
figures live and in the result, run.json's targets, and each key only with its own target."""

from __future__ import annotations

import asyncio
import json

import pytest
from compare_support import answering, chats, write_config
from servers import ScriptServer
from systems_support import FAST

from agentdeck.client.vllm import VLLMModel
from agentdeck.config.settings import load_settings
from agentdeck.config.targets import Target, parse_target
from agentdeck.connect import connect
from agentdeck.errors import InputError
from agentdeck.events import TextDelta, WorkerQueued
from agentdeck.sim import SimConfig, SimServer
from agentdeck.store.runs import RunStore
from agentdeck.systems.compare import CompareSystem
from agentdeck.systems.registry import RunRequest, get


@pytest.mark.parametrize(("text", "expected"), [
    ("model=Qwen/Qwen2.5-1.5B-Instruct", Target(model="Qwen/Qwen2.5-1.5B-Instruct")),
    ("model=llama3:8b-fp8,temperature=0.2",
     Target(model="llama3:8b-fp8", params={"temperature": 0.2})),
    ("profile=local,model=org/base:lora-sql,top_k=20",
     Target(profile="local", model="org/base:lora-sql", params={"top_k": 20})),
    ("url=http://127.0.0.1:8012/v1?x=1,seed=7",
     Target(url="http://127.0.0.1:8012/v1?x=1", params={"seed": 7})),
])
def test_target_syntax_keeps_slashes_colons_and_query_equals(text, expected) -> None:
    assert parse_target(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("Qwen/Qwen2.5", "parts are KEY=VALUE"),
    ("profile=a,url=http://h:1/v1", "one endpoint"),
    ("model=a,model=b", "model= twice"),
    ("model=a,temperature=-1", "temperature: must be at least 0"),
    ("url=htp://h:1", "url: base URL"),
])
def test_bad_targets_are_refused_with_what_is_wrong(text, message) -> None:
    with pytest.raises(InputError, match=message):
        parse_target(text)


def test_a_url_password_never_shows_in_a_label_or_run_json_text() -> None:
    target = parse_target("url=http://me:hunter2-secret@127.0.0.1:9/v1")
    assert "hunter2" not in target.label + target.text() + repr(target)


async def test_two_models_on_one_server_interleaved_with_paired_seeds() -> None:
    """A1, B1, A2, B2... reach the server in that order; call i has one seed on both.

    A's window (``/v1/models``) answers late: no target's calls may wait on it while the
    other's go out."""
    hold = asyncio.Event()
    handler = answering(("a/b:1", "c/d:2"), hold=hold, slow_first_listing=0.1)
    async with ScriptServer(handler) as server:
        model = VLLMModel("a/b:1", server.url)
        request = RunRequest("Q?", calls=4, options={"targets": ["model=a/b:1", "model=c/d:2"]})
        run = asyncio.ensure_future(get("compare").run(model, request))
        while len(chats(server)) < 8:  # every request in flight before any answer
            await asyncio.sleep(0.01)
        hold.set()
        result = await run
        await model.close_client()
    sent = chats(server)
    assert [c["model"] for c in sent] == ["a/b:1", "c/d:2"] * 4
    seeds = [c["seed"] for c in sent]
    assert seeds[0::2] == seeds[1::2]  # paired: call i, same seed on each target
    assert len(set(seeds[0::2])) == 4  # and a different seed per call
    assert result.status == "done" and result.report["seed"] == seeds[0]
    assert list(result.workers) == ["A-01", "B-01", "A-02", "B-02", "A-03", "B-03", "A-04", "B-04"]


async def test_a_given_seed_is_call_ones_on_every_target_and_a_cap_per_target() -> None:
    """--seed 100: calls send 100, 101, 102; with a cap of 1 per target both targets have a
    request in flight at once (a cap shared by the run would hold one back), and no more."""
    hold = asyncio.Event()
    async with ScriptServer(answering(("m",), hold=hold)) as server:
        model = VLLMModel("m", server.url)
        request = RunRequest("Q?", calls=3, concurrency=1, params=_params(seed=100),
                             options={"targets": ["temperature=0.2", "temperature=0.8"]})
        run = asyncio.ensure_future(get("compare").run(model, request))
        async with asyncio.timeout(10):
            while len(chats(server)) < 2:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # time for a third to go out, were the cap not per target
        in_flight = chats(server)
        hold.set()
        result = await run
        await model.close_client()
    assert sorted(c["temperature"] for c in in_flight) == [0.2, 0.8]
    sent = chats(server)
    assert sorted((c["temperature"], c["seed"]) for c in sent) == [
        (0.2, 100), (0.2, 101), (0.2, 102), (0.8, 100), (0.8, 101), (0.8, 102)]
    assert result.report["agreement"] == {
        "short": True, "tallies": {"A": {"42": 3}, "B": {"42": 3}},
        "answers": {"A": "42", "B": "42"}, "agree": True}
    assert "targets agree: 42" in result.lines


async def test_per_target_summaries_live_and_in_run_json() -> None:
    config = SimConfig(**{**FAST, "models": ("a/b:1", "c/d:2")})
    events: list[object] = []
    seen_live: list[int] = []
    from agentdeck.events import WorkerFinished

    async with SimServer(config) as sim:
        model = VLLMModel("a/b:1", sim.base_url)
        system = CompareSystem(model, store=RunStore(), listeners=[events.append])

        def watch(event: object) -> None:  # the target's own figures, as the app reads them
            if isinstance(event, WorkerFinished) and event.worker_id.startswith("B"):
                seen_live.append(system.target_summaries["B"].snapshot()["requests"]["done"])

        system.add_listener(watch)
        result = await system.run("Say hi", ["model=a/b:1", "model=c/d:2,temperature=0.5"],
                                  calls=3, max_tokens=6)
        await model.close_client()
    assert seen_live == [1, 2, 3]  # B's live figures count each of B's calls as it ends
    groups = {e.worker_id: e.group for e in events if isinstance(e, WorkerQueued)}
    assert groups == {f"{k}-0{i}": k for k in "AB" for i in (1, 2, 3)}
    assert list(result.summaries) == ["A: a/b:1", "B: c/d:2 temperature=0.5"]
    for figures in result.summaries.values():
        assert figures["requests"] == {"done": 3, "failed": 0, "cancelled": 0}
        assert figures["output_tokens"] > 0 and figures["ttft_s"]["p50"] is not None
    manifest = json.loads((RunStore().load_run(result.run_id).dir / "run.json").read_text())
    assert [(t["key"], t["model"], t["params"], t["workers"]) for t in manifest["targets"]] == [
        ("A", "a/b:1", {"max_tokens": 6}, ["A-01", "A-02", "A-03"]),
        ("B", "c/d:2", {"max_tokens": 6, "temperature": 0.5}, ["B-01", "B-02", "B-03"])]
    assert manifest["targets"][1]["endpoint"] == sim.base_url
    labels = {w["id"]: w["label"] for w in manifest["workers"]}
    assert labels["B-02"] == "c/d:2 temperature=0.5 · call 2"


async def test_each_key_goes_only_to_its_own_target(tmp_path, isolated_home, monkeypatch) -> None:
    """Profile a's key to a (and to a url= that is a's URL), b's to b, none to another URL."""
    monkeypatch.setenv("KEY_A", "sk-key-of-a-123456")
    async with ScriptServer(answering(("m", "m2"))) as a, \
            ScriptServer(answering(("m",))) as b, ScriptServer(answering(("m",))) as c:
        write_config(isolated_home, f"""
            default_profile = "a"
            [profiles.a]
            base_url = "{a.url}"
            model = "m"
            api_key_env = "KEY_A"
            [profiles.b]
            base_url = "{b.url}"
            model = "m"
            api_key = "sk-key-of-b-654321"
        """)
        settings = load_settings()
        async with connect(settings) as conn:
            targets = ["model=m2", "profile=b", f"url={c.url}", f"url={a.url},temperature=0.1"]
            request = RunRequest("Q?", calls=2, store=False, settings=settings,
                                 options={"targets": targets})
            result = await get("compare").run(conn.model, request)
    assert result.status == "done"
    assert {r.headers.get("authorization") for r in a.requests} == {"Bearer sk-key-of-a-123456"}
    assert {r.headers.get("authorization") for r in b.requests} == {"Bearer sk-key-of-b-654321"}
    assert {r.headers.get("authorization") for r in c.requests} == {None}
    assert len(chats(a)) == 4 and len(chats(b)) == 2 and len(chats(c)) == 2


async def test_an_unknown_profile_and_too_few_targets_fail_before_any_request() -> None:
    async with ScriptServer(answering()) as server:
        model = VLLMModel("m", server.url)
        spec = get("compare")
        with pytest.raises(InputError, match="give 2 to 8 targets, got 1"):
            await spec.run(model, RunRequest("Q?", options={"targets": ["model=m"]}))
        with pytest.raises(Exception, match="no profile named 'nope'"):
            await spec.run(model, RunRequest("Q?", store=False,
                                             options={"targets": ["profile=nope", "model=m"]}))
        await model.close_client()
    assert chats(server) == []


async def test_one_call_per_target_with_the_same_answer_agrees() -> None:
    """Regression: with -n 1 no target has a majority of one; the single answers are compared."""
    async with ScriptServer(answering(("m",))) as server:
        model = VLLMModel("m", server.url)
        request = RunRequest("Q?", calls=1, store=False,
                             options={"targets": ["temperature=0.2", "temperature=0.8"]})
        result = await get("compare").run(model, request)
        await model.close_client()
    assert result.report["agreement"]["agree"] is True
    assert "targets agree: 42" in result.lines
    assert "  answer: 42 (the only answer)" in result.lines


async def test_a_target_whose_model_is_not_served_fails_before_any_request() -> None:
    from agentdeck.errors import ModelNotFoundError

    async with ScriptServer(answering(("m",))) as server:
        model = VLLMModel("m", server.url)
        request = RunRequest("Q?", calls=2, store=False,
                             options={"targets": ["model=m", "model=nope"]})
        with pytest.raises(ModelNotFoundError, match=r"^target 2 \(model=nope\): model 'nope' "
                                                     r"is not served"):
            await get("compare").run(model, request)
        await model.close_client()
    assert chats(server) == []


async def test_an_unreachable_target_is_named_before_any_request() -> None:
    from agentdeck.errors import TransportError

    async with ScriptServer(answering(("m",))) as server:
        model = VLLMModel("m", server.url)
        request = RunRequest("Q?", calls=2, store=False, options={
            "targets": ["model=m", "url=http://127.0.0.1:9/v1,model=m"]})
        with pytest.raises(TransportError, match=r"^target 2 \(url=http://127.0.0.1:9/v1"):
            await get("compare").run(model, request)
        await model.close_client()
    assert chats(server) == []


def _params(**values: object):
    from agentdeck.types import GenerationParams

    return GenerationParams.from_kwargs(**values)


async def test_cancel_mid_run_keeps_partial_text_and_ends_cancelled() -> None:
    config = SimConfig(**{**FAST, "tokens_per_s": 200.0, "output_tokens": 400})
    async with SimServer(config) as sim:
        model = VLLMModel("sim-model", sim.base_url)
        system = CompareSystem(model, store=RunStore())

        def stop(event: object) -> None:
            if isinstance(event, TextDelta) and event.worker_id == "B-01":
                system.cancel()

        system.add_listener(stop)
        result = await system.run("Go", ["temperature=0.1", "temperature=0.9"], calls=2)
        await model.close_client()
    assert result.status == "cancelled"
    assert all(w.outcome.cancelled for w in result.workers.values())
    assert result.summaries["B: temperature=0.9"]["requests"]["cancelled"] == 2
    info = RunStore().load_run(result.run_id)
    assert info.status == "cancelled" and info.read_text("B-01")
