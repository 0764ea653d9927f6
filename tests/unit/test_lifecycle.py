"""The lifecycle table, checked exhaustively."""

import pytest

from incidents import lifecycle
from incidents.lifecycle import Status, TransitionNotAllowed


@pytest.mark.parametrize("current", list(Status))
@pytest.mark.parametrize("target", list(Status))
def test_every_pair_follows_the_table(current: Status, target: Status) -> None:
    if target in lifecycle.TRANSITIONS[current]:
        lifecycle.check_transition(current, target)
    else:
        with pytest.raises(TransitionNotAllowed):
            lifecycle.check_transition(current, target)


def test_forward_path_reaches_closed() -> None:
    path = [Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED, Status.CLOSED]
    for current, target in zip(path, path[1:]):
        lifecycle.check_transition(current, target)


def test_back_steps_and_reopen() -> None:
    lifecycle.check_transition(Status.MONITORING, Status.INVESTIGATING)
    assert lifecycle.is_reopen(Status.RESOLVED, Status.INVESTIGATING)
    assert not lifecycle.is_reopen(Status.MONITORING, Status.INVESTIGATING)


def test_closed_is_final() -> None:
    assert lifecycle.allowed_targets(Status.CLOSED) == []


def test_nothing_moves_to_itself() -> None:
    for status in Status:
        assert status not in lifecycle.TRANSITIONS[status]
