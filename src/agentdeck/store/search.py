"""Finding runs by text in their prompts and answers, fast over thousands of runs.

The files stay the source of truth. An index (``<runs>/.search-index.json``, 0600) keeps, per
finished run, the distinct words of its prompts, answer and worker texts as one string, keyed
by the version of its ``run.json`` (mtime and size: a retry rewrites it). A search reads only
the runs whose words could hold the text:

- every word of the (case-folded) text must be part of some word of the run, which is exact
  for a single word, so such a search reads no text file at all;
- text with spaces or punctuation is then looked for in the run's files themselves
  (``RunInfo.mentions``), so a phrase never matches a run that only has its words apart.

``agentdeck runs list --search`` and the app's History filter both call ``search_runs``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import orjson

from .. import fsutil
from .manifest import MANIFEST
from .run_info import RunInfo

__all__ = ["INDEX", "SearchIndex", "search_runs"]

INDEX = ".search-index.json"
"""The index file in the runs folder (a file: the run list reads only folders)."""
_WORD = re.compile(r"\w+")
_FORMAT = 1

log = logging.getLogger("agentdeck.store")


def _stamp(info: RunInfo) -> list[int] | None:
    try:
        stat = (info.dir / MANIFEST).stat()
    except OSError:
        return None
    return [stat.st_mtime_ns, stat.st_size]


def _texts(info: RunInfo) -> list[str]:
    """Everything ``RunInfo.mentions`` looks in."""
    texts = [value for value in info.prompts.values() if isinstance(value, str)]
    texts.append(str(info.result.get("answer") or ""))
    texts += [info.read_text(str(e.get("id"))) for e in info.workers if e.get("file")]
    texts += [info.read_step(int(e["step"])) for e in info.steps
              if e.get("output_file") and isinstance(e.get("step"), int)]
    return texts


def words_of(info: RunInfo) -> str:
    """The run's distinct case-folded words, space-separated (a word never holds a space)."""
    words: set[str] = set()
    for text in _texts(info):
        words.update(_WORD.findall(text.casefold()))
    return " ".join(sorted(words))


class SearchIndex:
    """The words of each run, read from ``root/.search-index.json`` and kept up to date."""

    def __init__(self, root: Path) -> None:
        self.path = root / INDEX
        self._entries: dict[str, list[object]] | None = None
        self._changed = False

    def _load(self) -> dict[str, list[object]]:
        if self._entries is None:
            try:
                doc = orjson.loads(self.path.read_bytes())
                entries = doc["runs"] if doc.get("format") == _FORMAT else {}
            except (OSError, orjson.JSONDecodeError, AttributeError, KeyError, TypeError):
                entries = {}  # missing or unreadable: rebuilt from the files
            self._entries = entries if isinstance(entries, dict) else {}
        return self._entries

    def words(self, info: RunInfo) -> str:
        """The run's words, from the index when its manifest has not changed since."""
        entries = self._load()
        stamp = _stamp(info)
        entry = entries.get(info.run_id)
        if stamp is not None and isinstance(entry, list) and len(entry) == 2 \
                and entry[0] == stamp and isinstance(entry[1], str):
            return entry[1]
        words = words_of(info)
        if stamp is not None and info.status not in ("running", "corrupt"):
            entries[info.run_id] = [stamp, words]  # a run still going changes: not kept
            self._changed = True
        return words

    def forget(self, run_id: str) -> None:
        """Drop a removed run."""
        if self._load().pop(run_id, None) is not None:
            self._changed = True

    def save(self) -> None:
        """Write the index if it changed, without the runs removed since."""
        if not self._changed:
            return
        entries = self._load()
        root = self.path.parent
        for run_id in [r for r in entries if not (root / r).is_dir()]:
            del entries[run_id]
        try:
            data = orjson.dumps({"format": _FORMAT, "runs": entries})
            fsutil.atomic_write(self.path, data, durable=False)
            self._changed = False
        except OSError as exc:  # a read-only store still searches, from the files
            log.warning("cannot write the search index %s: %s", self.path, exc)

    def matches(self, info: RunInfo, needle: str) -> bool:
        """True when ``needle`` (any case) is in the run's prompts, answer or texts."""
        folded = needle.casefold()
        tokens = _WORD.findall(folded)
        words = self.words(info)
        if not all(token in words for token in tokens):
            return False
        if len(tokens) == 1 and tokens[0] == folded:
            return True  # one whole word, found inside a word of the run: it is in the text
        return info.mentions(needle)


def search_runs(root: Path, infos: list[RunInfo], needle: str,
                index: SearchIndex | None = None) -> list[RunInfo]:
    """The runs of ``infos`` whose prompts or answers hold ``needle`` (any case), in order.

    ``index`` is kept between calls by a caller that searches often (the app); without one,
    the index file under ``root`` is read and written back.
    """
    index = index if index is not None else SearchIndex(root)
    found = [info for info in infos if index.matches(info, needle)]
    index.save()
    return found
