"""Who gets which text: a driver with no target met yet, a substitute, and drivers who are not Active.

Every template name is rendered from the driver's own row (never another driver's, never a name or
phone number), and an Inactive, Suspended or Terminated driver gets no message of any kind: no
receipt, reminder, day-end summary, payout message or broadcast is queued, and a message queued
while the driver was still Active is Skipped by the sender. Counted at the stand-in gateway.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.factories import c2b_body, driver_state, make_driver, make_vehicle, raw, set_settings
from tests.sms_standin import sms_standin  # a fixture
from tuktuk_management.cli import close_business_day, handle_confirmation, site_now
from tuktuk_management.ledger import c2b, messages, receipts, sms
from tuktuk_management.ledger.messages import load_message_settings
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.ledger.split import Split

NOON = datetime(2026, 11, 21, 12, 0, 0)
AFTER_NOON_SLOT = datetime(2026, 11, 21, 13, 0, 0)
NOT_ACTIVE = ("Inactive", "Suspended", "Terminated")

# Templates that print every name each template is documented to have (docs/messaging.md).
ALL_RECEIPT = (
	"R {{ trans_id }} {{ repayment }} {{ amount_kes }} {{ share_kes }} {{ target_contribution_kes }} "
	"{{ deposit_kes }} {{ target_kes }} {{ left_kes }} {{ target_met }}"
)
ALL_REMINDER = (
	"M {{ left_kes }} {{ target_kes }} {{ collected_kes }} {{ rollover_kes }} {{ misses }} {{ slot }}"
)
ALL_SUMMARY = (
	"S {{ business_date }} {{ target_met }} {{ collected_kes }} {{ target_kes }} {{ shortfall_kes }} "
	"{{ misses }} {{ miss_limit }} {{ miss_warning }} {{ next_target_kes }}"
)


@pytest.fixture
def fleet(db):
	"""D000001 regular on TT001 (target 1000, nothing collected), S000009 a substitute on TT003
	(target 800, KES 300 already collected), and one driver per non-Active status, each with a vehicle."""
	for tuktuk in ("TT001", "TT003", "TT004", "TT005", "TT006"):
		make_vehicle(db, tuktuk)
	make_driver(db, "D000001", "TT001", daily_target=1000, fare_percentage=50)
	make_driver(db, "S000009", "TT003", daily_target=800, fare_percentage=50, current_balance=300)
	db.sql("update `tabTukTuk Driver` set driver_kind = 'Substitute' where name = 'S000009'")
	for tuktuk, status in zip(("TT004", "TT005", "TT006"), NOT_ACTIVE, strict=True):
		make_driver(db, f"X{status[:6].upper()}", tuktuk, status=status, daily_target=1000)
	set_settings(
		db,
		sms_enabled=1,
		sms_receipts_enabled=1,
		sms_reminders_enabled=1,
		sms_summary_enabled=1,
		sms_payout_messages_enabled=1,
		sms_reminder_times="13:00, 18:00",
		sms_daily_cap=0,
		miss_limit=3,
		sms_receipt_template=ALL_RECEIPT,
		sms_reminder_template=ALL_REMINDER,
		sms_summary_template=ALL_SUMMARY,
	)
	db.commit()


def materialized(db) -> None:
	"""The sender's first step: pending payment receipts made into TukTuk Messages."""
	receipts.materialize_receipts(db, now=NOON)
	db.commit()


def texts(db, kind: str) -> dict[str, str]:
	materialized(db)
	rows = db.sql("select driver, text from `tabTukTuk Message` where kind = %s order by driver", (kind,))
	return dict(rows)


def all_messages(db) -> list[tuple]:
	materialized(db)
	return list(
		db.sql("select driver, kind, status, last_error from `tabTukTuk Message` order by driver, kind")
	)


def queue_reminders(db, at: datetime) -> int:
	count = messages.queue_target_reminders(
		db, settings=load_settings(db), messages=load_message_settings(db), now=at, user="x"
	)
	db.commit()
	return count


def send(db, gateway, at: datetime = AFTER_NOON_SLOT) -> sms.SendSummary:
	return sms.send_queued(
		db, gateway, commit=db.commit, settings=load_message_settings(db), clock=lambda: at
	)


def test_driver_with_no_target_met_yet(db, fleet):
	"""Nothing collected yet: the reminder says the whole target is left; a first payment's receipt
	says what is still left, not "target met"; the day-end summary says missed."""
	assert queue_reminders(db, AFTER_NOON_SLOT) == 2  # D000001 and the substitute, both behind
	assert texts(db, "Reminder")["D000001"] == "M 1000 1000 0 0 0 13:00"
	handle_confirmation(db, raw(c2b_body("TT001", 400, "NOTMET0001")))  # contributes 200 of 1000
	assert driver_state(db, "D000001")["left_to_target"] == 800
	assert texts(db, "Receipt")["D000001"] == "R NOTMET0001 False 400 200 200 0 1000 800 False"
	today = site_now(load_settings(db).site_timezone).date()
	close_business_day(db, today)
	messages.queue_day_summaries(
		db,
		business_date=today,
		settings=load_settings(db),
		messages=load_message_settings(db),
		now=datetime(2026, 11, 22, 0, 5),
		user="x",
	)
	db.commit()
	# missed by 800, 1 miss in a row (limit 3: no warning), tomorrow 1000 + 800 rolled over
	assert texts(db, "Day Summary")["D000001"] == f"S {today.isoformat()} False 200 1000 800 1 3 False 1800"
	# the shipped default receipt for the same payment
	default = messages.render(
		messages.DEFAULT_RECEIPT_TEMPLATE,
		messages.receipt_figures("T1", "Payment", Split(400, 200, 200, 0, 200), 1000),
	)
	assert default == "TukTuk: KES 400 received (T1). Your share KES 200. KES 800 left to today's target."


def test_substitute_gets_texts_from_their_own_figures(db, fleet, sms_standin):  # noqa: F811
	"""A substitute is messaged like any Active driver with a vehicle, from their OWN row (target
	800, KES 300 collected before), never the regular driver's (target 1000), and no text carries a
	driver's name, ID or phone number."""
	handle_confirmation(db, raw(c2b_body("TT003", 200, "SUBST00001")))  # +100 to target: 400 of 800
	assert texts(db, "Receipt") == {"S000009": "R SUBST00001 False 200 100 100 0 800 400 False"}
	assert queue_reminders(db, AFTER_NOON_SLOT) == 2
	assert texts(db, "Reminder")["S000009"] == "M 400 800 400 0 0 13:00"
	assert texts(db, "Reminder")["D000001"] == "M 1000 1000 0 0 0 13:00"  # the regular's, unchanged
	assert send(db, sms_standin.gateway()).sent == 3
	for text in sms_standin.texts:
		assert "S000009" not in text and "D000001" not in text and "Driver " not in text
		assert "254700000000" not in text


def test_drivers_not_active_get_no_message_of_any_kind(db, fleet, sms_standin):  # noqa: F811
	"""Inactive, Suspended, Terminated: a payment to their vehicle goes to suspense (no receipt), no
	reminder, no day-end summary, no broadcast even when named, no payout message."""
	names = [f"X{status[:6].upper()}" for status in NOT_ACTIVE]
	for tuktuk in ("TT004", "TT005", "TT006"):
		handle_confirmation(db, raw(c2b_body(tuktuk, 500)))
	queue_reminders(db, AFTER_NOON_SLOT)
	queue_reminders(db, datetime(2026, 11, 21, 18, 0))
	today = site_now(load_settings(db).site_timezone).date()
	close_business_day(db, today)
	messages.queue_day_summaries(
		db,
		business_date=today,
		settings=load_settings(db),
		messages=load_message_settings(db),
		now=datetime(2026, 11, 22, 0, 5),
		user="x",
	)
	preview = messages.preview_broadcast(db, "Meeting at 9", drivers=[*names, "D000001"])
	assert preview.drivers == ["D000001"]
	messages.queue_broadcast(db, preview, broadcast_id="B-NA", now=NOON, user="x")
	db.commit()
	queued_to = {row[0] for row in all_messages(db)}
	assert queued_to.isdisjoint(names), all_messages(db)
	send(db, sms_standin.gateway(), datetime(2026, 11, 22, 9, 0))
	assert len(sms_standin.requests) == len(all_messages(db))  # all sent, all to Active drivers


@pytest.mark.parametrize("status", NOT_ACTIVE)
def test_driver_leaving_active_after_queueing_gets_nothing(db, fleet, sms_standin, status):  # noqa: F811
	"""Queued while Active, then Terminated (or Inactive, Suspended) before the sender ran: the
	receipt is Skipped, and the payout's result queues no "payout sent" message."""
	outcome = c2b.process_confirmation(
		db, raw(c2b_body("TT001", 400, "LEAVE00001")), settings=load_settings(db), now=NOON
	)
	db.commit()
	assert outcome.payout and outcome.message == "receipt:LEAVE00001"
	db.sql("update `tabTukTuk Driver` set status = %s where name = 'D000001'", (status,))
	db.sql(
		"update `tabTukTuk Payout` set status = 'Paid', receipt = 'SXLEAVE1' where name = %s",
		(outcome.payout,),
	)
	offered = messages.queue_payout_outcome(
		db, outcome.payout, messages=load_message_settings(db), now=NOON, user="x"
	)
	db.commit()
	assert offered is False
	summary = send(db, sms_standin.gateway())
	assert (summary.sent, summary.skipped) == (0, 1)
	assert sms_standin.requests == []
	assert all_messages(db) == [("D000001", "Receipt", "Skipped", f"driver is {status}")]


def test_payout_message_still_reaches_an_active_driver(db, fleet):
	"""The control for the test above: the same payout result for an Active driver is messaged."""
	outcome = c2b.process_confirmation(
		db, raw(c2b_body("TT001", 400, "STAYS00001")), settings=load_settings(db), now=NOON
	)
	db.sql(
		"update `tabTukTuk Payout` set status = 'Paid', receipt = 'SXSTAYS1' where name = %s",
		(outcome.payout,),
	)
	assert messages.queue_payout_outcome(
		db, outcome.payout, messages=load_message_settings(db), now=NOON, user="x"
	)
	db.commit()
	assert texts(db, "Payout Sent") == {
		"D000001": "TukTuk: payout of KES 200 sent to your M-Pesa (SXSTAYS1)."
	}
