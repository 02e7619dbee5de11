"""Run every benchmark module in ``bench/`` (each ``bench/*.py`` that defines ``main()``)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import bench


def main() -> int:
    failed = []
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        run = getattr(module, "main", None)
        if not callable(run):
            continue
        print(f"== bench.{info.name}", flush=True)
        start = time.perf_counter()
        try:
            run()
        except Exception as exc:  # keep going: one broken bench must not hide the others
            failed.append(info.name)
            print(f"!! bench.{info.name} failed: {exc!r}", flush=True)
        print(f"== bench.{info.name} done in {time.perf_counter() - start:.1f} s\n", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
