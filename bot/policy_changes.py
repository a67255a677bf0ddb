"""Policy changes: every version of a client's policy file is stored by its hash with its
content; a new version is shown as a diff against the version last acknowledged, and the
client's contacts are told by mail. Where the new policy says ``[changes] approval = true``, the
change is pending until a contact approves it (a reply whose first word is APPROVE / ACCEPT, or
staff by CLI); otherwise it counts as acknowledged once told.

The first version seen for a client is its baseline: nobody is told.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.clock import Clock
from bot.errors import InvalidAction, NotFound
from bot.mail import compose
from bot.model import Client, OutboundMail
from bot.policies import PolicyBook
from bot.policy_version import ACKNOWLEDGED, PolicyVersion
from bot.ports import PolicyChangeUnitOfWork
from bot.reports.approval import keyword
from bot.sla.policy import Policy


def _flat(value: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(value, Mapping):
        out: dict[str, str] = {}
        for k, v in value.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)}


def diff(old: str, new: str) -> list[str]:
    """What changed between two policy files, one line per key (``calendar.windows.weekdays:
    ["09:00-18:00"] -> ["08:30-17:00"]``); comments and layout do not count."""
    a, b = _flat(tomllib.loads(old)), _flat(tomllib.loads(new))
    lines = []
    for key in sorted(a.keys() | b.keys()):
        if key not in b:
            lines.append(f"{key}: removed (was {a[key]})")
        elif key not in a:
            lines.append(f"{key}: added {b[key]}")
        elif a[key] != b[key]:
            lines.append(f"{key}: {a[key]} -> {b[key]}")
    return lines


def policy_content(policy: Policy) -> str | None:
    """The text of the policy's file, or None when the file no longer holds this version
    (it is being changed: the next check sees it)."""
    try:
        raw = Path(policy.source).read_bytes()
    except OSError:
        return None
    if hashlib.sha256(raw).hexdigest()[:12] != policy.version:
        return None
    return raw.decode("utf-8")


def change_mail(client: Client, old: PolicyVersion, new: PolicyVersion, lines: list[str],
                policy: Policy, *, sender: str, recipients: tuple[str, ...],
                at: datetime) -> OutboundMail:
    msgid = compose.message_id("policy", f"{client.name}.{new.version}", sender)
    subject = compose.one_line(f"Change to your service agreement: {policy.title}", 200)
    m = compose.base_message(sender, ", ".join(recipients), subject, msgid, at=at,
                             auto="auto-generated")
    body = [f"The terms we apply under {policy.title} change (version {old.version} -> "
            f"{new.version}):", "", *[f"  {line}" for line in lines], ""]
    if new.state == "pending":
        body += ["This change needs your approval. Please reply to this mail with APPROVE on "
                 "the first line to approve it, or CHALLENGE followed by your reasons; until "
                 "then we keep applying the version you approved."]
    else:
        body += ["No action is needed; reply to this mail if you have questions."]
    m.set_content("\n".join(body) + "\n")
    return OutboundMail("policy-change", sender, recipients, msgid, subject, m.as_bytes())


@dataclass(frozen=True)
class Change:
    client: str
    version: PolicyVersion
    since: PolicyVersion | None
    lines: tuple[str, ...]
    mailed: bool = False


class PolicyChanges:
    def __init__(self, uow: Callable[[], PolicyChangeUnitOfWork], clock: Clock,
                 policies: PolicyBook, sender: str) -> None:
        self._uow = uow
        self.clock = clock
        self.policies = policies
        self.sender = sender

    def check(self) -> list[Change]:
        """Record each client's policy version if it is new, and tell the contacts what
        changed since the version last acknowledged. Idempotent: a version is recorded once."""
        now = self.clock.now()
        done: list[Change] = []
        with self._uow() as uow:
            for c in uow.clients.list():
                policy = self.policies.get(c.policy)
                content = policy_content(policy)
                if c.id is None or content is None:
                    continue
                latest = uow.policy_versions.latest(c.id, for_update=True)
                if latest is not None and latest.version == policy.version \
                        and latest.policy == policy.name:
                    continue
                base = uow.policy_versions.last_acknowledged(c.id)
                if base is None:
                    v = uow.policy_versions.add(PolicyVersion(
                        c.id, policy.name, policy.version, content, now, "baseline"))
                    done.append(Change(c.name, v, None, ()))
                    continue
                if latest is not None and latest.state in ("pending", "challenged"):
                    uow.policy_versions.decide(latest.id or 0, "superseded", at=now, by="")
                lines = diff(base.content, content)
                # only a change of substance waits for approval (not comments or layout)
                state = "pending" if policy.change_approval and lines else "told"
                recipients = tuple(a for a in (compose.safe_address(e) for e in c.emails) if a)
                v = PolicyVersion(c.id, policy.name, policy.version, content, now, state)
                mail = None
                if recipients and lines:
                    mail = change_mail(c, base, v, lines, policy, sender=self.sender,
                                       recipients=recipients, at=now)
                    v = PolicyVersion(c.id, policy.name, policy.version, content, now, state,
                                      mail.message_id)
                v = uow.policy_versions.add(v)
                if mail is not None:
                    uow.outbox.add(mail, at=now)
                done.append(Change(c.name, v, base, tuple(lines), mail is not None))
            uow.commit()
        return done

    def diff(self, client: str) -> tuple[Policy, PolicyVersion | None, list[str]]:
        """The client's current policy against the version last acknowledged."""
        with self._uow() as uow:
            c = uow.clients.get(client)
            if c is None or c.id is None:
                raise NotFound(f"no client named {client!r}")
            base = uow.policy_versions.last_acknowledged(c.id)
        policy = self.policies.get(c.policy)
        content = policy_content(policy) or ""
        return policy, base, diff(base.content, content) if base is not None else []

    def decide(self, client: str, decision: str, *, actor: str, note: str = "") -> PolicyVersion:
        with self._uow() as uow:
            v = self.decide_in(uow, client, decision, actor=actor)
            uow.commit()
        return v

    def decide_in(self, uow: PolicyChangeUnitOfWork, client: str, decision: str, *,
                  actor: str) -> PolicyVersion:
        c = uow.clients.get(client)
        if c is None or c.id is None:
            raise NotFound(f"no client named {client!r}")
        latest = uow.policy_versions.latest(c.id, for_update=True)
        if latest is None or latest.state != "pending" or latest.id is None:
            raise InvalidAction(f"no policy change of {client} is waiting for approval")
        return uow.policy_versions.decide(latest.id, decision, at=self.clock.now(), by=actor)

    def answer_by_mail(self, uow: PolicyChangeUnitOfWork, thread: tuple[str, ...], text: str,
                       sender: str, client: Client) -> str | None:
        """A contact's reply to a policy-change mail: what was done, or None when the mail
        answers no policy change of this client."""
        v = uow.policy_versions.by_message_ids(thread)
        if v is None or v.client_id != client.id:
            return None
        word = keyword(text)
        if word is None:
            return f"reply to policy change {v.version} without APPROVE or CHALLENGE: kept"
        if v.state != "pending":
            return f"reply to policy change {v.version}: it is {v.state} already"
        decision = "approved" if word == "accepted" else "challenged"
        self.decide_in(uow, client.name, decision, actor=sender)
        return f"policy change {v.version} of {client.name} {decision} by {sender}"


__all__ = ["ACKNOWLEDGED", "Change", "PolicyChanges", "PolicyVersion", "diff", "policy_content"]
