"""Every (actor, action, status) of SPEC §1: allowed with its steps, or refused."""

import pytest

from mailgate.domain import Status
from mailgate.workflow import Action, Actor, Refusal, decide

S = Status
OPEN = [s for s in Status if s is not S.CLOSED]


def expected(actor: Actor, action: Action, status: Status):
    """The contract, written out independently of the implementation's table."""
    if actor is Actor.CLIENT and action is Action.REPLY:
        if status in (S.WAITING_FOR_CLIENT, S.AWAITING_CONFIRMATION, S.CANCELLED):
            return [S.IN_PROGRESS]
        return Refusal.CLOSED if status is S.CLOSED else []
    if actor is Actor.CLIENT and action is Action.RESOLVE:
        return Refusal.CLOSED if status is S.CLOSED else [S.CLOSED]
    if actor is Actor.CLIENT and action is Action.CANCEL:
        if status is S.CLOSED:
            return Refusal.CLOSED
        return [S.CLOSED] if status is S.CANCELLED else [S.CANCELLED, S.CLOSED]
    if actor is Actor.CLIENT and action is Action.ESCALATE:
        if status is S.CLOSED:
            return Refusal.CLOSED
        return Refusal.ALREADY_ESCALATED if status is S.ESCALATED else [S.ESCALATED]
    if actor is Actor.AGENT and action is Action.REPLY:
        return [S.IN_PROGRESS] if status is S.NEW else []
    if actor is Actor.SYSTEM and action is Action.TIMEOUT:
        if status in (S.AWAITING_CONFIRMATION, S.CANCELLED):
            return [S.CLOSED]
        return Refusal.CLOSED if status is S.CLOSED else Refusal.NOT_ALLOWED
    return Refusal.CLOSED if status is S.CLOSED else Refusal.NOT_ALLOWED


CASES = [
    (actor, action, status)
    for actor in Actor
    for action in Action
    if action is not Action.SET_STATUS
    for status in Status
]


@pytest.mark.parametrize(("actor", "action", "status"), CASES)
def test_transition_table(actor, action, status):
    verdict = decide(status, action, actor=actor)
    want = expected(actor, action, status)
    if isinstance(want, Refusal):
        assert verdict.refusal is want
        assert verdict.steps == ()
    else:
        assert verdict.allowed
        assert [step.to_status for step in verdict.steps] == want
        previous = status
        for step in verdict.steps:
            assert step.from_status is previous
            previous = step.to_status


@pytest.mark.parametrize("status", OPEN)
@pytest.mark.parametrize("target", list(Status))
def test_agent_may_set_any_status_on_an_open_request(status, target):
    verdict = decide(status, Action.SET_STATUS, actor=Actor.AGENT, target=target)
    if status is target:
        assert verdict.refusal is Refusal.SAME_STATUS
    else:
        assert [(s.from_status, s.to_status) for s in verdict.steps] == [(status, target)]


@pytest.mark.parametrize("target", list(Status))
def test_closed_is_never_reopened_by_an_agent(target):
    verdict = decide(S.CLOSED, Action.SET_STATUS, actor=Actor.AGENT, target=target)
    assert verdict.refusal is Refusal.CLOSED


def test_unknown_status_name_is_refused():
    verdict = decide(S.IN_PROGRESS, Action.SET_STATUS, actor=Actor.AGENT, target=None)
    assert verdict.refusal is Refusal.UNKNOWN_STATUS


@pytest.mark.parametrize("actor", [Actor.CLIENT, Actor.SYSTEM])
def test_only_agents_set_statuses(actor):
    verdict = decide(S.NEW, Action.SET_STATUS, actor=actor, target=S.ON_HOLD)
    assert verdict.refusal is Refusal.NOT_ALLOWED
