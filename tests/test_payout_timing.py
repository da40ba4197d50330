"""The payout job's waits against its period: each wait ends by the run it is meant for.

``tasks.process_payouts`` runs every ``payouts.RUN_PERIOD`` (5 minutes). A run starts a few
seconds after its cron minute and stamps payouts while it works, so the tests place the moment
a payout was stamped and the start of the next runs anywhere in the first minute after their
cron minutes (``payouts.RUN_SLACK``).
"""

from __future__ import annotations

import ast
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.daraja_standin import daraja  # a fixture
from tests.test_payouts import Clock, client_of, deliver, fleet, pay, send  # fleet: a fixture
from tuktuk_management.ledger import payouts
from tuktuk_management.ledger.payouts import state as payouts_state
from tuktuk_management.ledger.settings import load_settings

CRON_MINUTE = datetime(2026, 11, 21, 12, 0, 0)  # a minute the "*/5" cron fires
LATE_S = [(0, 0), (59, 0), (30, 5), (0, 59), (59, 59), (45, 12)]  # (stamped, next run started)


def run_start(runs_later: int, late_s: float) -> datetime:
	"""When the run ``runs_later`` periods after CRON_MINUTE starts, ``late_s`` after its minute."""
	return CRON_MINUTE + runs_later * payouts.RUN_PERIOD + timedelta(seconds=late_s)


def run(db, daraja, clock: Clock) -> dict[str, int]:  # noqa: F811
	return payouts.run_due_payouts(
		db, client=client_of(daraja), settings=load_settings(db), clock=clock, commit=db.commit
	)


def unanswered_payout(db, daraja, stamped: datetime) -> str:  # noqa: F811
	"""A payout whose request Daraja never answered (Unknown, no ConversationID) at ``stamped``."""
	clock = Clock(stamped)
	name = pay(db, "TT001", 100, clock)
	daraja.behaviours = ["unavailable"] * 3
	assert send(db, name, daraja, clock).status == payouts.UNKNOWN
	return name


def test_the_period_is_the_cron_of_the_payout_job():
	tree = ast.parse((Path(payouts.__file__).resolve().parents[2] / "hooks.py").read_text())
	scheduler_events = ast.literal_eval(
		next(
			node.value
			for node in tree.body
			if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "scheduler_events"
		)
	)
	crons = scheduler_events["cron"]
	(cron,) = [
		cron for cron, methods in crons.items() if any(m.endswith(".process_payouts") for m in methods)
	]
	assert cron == f"*/{int(payouts.RUN_PERIOD.total_seconds() // 60)} * * * *"
	assert timedelta(0) < payouts.RUN_SLACK < payouts.RUN_PERIOD
	assert payouts.UNKNOWN_RESOLVE_AFTER == payouts.RUN_PERIOD  # resolved by the next run
	assert payouts.STATUS_QUERY_INTERVAL == 2 * payouts.RUN_PERIOD


@pytest.mark.parametrize("stamped_s, next_run_s", LATE_S)
def test_unknown_payout_is_resolved_by_the_next_run(db, fleet, daraja, stamped_s, next_run_s):  # noqa: F811
	name = unanswered_payout(db, daraja, run_start(0, stamped_s))
	assert payouts.in_flight_due(db, run_start(0, 59)) == []  # a late reply gets its chance first
	assert run(db, daraja, Clock(run_start(1, next_run_s))) == {"resolve:Unknown": 1}
	(query,) = daraja.status_requests
	assert query["OriginalConversationID"] == f"TTK-{name}"


def test_without_the_slack_the_payout_waits_a_second_period(db, fleet, daraja, monkeypatch):  # noqa: F811
	"""The rule the slack fixes: stamped 30 s into a run, the next run 5 s into its minute."""
	monkeypatch.setattr(payouts_state, "RUN_SLACK", timedelta(0))
	unanswered_payout(db, daraja, run_start(0, 30))
	assert run(db, daraja, Clock(run_start(1, 5))) == {}
	assert run(db, daraja, Clock(run_start(2, 5))) == {"resolve:Unknown": 1}


@pytest.mark.parametrize("stamped_s, next_run_s", LATE_S)
def test_status_queries_are_two_runs_apart(db, fleet, daraja, stamped_s, next_run_s):  # noqa: F811
	name = unanswered_payout(db, daraja, run_start(0, 0))
	run(db, daraja, Clock(run_start(1, stamped_s)))  # the first status query, never answered
	assert len(daraja.status_requests) == 1
	assert payouts.in_flight_due(db, run_start(2, next_run_s)) == []
	assert payouts.in_flight_due(db, run_start(3, next_run_s)) == [name]
	# Unknown without a ConversationID and queried one interval ago: the same request again.
	daraja.behaviours = []
	assert run(db, daraja, Clock(run_start(3, next_run_s))) == {"resolve:Sent": 1}
	assert {b["OriginatorConversationID"] for b in daraja.b2c_requests} == {f"TTK-{name}"}


@pytest.mark.parametrize("stamped_s, next_run_s", LATE_S)
def test_failed_payout_is_retried_by_the_run_its_backoff_names(db, fleet, daraja, stamped_s, next_run_s):  # noqa: F811
	clock = Clock(run_start(0, 0))
	name = pay(db, "TT001", 100, clock)
	daraja.planned_failures[f"TTK-{name}"] = ("1", "The balance is insufficient for the transaction.")
	send(db, name, daraja, clock)
	deliver(db, daraja.result_for(f"TTK-{name}"), clock=Clock(run_start(0, stamped_s)))
	backoff_runs = load_settings(db).payout_retry_backoff_minutes // 5  # 10 minutes: two runs
	assert payouts.failed_due(db, run_start(backoff_runs - 1, next_run_s), load_settings(db)) == []
	counts = run(db, daraja, Clock(run_start(backoff_runs, next_run_s)))
	assert counts == {"retry:Sent": 1}


@pytest.mark.parametrize("stamped_s, next_run_s", LATE_S)
def test_silent_sent_payout_is_queried_after_six_runs(db, fleet, daraja, stamped_s, next_run_s):  # noqa: F811
	clock = Clock(run_start(0, stamped_s))
	name = pay(db, "TT001", 100, clock)
	assert send(db, name, daraja, clock).status == payouts.SENT  # no result ever arrives
	runs = payouts.SENT_QUERY_AFTER // payouts.RUN_PERIOD
	assert payouts.in_flight_due(db, run_start(runs - 1, next_run_s)) == []
	assert payouts.in_flight_due(db, run_start(runs, next_run_s)) == [name]
