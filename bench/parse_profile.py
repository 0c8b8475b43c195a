"""Time `parse_message` alone on the benchmark's small corpus: µs per message.

    .venv/bin/python -m bench.parse_profile [COUNT] [--repeat N] [--profile]

Parses the `bench.corpus` mail (1,000 by default) in-process, after one
untimed pass (imports, caches), and prints the best and median µs per
message of `--repeat` passes. `--profile` runs one more pass under cProfile
and prints its 25 functions with the most cumulative time.
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench.corpus import SUPPORT_ADDRESS, make_corpus

TAG_PREFIX = "Support"


def parse_all(corpus: list[bytes]) -> None:
    """Parse every message of `corpus` as the worker does."""
    from mailgate.parse import parse_message

    own = frozenset({SUPPORT_ADDRESS})
    for raw in corpus:
        parse_message(raw, tag_prefix=TAG_PREFIX, own_addresses=own)


def time_passes(corpus: list[bytes], repeat: int) -> list[float]:
    """µs per message of each of `repeat` timed passes (after one untimed one)."""
    parse_all(corpus)
    figures = []
    for _ in range(repeat):
        start = time.process_time()
        parse_all(corpus)
        figures.append(1e6 * (time.process_time() - start) / len(corpus))
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    corpus = make_corpus(args.count)
    figures = time_passes(corpus, args.repeat)
    print(
        f"parse_message, {len(corpus)} messages: best {min(figures):.1f} µs, "
        f"median {statistics.median(figures):.1f} µs per message (CPU)"
    )
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(parse_all, corpus)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
