"""The automatic-mail corpus (``tests/corpus_auto``) and the shared real-world corpus, as the
bounce detector tests and ``bench/bounce_bench.py`` read them: which messages are automatic mail
and which a person wrote."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AUTO_CORPUS = ROOT / "tests" / "corpus_auto"
SHARED_CORPUS = ROOT.parent / "shared" / "corpus"

AUTOMATIC_CATEGORIES = frozenset({"bounce", "autoreply", "auto-reply", "feedback-report"})
SHARED_AUTOMATIC_AFTER_ALL = frozenset({
    "flanker/bounce__delayed-broken.eml", "flanker/bounce__broken-mime.eml"})
"""Files the shared corpus files as malformed: bounces all the same, read closely."""


@dataclass(frozen=True)
class Sample:
    corpus: str  # "auto" or "shared"
    name: str  # path inside its corpus
    category: str
    raw: bytes

    @property
    def automatic(self) -> bool:
        if self.corpus == "shared" and self.name in SHARED_AUTOMATIC_AFTER_ALL:
            return True
        return self.category in AUTOMATIC_CATEGORIES


def _read(folder: Path, corpus: str, column: str) -> list[Sample]:
    manifest = folder / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    with manifest.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [Sample(corpus, r["file"], r[column], (folder / r["file"]).read_bytes())
            for r in rows]


def auto_corpus() -> list[Sample]:
    return _read(AUTO_CORPUS, "auto", "kind")


def shared_corpus() -> list[Sample]:
    return _read(SHARED_CORPUS, "shared", "category")
