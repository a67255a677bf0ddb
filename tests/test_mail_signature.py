"""Who signs a staff reply to a client: the staff member the actor is, else the team."""

from __future__ import annotations

import pytest

from bot.mail.signature import signer_name
from bot.model import Staff

STAFF = [Staff("Alice Martin", "alice@provider.example", "U0ALICE"),
         Staff("bob", None, None)]


@pytest.mark.parametrize(("actor", "name"), [
    ("Alice Martin", "Alice Martin"),           # --actor with the directory's name
    ("alice martin", "Alice Martin"),
    ("Alice Martin (slack:U0ALICE)", "Alice Martin"),  # /ticket reply in Slack
    ("someone (slack:U0ALICE)", "Alice Martin"),       # the Slack user decides
    ("cli:alice", "Alice Martin"),              # the login is the local part of their mail
    ("alice@provider.example", "Alice Martin"),
    ("cli:bob", "bob"),
])
def test_an_actor_of_the_directory_signs_with_their_name(actor: str, name: str) -> None:
    assert signer_name(actor, STAFF) == name


@pytest.mark.parametrize("actor", ["cli:root", "root", "classifier", "carol (slack:U0CAROL)",
                                   "", "cli:"])
def test_anyone_else_is_not_named(actor: str) -> None:
    assert signer_name(actor, STAFF) is None
