"""The answer cache (api/answer_cache.py) on its own: bounded by bytes, least recently used out
first, entries past their lifetime dropped, and the data-versions source keying by version."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from api.answer_cache import AnswerCache, DataVersionsSource


def run(coro):
    return asyncio.run(coro)


class Counted:
    """A version source counting writes, entries living ``max_age_s``."""

    def __init__(self, max_age_s: float | None = None) -> None:
        self.max_age_s = max_age_s
        self.generation = 0

    async def current(self, request, layers):
        return self.generation

    def written(self) -> None:
        self.generation += 1


def test_least_recently_used_out_first_within_the_byte_budget():
    cache = AnswerCache(100, Counted())
    keys = [run(cache.key(REQUEST, ("premises",), n)) for n in range(3)]
    cache.put(keys[0], "a", 40)
    cache.put(keys[1], "b", 40)
    assert cache.get(keys[0]) == "a"  # now the most recently used
    cache.put(keys[2], "c", 40)  # 120 > 100: b goes
    assert cache.get(keys[1]) is None and cache.get(keys[0]) == "a" and cache.get(keys[2]) == "c"
    assert cache.size_bytes == 80 and len(cache) == 2
    cache.put(run(cache.key(REQUEST, ("premises",), "big")), "x", 101)  # larger than the budget
    assert len(cache) == 2


def test_a_new_version_changes_every_key():
    cache = AnswerCache(1000, Counted())
    before = run(cache.key(REQUEST, ("premises",), "t"))
    cache.put(before, "old", 3)
    cache.versions.written()
    after = run(cache.key(REQUEST, ("premises",), "t"))
    assert after != before and cache.get(after) is None


def test_entries_live_no_longer_than_the_max_age():
    cache = AnswerCache(1000, Counted(0.05))
    key = run(cache.key(REQUEST, ("premises",), "t"))
    cache.put(key, "v", 1)
    assert cache.get(key) == "v"
    time.sleep(0.06)
    assert cache.get(key) is None and len(cache) == 0


def test_off_means_no_key():
    cache = AnswerCache(0, Counted())
    assert run(cache.key(REQUEST, ("premises",), "t")) is None
    cache.put(None, "v", 1)
    assert cache.get(None) is None and len(cache) == 0


@dataclass
class _Version:
    version: int


class _Request:
    scope: dict = {}


REQUEST = _Request()


class _Keeper:
    """Stands in for api.conditional.DataVersions (versions per layer, None when unreadable)."""

    def __init__(self) -> None:
        self.versions: dict[str, _Version] | None = {"premises": _Version(1), "areas": _Version(1)}
        self.invalidated = 0

    async def get(self, scope):
        return self.versions

    def invalidate(self) -> None:
        self.invalidated += 1


def test_data_versions_key_by_the_layers_read():
    keeper = _Keeper()
    cache = AnswerCache(1000, DataVersionsSource(keeper))
    premises = run(cache.key(REQUEST, ("premises",), "t"))
    cache.put(premises, "v", 1)
    keeper.versions["areas"] = _Version(2)  # another layer: the premises tile stays
    assert cache.get(run(cache.key(REQUEST, ("premises",), "t"))) == "v"
    keeper.versions["premises"] = _Version(2)
    assert cache.get(run(cache.key(REQUEST, ("premises",), "t"))) is None
    cache.versions.written()
    assert keeper.invalidated == 1
    keeper.versions = None  # versions unreadable: no caching
    assert run(cache.key(REQUEST, ("premises",), "t")) is None
    assert run(cache.key(REQUEST, ("nosuch",), "t")) is None
