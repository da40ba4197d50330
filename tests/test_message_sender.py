"""The sender lingers: a receipt committed while a run finds nothing due is still sent by that run.

The payment path enqueues the sender at most once a second per process (tasks.enqueue_message_job
with ``throttle``); a payment inside that second relies on the job enqueued before it, which keeps
looking for due messages for ``linger_s`` after its last one. Counted at the stand-in gateway.
"""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from tests.factories import c2b_body, make_driver, make_vehicle, raw, set_settings
from tests.sms_standin import sms_standin  # a fixture
from tuktuk_management.cli import handle_confirmation
from tuktuk_management.ledger import sms
from tuktuk_management.ledger.messages import load_message_settings
from tuktuk_management.standalone.db import MariaDB

NOON = datetime(2026, 11, 21, 12, 0, 0)


@pytest.fixture
def fleet(db):
	make_vehicle(db, "TT001")
	make_driver(db, "D000001", "TT001", daily_target=1000, fare_percentage=50)
	set_settings(db, sms_enabled=1, sms_receipts_enabled=1, sms_daily_cap=0)
	db.commit()


def run(db, gateway, *, linger_s: float, sleep) -> tuple[sms.SendSummary, float]:
	started = time.monotonic()
	summary = sms.send_until_idle(
		db,
		gateway,
		commit=db.commit,
		settings=load_message_settings(db),
		clock=lambda: NOON,
		batches_max=10,
		linger_s=linger_s,
		poll_s=0.05,
		sleep=sleep,
	)
	return summary, time.monotonic() - started


def test_a_receipt_committed_while_the_sender_lingers_is_sent_by_that_run(db, fleet, db_url, sms_standin):  # noqa: F811
	handle_confirmation(db, raw(c2b_body("TT001", 200, "LINGER0001")))
	paid_meanwhile = []

	def sleep_while_a_payment_lands(seconds: float) -> None:
		if not paid_meanwhile:  # the first time the run finds nothing due: another request pays
			other = MariaDB(db_url)
			try:
				handle_confirmation(other, raw(c2b_body("TT001", 300, "LINGER0002")))
			finally:
				other.close()
			paid_meanwhile.append(True)
		time.sleep(seconds)

	summary, _elapsed = run(db, sms_standin.gateway(), linger_s=1.0, sleep=sleep_while_a_payment_lands)
	assert summary.sent == 2
	assert [text.split(" received")[0] for text in sms_standin.texts] == [
		"TukTuk: KES 200",
		"TukTuk: KES 300",
	]


def test_the_sender_stops_after_lingering_with_nothing_due(db, fleet, sms_standin):  # noqa: F811
	handle_confirmation(db, raw(c2b_body("TT001", 200)))
	summary, elapsed = run(db, sms_standin.gateway(), linger_s=0.3, sleep=time.sleep)
	assert summary.sent == 1
	assert 0.3 <= elapsed < 3
	summary, elapsed = run(db, sms_standin.gateway(), linger_s=0.0, sleep=time.sleep)
	assert summary.sent == 0 and elapsed < 1  # linger 0: one look, as before
