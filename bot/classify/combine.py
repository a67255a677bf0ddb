"""classify(): run the rules and combine their findings into one priority.

The first stage with a finding decides: explicit marker (when the client sets priority),
then client assessment, then impact/urgency wording, then the default. Within a stage the
heaviest finding wins, the more urgent one on a tie. Header signals may then raise a
text- or default-based result by one level (never to P1). Findings that disagree by two
levels or more with the decision are reported as a conflict and lower the confidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.classify.model import CONFLICT, Classification, Reason, Report, Rule, Stage
from bot.classify.rules import RULES
from bot.priority import Priority

ADVISORY = "(advisory: the provider sets priority under this contract)"

DISAGREEMENT_PENALTY = {0: 0.0, 1: 0.05, 2: 0.25, 3: 0.4}
"""Confidence lost per finding that disagrees with the decision, by levels apart.

A weaker stage one level off is normal (wording rarely shows whether there is a workaround)
and costs nothing; findings of the deciding stage itself that disagree always cost.
"""

COMPARED = (Stage.EXPLICIT, Stage.ASSESSMENT, Stage.EVIDENCE)
"""Stages whose findings are checked against the decision for conflicts."""

LAST_RESORT = Reason("classify", "no rule gave a priority: policy default P3", Priority.P3, 0.2)

MIN_CONFIDENCE = 0.05
MAX_CONFIDENCE = 0.99


@dataclass(frozen=True)
class _Finding:
    stage: Stage
    reason: Reason


def classify(report: Report, rules: Sequence[Rule] = RULES) -> Classification:
    """Classify `report` as P1-P4 with a confidence and the reasons, decisive one first."""
    findings = _collect(report, rules)
    by_stage = {stage: [f for f in findings if f.stage is stage] for stage in Stage}
    deciding = [Stage.EVIDENCE, Stage.FALLBACK]
    if report.client_sets_priority:
        deciding = [Stage.EXPLICIT, Stage.ASSESSMENT, *deciding]
    decision = next(
        (pick for stage in deciding if (pick := _pick(by_stage[stage])) is not None),
        _Finding(Stage.FALLBACK, LAST_RESORT),
    )
    base = _priority(decision)
    confidence = decision.reason.weight
    conflicts, confidence = _conflicts(decision, by_stage, confidence)
    final, nudge = _nudge(decision, base, by_stage[Stage.NUDGE])
    reasons = _ordered(decision, findings, conflicts, nudge)
    confidence = round(min(MAX_CONFIDENCE, max(MIN_CONFIDENCE, confidence)), 2)
    return Classification(final, confidence, reasons)


def _collect(report: Report, rules: Sequence[Rule]) -> list[_Finding]:
    """Every rule's findings, client claims marked advisory when the provider decides."""
    findings: list[_Finding] = []
    for rule in rules:
        stage = getattr(rule, "stage", Stage.EVIDENCE)
        for reason in rule.check(report):
            if stage.is_client_claim and not report.client_sets_priority:
                reason = replace(reason, text=f"{reason.text} {ADVISORY}")
            if all(f.reason != reason for f in findings):
                findings.append(_Finding(stage, reason))
    return findings


def _pick(findings: Sequence[_Finding]) -> _Finding | None:
    """The heaviest finding with a priority; the most urgent, then the first, on a tie."""
    candidates = [f for f in findings if f.reason.priority is not None]
    if not candidates:
        return None
    return min(candidates, key=lambda f: (-f.reason.weight, _priority(f).rank))


def _priority(finding: _Finding) -> Priority:
    assert finding.reason.priority is not None  # only findings with a priority get here
    return finding.reason.priority


def _conflicts(
    decision: _Finding, by_stage: dict[Stage, list[_Finding]], confidence: float
) -> tuple[list[Reason], float]:
    """Notes for findings that disagree with the decision, and the confidence left."""
    if decision.stage not in COMPARED:
        return [], confidence
    base = _priority(decision)
    notes = []
    rivals = [f for f in by_stage[decision.stage] if f.reason.priority not in (None, base)]
    rivals += [
        pick
        for stage in COMPARED
        if stage is not decision.stage and (pick := _pick(by_stage[stage])) is not None
    ]
    for rival in rivals:
        other = _priority(rival)
        apart = abs(other.rank - base.rank)
        same_stage = rival.stage is decision.stage
        if apart >= 2 or same_stage:
            confidence -= DISAGREEMENT_PENALTY[apart]
        if apart >= 2:
            said = "also " if same_stage else ""
            text = (
                f"conflict: {decision.stage.label} gives {base} but {rival.stage.label} "
                f"{said}points to {other}; {base} kept"
            )
            notes.append(Reason(CONFLICT, text, None, 0.0))
    return notes, confidence


def _nudge(
    decision: _Finding, base: Priority, nudges: Sequence[_Finding]
) -> tuple[Priority, tuple[_Finding, Reason] | None]:
    """Raise a text- or default-based priority by one level for a header, never to P1.

    Returns the final priority and, when raised, the header finding with its rewritten reason.
    """
    signal = _pick(nudges)
    if signal is None or decision.stage.is_client_claim:
        return base, None
    raised = base.raised()
    if raised.rank < _priority(signal).rank:
        raised = _priority(signal)
    if raised is Priority.P1:
        raised = Priority.P2
    if raised.rank >= base.rank:
        return base, None
    text = f"{signal.reason.text}: raises {base} to {raised}"
    return raised, (signal, replace(signal.reason, text=text))


def _ordered(
    decision: _Finding,
    findings: list[_Finding],
    conflicts: list[Reason],
    nudge: tuple[_Finding, Reason] | None,
) -> tuple[Reason, ...]:
    """Decisive reason first, then its stage, the nudge, conflicts, other stages, remarks."""
    decided = [decision.reason] + [
        f.reason
        for f in findings
        if f.stage is decision.stage and f is not decision and f.reason.priority is not None
    ]
    nudged, nudge_reason = nudge if nudge else (None, None)
    rest = [
        f
        for f in findings
        if f.reason not in decided
        and f is not nudged
        and not (f.stage is Stage.FALLBACK and decision.stage is not Stage.FALLBACK)
    ]
    pointed = [f.reason for f in rest if f.reason.priority is not None]
    remarks = [f.reason for f in rest if f.reason.priority is None]
    applied = [nudge_reason] if nudge_reason else []
    return tuple([*decided, *applied, *conflicts, *pointed, *remarks])
