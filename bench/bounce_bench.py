"""The bot's automatic-mail detector against flufl.bounce (Mailman's bounce detector) and the
two combined, on the automatic-mail corpus (``tests/corpus_auto``) and the shared real-world
corpus (``../shared/corpus``).

    .venv/bin/python bench/bounce_bench.py [--list]

For each corpus (and each source of ``tests/corpus_auto``) and detector: how many automatic
messages it misses (a miss opens a ticket and may be acknowledged) and how many others (mail a
person wrote, spam) it takes for automatic (a false positive: a report silently recorded, never
answered). "bot" is what the bot decides on the
pipe (``parse_message(raw).auto``, a bounce or an auto-reply: never a ticket, never answered);
"flufl" is ``flufl.bounce.all_failures`` finding any failed recipient (a detector that raises
counts as no finding; the errors are counted); "bot+flufl" takes either. ``--list`` names the
messages each detector misses or wrongly takes. Prints figures, asserts nothing, exits 0.
Needs the bench extra (``pip install -e '.[bench]'``, which brings flufl.bounce).
"""

from __future__ import annotations

import argparse
import email
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flufl.bounce import all_failures  # noqa: E402

from bench.auto_corpus import Sample, auto_corpus, shared_corpus  # noqa: E402
from bot.mail import parse_message  # noqa: E402
from bot.mail.errors import Unparseable  # noqa: E402

ERRORS: dict[str, int] = {}


def bot(sample: Sample) -> bool:
    try:
        auto = parse_message(sample.raw).auto
    except Unparseable:
        return False
    return auto is not None and auto.is_bounce_or_reply


def flufl(sample: Sample) -> bool:
    try:
        temporary, permanent = all_failures(email.message_from_bytes(sample.raw))
    except Exception:  # a detector of the library that raises finds nothing
        ERRORS[sample.name] = ERRORS.get(sample.name, 0) + 1
        return False
    return bool(temporary or permanent)


DETECTORS: dict[str, Callable[[Sample], bool]] = {
    "bot": bot, "flufl": flufl, "bot+flufl": lambda s: bot(s) or flufl(s)}


def measure(title: str, samples: list[Sample], listing: bool) -> None:
    automatic = [s for s in samples if s.automatic]
    people = [s for s in samples if not s.automatic]
    print(f"\n{title}: {len(automatic)} automatic, {len(people)} not (people's mail, spam)")
    print(f"  {'detector':<10} {'missed':>14} {'false positives':>16} {'ms/message':>11}")
    for name, detect in DETECTORS.items():
        started = time.perf_counter()
        missed = [s.name for s in automatic if not detect(s)]
        wrong = [s.name for s in people if detect(s)]
        ms = (time.perf_counter() - started) * 1000 / max(1, len(samples))
        share = 100 * len(missed) / max(1, len(automatic))
        print(f"  {name:<10} {len(missed):>6} ({share:4.1f}%) {len(wrong):>16} {ms:>11.2f}")
        if listing:
            for n in missed:
                print(f"      missed: {n}")
            for n in wrong:
                print(f"      false positive: {n}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="name each miss and false positive")
    args = parser.parse_args()
    logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)  # it logs every exception
    auto, shared = auto_corpus(), shared_corpus()
    if not auto:
        print("tests/corpus_auto is missing")
    measure("tests/corpus_auto", auto, args.list)
    for source in sorted({s.name.split("/", 1)[0] for s in auto}):
        measure(f"  of which {source}/", [s for s in auto if s.name.startswith(source + "/")],
                False)
    if shared:
        measure("../shared/corpus", shared, args.list)
    else:
        print("\n../shared/corpus is not there: skipped")
    print(f"\nflufl.bounce raised on {len(ERRORS)} messages (counted as no finding)")


if __name__ == "__main__":
    main()
