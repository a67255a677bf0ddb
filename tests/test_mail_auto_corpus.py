"""The bot's detector on the automatic-mail corpus (``tests/corpus_auto``: bounces of some 60
MTAs and providers, feedback reports, SES notifications, list robots, auto-replies) and on the
shared real-world corpus: every automatic message is taken for one (bounce or auto-reply: never
acknowledged, never a new ticket), and no mail a person wrote is."""

from __future__ import annotations

import csv
import hashlib

import pytest

from bench.auto_corpus import AUTO_CORPUS, Sample, auto_corpus, shared_corpus
from bot.mail import parse_message
from bot.mail.errors import Unparseable
from tests.conftest import missing_peer


def verdict(sample: Sample) -> str | None:
    """The kind the bot takes the message for, when it never answers it (None otherwise)."""
    try:
        auto = parse_message(sample.raw).auto
    except Unparseable:
        return None  # quarantined: never answered either, but not detected
    return auto.kind if auto is not None and auto.is_bounce_or_reply else None


def test_every_automatic_message_of_the_corpus_is_detected() -> None:
    samples = [s for s in auto_corpus() if s.automatic]
    assert len(samples) > 800, "tests/corpus_auto is missing"
    missed = [s.name for s in samples if verdict(s) is None]
    assert missed == [], f"{len(missed)} of {len(samples)} automatic mails missed: {missed}"


def test_mail_people_wrote_is_not_taken_for_automatic() -> None:
    shared = shared_corpus()
    if not shared:
        missing_peer("the shared corpus is not at ../shared/corpus")
    people = [s for s in auto_corpus() + shared if not s.automatic]
    assert len(people) > 100
    taken = [f"{s.corpus}:{s.name} ({verdict(s)})" for s in people if verdict(s) is not None]
    assert taken == []


def test_every_automatic_message_of_the_shared_corpus_is_detected() -> None:
    samples = [s for s in shared_corpus() if s.automatic]
    if not samples:
        missing_peer("the shared corpus is not at ../shared/corpus")
    assert [s.name for s in samples if verdict(s) is None] == []


@pytest.mark.parametrize("kind", ["bounce", "feedback-report", "auto-reply", "human"])
def test_the_corpus_has_each_kind(kind: str) -> None:
    assert any(s.category == kind for s in auto_corpus())


LICENSES = ("BSD-2-Clause", "LGPL-3.0-only", "Artistic-1.0-Perl OR GPL-1.0-or-later")


def test_the_corpus_files_are_the_ones_the_manifest_names() -> None:
    with (AUTO_CORPUS / "MANIFEST.tsv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    on_disk = {str(p.relative_to(AUTO_CORPUS)) for p in AUTO_CORPUS.glob("*/*")
               if p.parent.name != "LICENSES"}
    assert on_disk == {r["file"] for r in rows}
    for r in rows:
        data = (AUTO_CORPUS / r["file"]).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (int(r["bytes"]), r["sha256"]), r
        assert r["license"] in LICENSES and r["commit"], r
