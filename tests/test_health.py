"""The health checks that read the books (``ledger/health.py``): which close and which
reconciliation are overdue, callbacks and payouts waiting."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from tests.factories import make_driver, make_vehicle, set_settings
from tuktuk_management.ledger import health, reconcile
from tuktuk_management.ledger.callback_log import store_callback
from tuktuk_management.ledger.close import close_day
from tuktuk_management.ledger.settings import load_settings

D = date(2026, 11, 21)  # the drivers (factories.CREATED) exist from 2026-11-20 08:00


def at(day: date, hh: int, mm: int, ss: int = 0) -> datetime:
	return datetime.combine(day, time(hh, mm, ss))


@pytest.mark.parametrize(
	"close_time, now, expected",
	[
		(time(23, 59), at(D, 23, 59, 30), D - timedelta(days=1)),  # D's close just started
		(time(23, 59), at(D + timedelta(days=1), 0, 28), D - timedelta(days=1)),  # within the grace
		(time(23, 59), at(D + timedelta(days=1), 0, 29), D),  # 30 minutes after 23:59
		(time(18, 0), at(D, 18, 29, 59), D - timedelta(days=1)),
		(time(18, 0), at(D, 18, 30), D),
		(time(0, 10), at(D, 0, 39), D - timedelta(days=1)),
		(time(0, 10), at(D, 0, 40), D),
	],
)
def test_which_close_must_be_done(close_time, now, expected):
	assert health.close_must_be_done(now, close_time) == expected


def close(db, business_date: date) -> None:
	summary = close_day(
		db,
		business_date,
		settings=load_settings(db),
		clock=lambda: at(business_date, 23, 59, 30),
		commit=db.commit,
		rollback=db.rollback,
	)
	assert summary.done and not summary.errors


@pytest.fixture
def fleet(db):
	for n in (1, 2):
		make_vehicle(db, f"TT00{n}")
		make_driver(db, f"D00000{n}", f"TT00{n}", daily_target=100)
	make_driver(db, "D000009", status="Inactive")  # never judged
	db.commit()


def test_overdue_close_is_critical_until_the_close_runs(db, fleet):
	settings = load_settings(db)  # 23:59
	# Midday on D: the close of D-1 (due yesterday 23:59) never ran.
	check = health.check_daily_close(db, at(D, 12, 0), settings)
	assert (check.level, check.details["overdue_business_date"]) == (health.CRITICAL, "2026-11-20")
	assert check.details["drivers_not_closed"] == 2 and check.details["overdue_minutes"] == 12 * 60 + 1
	close(db, D - timedelta(days=1))
	check = health.check_daily_close(db, at(D, 12, 0), settings)
	assert check.level == health.OK and not check.details["overdue"]
	assert check.details["recent_closes"][0]["business_date"] == "2026-11-20"
	assert check.details["recent_closes"][0]["drivers_closed"] == 2
	# D's close is due at 23:59: in progress (ok) during the grace, then critical.
	check = health.check_daily_close(db, at(D + timedelta(days=1), 0, 10), settings)
	assert (check.level, check.details["drivers_not_closed"]) == (health.OK, 2)
	check = health.check_daily_close(db, at(D + timedelta(days=1), 0, 30), settings)
	assert (check.level, check.details["overdue_business_date"]) == (health.CRITICAL, "2026-11-21")
	close(db, D)
	assert health.check_daily_close(db, at(D + timedelta(days=1), 0, 30), settings).level == health.OK


def test_a_driver_created_after_the_day_is_not_due(db):
	assert health.check_daily_close(db, at(D, 12, 0), load_settings(db)).level == health.OK
	make_driver(db, "D000001")  # created 2026-11-20 08:00
	db.commit()
	check = health.check_daily_close(db, at(D - timedelta(days=1), 23, 0), load_settings(db))
	assert check.level == health.OK  # the close of 11-19 is overdue, but the driver did not exist


def run_at(db, when: datetime, triggered_by: str = health.SCHEDULED_RECONCILIATION) -> str:
	result = reconcile.run_reconciliation(
		db, settings=load_settings(db), clock=lambda: when, triggered_by=triggered_by
	)
	db.commit()
	return result.status


def test_reconciliation_due_and_overdue(db, fleet):
	settings = load_settings(db)  # 02:00
	check = health.check_reconciliation(db, at(D, 12, 0), settings)
	assert (check.level, check.details["due_at"]) == (health.CRITICAL, "2026-11-21 02:00:00")
	# A site that started keeping books after the due moment is not behind.
	check = health.check_reconciliation(db, at(D, 12, 0), settings, active_since=at(D, 11, 0))
	assert check.level == health.OK
	run_at(db, at(D, 2, 0, 40), triggered_by="manager@example.com")  # a manual run does not count
	assert health.check_reconciliation(db, at(D, 12, 0), settings).level == health.CRITICAL
	assert run_at(db, at(D, 2, 1)) == reconcile.CLEAN
	check = health.check_reconciliation(db, at(D, 12, 0), settings)
	assert check.level == health.OK and check.details["last_scheduled_run"]["status"] == reconcile.CLEAN
	# Tomorrow 02:29 is within the grace; 02:30 is not.
	assert health.check_reconciliation(db, at(D + timedelta(days=1), 2, 29), settings).level == health.OK
	check = health.check_reconciliation(db, at(D + timedelta(days=1), 2, 30), settings)
	assert (check.level, check.details["overdue_minutes"]) == (health.CRITICAL, 30)


def test_reconciliation_error_and_drift(db, fleet):
	settings = load_settings(db)
	reconcile.record_error_run(
		db,
		error="boom",
		clock=lambda: at(D, 2, 2),
		triggered_by=health.SCHEDULED_RECONCILIATION,
		fix=False,
		started_at=at(D, 2, 1),
	)
	db.commit()
	check = health.check_reconciliation(db, at(D, 12, 0), settings)
	assert check.level == health.CRITICAL and "Error" in check.message
	db.sql("update `tabTukTuk Driver` set current_balance = current_balance + 5 where name = 'D000001'")
	assert run_at(db, at(D, 2, 5)) == reconcile.DRIFT_FOUND
	check = health.check_reconciliation(db, at(D, 12, 0), settings)
	assert check.level == health.WARNING and "5 KES" in check.message


def test_callbacks_waiting(db):
	now = at(D, 12, 0)
	assert health.check_callbacks(db, now, load_settings(db)).level == health.OK
	store_callback(db, endpoint="C2B Confirmation", raw_body="{}", received_at=now - timedelta(minutes=2))
	store_callback(db, endpoint="C2B Validation", raw_body="{}", received_at=now - timedelta(hours=2))
	db.commit()
	check = health.check_callbacks(db, now, load_settings(db))
	assert (check.level, check.details["waiting"], check.details["oldest_age_minutes"]) == (health.OK, 1, 2)
	old = store_callback(db, endpoint="B2C Result", raw_body="{}", received_at=now - timedelta(minutes=16))
	db.commit()
	check = health.check_callbacks(db, now, load_settings(db))
	assert (check.level, check.details["waiting"], check.details["oldest_age_minutes"]) == (
		health.WARNING,
		2,
		16,
	)
	assert check.details["waiting_by_endpoint"] == {"C2B Confirmation": 1, "B2C Result": 1}
	db.sql("update `tabTukTuk Callback Log` set status = 'Failed', attempts = 5 where name = %s", (old,))
	db.commit()
	check = health.check_callbacks(db, now, load_settings(db))
	assert (check.level, check.details["waiting"], check.details["failed_out_of_attempts"]) == (
		health.WARNING,
		1,
		1,
	)
	db.sql("delete from `tabTukTuk Callback Log` where name = %s", (old,))
	set_settings(db, processing_paused=1)
	db.commit()
	check = health.check_callbacks(db, now, load_settings(db))
	assert check.level == health.WARNING and "paused" in check.message


def insert_payout(db, name: str, status: str, since: datetime) -> None:
	db.sql(
		"""insert into `tabTukTuk Payout` (name, creation, modified, owner, modified_by, driver, amount,
		status, originator_conversation_id, queued_at, sent_at, last_attempt_at, attempts)
		values (%s, %s, %s, 'Administrator', 'Administrator', 'D000001', 100, %s, %s, %s, %s, %s, 1)""",
		(name, since, since, status, f"oc-{name}", since, since, since),
	)


def test_payouts_waiting(db):
	now = at(D, 12, 0)
	insert_payout(db, "p-q", "Queued", now - timedelta(minutes=3))
	insert_payout(db, "p-s", "Sent", now - timedelta(minutes=50))
	insert_payout(db, "p-u", "Unknown", now - timedelta(minutes=20))
	insert_payout(db, "p-paid", "Paid", now - timedelta(days=2))
	db.commit()
	check = health.check_payouts(db, now)
	assert check.level == health.OK
	assert {s: (v["count"], v["oldest_age_minutes"]) for s, v in check.details.items()} == {
		"Queued": (1, 3),
		"Sent": (1, 50),
		"Unknown": (1, 20),
	}
	insert_payout(db, "p-q2", "Queued", now - timedelta(minutes=16))
	insert_payout(db, "p-u2", "Unknown", now - timedelta(minutes=61))
	db.commit()
	check = health.check_payouts(db, now)
	assert check.level == health.WARNING
	assert "2 Queued, oldest 16 min" in check.message and "2 Unknown, oldest 61 min" in check.message


def test_worst_level_and_exit_codes():
	assert health.worst([]) == health.OK
	assert health.worst([health.OK, health.WARNING]) == health.WARNING
	assert health.worst([health.CRITICAL, health.WARNING, health.OK]) == health.CRITICAL
	assert [health.EXIT_CODES[level] for level in health.LEVELS] == [0, 1, 2]
