"""The sentences, headings, list items and code snippets the simulator's text is built from.

``{topic}`` marks where a word taken from the prompt may be echoed.
"""

from __future__ import annotations

HEADINGS = (
    "Overview",
    "Key ideas",
    "How it works",
    "A closer look at {topic}",
    "Trade-offs",
    "Step by step",
    "What to watch for",
    "Example",
    "Why {topic} matters",
    "Summary",
    "Design notes",
    "Open questions",
    "Practical tips",
    "Next steps",
    "Background",
)

SENTENCES = (
    "The short answer is that {topic} depends on a few moving parts working together.",
    "Most of the cost sits in one place, so that is where to look first.",
    "A good first step is to measure before changing anything.",
    "In practice, the simplest version tends to survive the longest.",
    "It helps to separate what the system must do from what would merely be nice.",
    "The same pattern shows up whenever {topic} meets real traffic.",
    "Batching requests turns many small costs into one predictable one.",
    "Each stage hands a small, well-defined result to the next.",
    "When something fails, the partial result should still be kept.",
    "Latency and throughput pull in different directions here.",
    "A cache only helps if the same work really repeats.",
    "The numbers below are rough, but the shape of the curve is what counts.",
    "Think of {topic} as a pipeline rather than a single step.",
    "Small, boring components are easier to replace later.",
    "There is no free lunch: every knob trades one resource for another.",
    "This is also where most surprises come from in production.",
    "Reading the logs usually tells you more than guessing does.",
    "A retry is only safe when nothing has been delivered yet.",
    "Back-pressure keeps a fast producer from drowning a slow consumer.",
    "The first version should be correct; the second one can be fast.",
    "Keep the interface narrow and the data flowing one way.",
    "Most teams underestimate how often {topic} changes under them.",
    "A clear error message saves more time than a clever fallback.",
    "Streaming the result lets people read while the rest is still being written.",
    "Timeouts belong at every boundary that touches the network.",
    "It is worth writing down the assumptions before testing them.",
    "The edge cases are where the real design decisions hide.",
    "One process can go surprisingly far before it needs a second machine.",
    "Counting things is cheap; not counting them gets expensive.",
    "Compare the result against a baseline so the improvement is real.",
    "That keeps the common path fast and the rare path simple.",
    "With {topic}, the defaults matter more than the options.",
    "Memory, not compute, is often the first wall you hit.",
    "A small experiment beats a long debate.",
    "Nothing here requires exotic tools, just a steady feedback loop.",
    "The hard part is rarely the code; it is agreeing on what done means.",
)

BULLETS = (
    "**Measure first**: find the real bottleneck before tuning anything.",
    "**Keep it simple**: one clear job per component.",
    "**Fail loudly**: an error that names its cause is half fixed.",
    "**Stream early**: show partial results as soon as they exist.",
    "**Bound everything**: queues, retries and timeouts all need limits.",
    "**Cache carefully**: stale data is a bug you chose.",
    "**Batch small work** so fixed costs are paid once.",
    "**Log the inputs** that led to a surprising output.",
    "**Test the failure paths**, not only the happy one.",
    "**Think about {topic}** from the user's side first.",
    "Prefer plain files for anything a person may want to read.",
    "Keep secrets out of logs, transcripts and screenshots.",
    "Make the slow path observable before making it fast.",
    "Write the smallest example that shows the problem.",
    "Check how {topic} behaves under ten times the load.",
    "Document the defaults and why they were chosen.",
    "Retry only what is safe to repeat.",
    "Cancel work nobody is waiting for anymore.",
)

CODE = (
    (
        "python",
        "async def fetch(client, url):\n    resp = await client.get(url)\n"
        "    resp.raise_for_status()\n    return resp.json()",
    ),
    (
        "python",
        "for attempt in range(3):\n    try:\n        return await call()\n"
        "    except TimeoutError:\n        await asyncio.sleep(2 ** attempt)",
    ),
    (
        "python",
        'results = await asyncio.gather(*(run(p) for p in prompts))\nprint(len(results), "done")',
    ),
    (
        "python",
        "def tokens_per_second(tokens: int, seconds: float) -> float:\n"
        "    return tokens / seconds if seconds else 0.0",
    ),
    ("bash", "curl -s http://127.0.0.1:8000/v1/models | python -m json.tool"),
    ("bash", "vllm serve my-model --max-model-len 8192 --port 8000"),
    ("bash", "grep -c error server.log\ntail -n 20 server.log"),
    ("json", '{\n  "model": "my-model",\n  "stream": true,\n  "max_tokens": 256\n}'),
    ("toml", '[profiles.local]\nbase_url = "http://127.0.0.1:8000/v1"\nmodel = "my-model"'),
)

REASONING = (
    "Okay, the user is asking about {topic}.",
    "Let me think about what they actually need here.",
    "First, I should figure out the main constraint.",
    "Hmm, there are a couple of ways to approach this.",
    "I could start with an overview and then give an example.",
    "Wait, I should also mention the failure cases.",
    "A short list of tips would make it easier to scan.",
    "Maybe a small code snippet helps make it concrete.",
    "I think the trade-off between speed and simplicity is the key point.",
    "Let me make sure the answer stays short and practical.",
    "So the structure is: summary, details, then next steps.",
    "That covers {topic}; now let me write the answer.",
)

TOPICS = ("latency", "throughput", "the cache", "the scheduler", "retries", "streaming", "batching")
