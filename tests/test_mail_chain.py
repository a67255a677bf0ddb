"""The mail chain's steps describe themselves, and a batch's policy snapshot holds the version
of each policy it read first while the book follows the file."""

from __future__ import annotations

from pathlib import Path

from bot.mail.chain import CHAIN
from bot.policies import PolicyBook
from tests.test_reminder_run import FAST


def test_each_step_has_a_name_a_description_and_one_function() -> None:
    names = [step.NAME for step in CHAIN]
    assert len(set(names)) == len(names), names
    assert names[0] == "pending" and names[-1] == "acknowledge"
    for step in CHAIN:
        assert step.NAME.islower() and " " not in step.NAME
        assert step.DESCRIPTION.endswith("."), step.NAME
        assert callable(step.run)


def test_a_snapshot_keeps_the_policy_it_read_while_the_book_follows_the_file(
        tmp_path: Path) -> None:
    path = tmp_path / "fast247.toml"
    path.write_text(FAST, encoding="utf-8")
    book = PolicyBook("fast247", (tmp_path,))
    snapshot = book.snapshot()
    before = snapshot.get()
    assert before.clocks["response"].targets
    path.write_text(FAST.replace('title = "24/7 with second targets, for tests"',
                                 'title = "changed"'), encoding="utf-8")
    assert book.get().title == "changed"
    assert snapshot.get() is before and snapshot.get("fast247").title != "changed"
    assert book.snapshot().get().title == "changed"
