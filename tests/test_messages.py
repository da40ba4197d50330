"""SMS outbox: receipts written on the payment's row, made into messages and sent after commit by the
sender, counted at a stand-in gateway."""

from __future__ import annotations

from datetime import datetime, time

import pytest

from tests.factories import c2b_body, counts, driver_state, make_driver, make_vehicle, raw, set_settings
from tests.sms_standin import sms_standin  # a fixture
from tuktuk_management.cli import handle_confirmation
from tuktuk_management.ledger import c2b, messages, receipts, sms
from tuktuk_management.ledger.callback_log import (
	C2B_CONFIRMATION,
	process_logged_confirmation,
	store_callback,
)
from tuktuk_management.ledger.messages import MessageStatus, load_message_settings
from tuktuk_management.ledger.reconcile import check_books
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.ledger.split import Split
from tuktuk_management.ledger.status import LogStatus
from tuktuk_management.standalone.db import MariaDB

NOON = datetime(2026, 11, 21, 12, 0, 0)


@pytest.fixture
def fleet(db):
	make_vehicle(db, "TT001")
	make_vehicle(db, "TT002")
	make_driver(db, "D000001", "TT001", daily_target=1000, fare_percentage=50)
	make_driver(db, "D000002", "TT002", daily_target=1000, fare_percentage=50, current_balance=1000)
	set_settings(
		db, sms_enabled=1, sms_receipts_enabled=1, sms_quiet_hours_start="22:30", sms_quiet_hours_end="06:00"
	)
	db.commit()


class Row(dict):
	__getattr__ = dict.__getitem__


def message_rows(db, kind: str | None = None) -> list[Row]:
	"""The TukTuk Messages, after the sender's first step has made the pending receipts into rows."""
	receipts.materialize_receipts(db, now=NOON)
	db.commit()
	query = (
		"select * from `tabTukTuk Message`"
		+ (" where kind = %s" if kind else "")
		+ " order by idempotency_key"
	)
	return [Row(row) for row in db.sql(query, (kind,) if kind else (), as_dict=True)]


def send(db, gateway, at: datetime = NOON, **overrides) -> sms.SendSummary:
	settings = load_message_settings(db)
	return sms.send_queued(db, gateway, commit=db.commit, settings=settings, clock=lambda: at, **overrides)


def test_receipt_once_per_payment_even_when_redelivered(db, fleet, sms_standin):  # noqa: F811
	body = raw(c2b_body("TT001", 200, "RCP0000001"))
	assert handle_confirmation(db, body) == LogStatus.PROCESSED
	assert handle_confirmation(db, body) == LogStatus.DUPLICATE  # the redelivery
	rows = message_rows(db)
	assert [(row.kind, row.status, row.idempotency_key, row.transaction) for row in rows] == [
		("Receipt", "Queued", "receipt:RCP0000001", "RCP0000001")
	]
	assert rows[0].text == (
		"TukTuk: KES 200 received (RCP0000001). Your share KES 100. KES 900 left to today's target."
	)
	assert rows[0].phone is None  # no phone number until it is handed to the gateway
	summary = send(db, sms_standin.gateway())
	assert summary.sent == 1
	assert send(db, sms_standin.gateway()).sent == 0  # nothing left
	assert [(r.to, r.message, r.api_key) for r in sms_standin.requests] == [
		("+254700000000", rows[0].text, "standin-api-key")
	]
	row = message_rows(db)[0]
	assert (row.status, row.attempts, row.phone) == ("Sent", 1, "+254700000000")
	assert "ATX1" in row.provider_reply


def _statements_of(db, body: bytes) -> list[str]:
	"""The statements one payment sends (first words), through ``handle_confirmation``."""
	statements: list[str] = []
	original = type(db).sql

	def counting(query, values=None, as_dict=False):
		statements.append(" ".join(query.split())[:45])
		return original(db, query, values, as_dict)

	db.sql = counting
	try:
		assert handle_confirmation(db, body) == LogStatus.PROCESSED
	finally:
		del db.sql
	return statements


def test_receipt_costs_no_statement_on_the_payment_path(db, fleet):
	"""With receipts on a payment sends exactly the statements it sends with them off, none of them
	touching TukTuk Message; its own row carries the receipt until the sender makes the message."""
	on = _statements_of(db, raw(c2b_body("TT001", 200, "RCP0000020")))
	set_settings(db, sms_receipts_enabled=0)
	db.commit()
	off = _statements_of(db, raw(c2b_body("TT001", 200, "RCP0000021")))
	assert len(on) == len(off) and not [s for s in on if "TukTuk Message" in s]
	assert not [s for s in on if s.startswith("update `tabTukTuk Transaction`")]  # not corrected
	pending = db.sql("select name, receipt_pending, receipt_text is not null from `tabTukTuk Transaction`")
	assert sorted(pending) == [("RCP0000020", 1, 1), ("RCP0000021", 0, 0)]
	assert [row.idempotency_key for row in message_rows(db)] == ["receipt:RCP0000020"]


def test_receipt_of_a_payment_that_meets_the_target_and_of_a_driver_already_on_target(db, fleet):
	handle_confirmation(db, raw(c2b_body("TT001", 2000, "RCP0000002")))  # contributes 1000 = target
	handle_confirmation(db, raw(c2b_body("TT002", 300, "RCP0000003")))  # already on target: all share
	texts = {row.idempotency_key: row.text for row in message_rows(db)}
	assert texts["receipt:RCP0000002"].endswith("Your share KES 1000. Today's target met.")
	assert texts["receipt:RCP0000003"].endswith("Your share KES 300. Today's target met.")


def test_repayment_receipt_and_no_receipt_for_suspense(db, fleet):
	handle_confirmation(db, raw(c2b_body("D000001", 300, "RCP0000004")))
	handle_confirmation(db, raw(c2b_body("NOWHERE", 300, "RCP0000005")))
	rows = message_rows(db)
	assert [row.idempotency_key for row in rows] == ["receipt:RCP0000004"]
	assert rows[0].text == (
		"TukTuk: KES 300 received (RCP0000004). KES 0 to your deposit. KES 700 left to today's target."
	)


def test_receipts_off_writes_no_message(db, fleet):
	set_settings(db, sms_receipts_enabled=0)
	db.commit()
	handle_confirmation(db, raw(c2b_body("TT001", 200)))
	set_settings(db, sms_receipts_enabled=1, sms_enabled=0)  # master switch off
	db.commit()
	handle_confirmation(db, raw(c2b_body("TT001", 200)))
	assert message_rows(db) == []
	assert counts(db)["TukTuk Transaction"] == 2


def test_receipt_is_corrected_from_the_locked_row(db, fleet, db_url):
	"""Two payments planned from the same unlocked read: the second receipt shows the real figure."""
	settings = load_settings(db)
	first = c2b.prepare_confirmation(db, raw(c2b_body("TT001", 400, "RCP0000006")), settings=settings)
	other = MariaDB(db_url)
	try:
		second = c2b.prepare_confirmation(other, raw(c2b_body("TT001", 400, "RCP0000007")), settings=settings)
		c2b.apply_confirmation(other, second, settings=settings, now=NOON)
		other.commit()
	finally:
		other.close()
	db.rollback()  # a new snapshot, as a new request would have
	outcome = c2b.apply_confirmation(db, first, settings=settings, now=NOON)
	db.commit()
	assert outcome.message == "receipt:RCP0000006"
	texts = {row.idempotency_key: row.text for row in message_rows(db)}
	assert texts["receipt:RCP0000007"].endswith("KES 800 left to today's target.")
	assert texts["receipt:RCP0000006"].endswith("KES 600 left to today's target.")  # not 800
	assert driver_state(db, "D000001")["left_to_target"] == 600


def test_no_receipt_when_the_driver_left_active_before_the_lock(db, fleet, db_url):
	"""Planned for an Active driver, who is Suspended before the payment takes the lock: the payment
	goes to suspense and the UPDATE that corrects its row clears the receipt (none is ever made)."""
	settings = load_settings(db)
	planned = c2b.prepare_confirmation(db, raw(c2b_body("TT001", 400, "RCP0000030")), settings=settings)
	assert planned.plan.driver == "D000001"
	other = MariaDB(db_url)
	try:
		other.sql("update `tabTukTuk Driver` set status = 'Suspended' where name = 'D000001'")
		other.commit()
	finally:
		other.close()
	db.rollback()
	outcome = c2b.apply_confirmation(db, planned, settings=settings, now=NOON)
	db.commit()
	assert outcome.status == LogStatus.UNALLOCATED and outcome.message is None
	assert db.sql("select receipt_pending, receipt_text from `tabTukTuk Transaction`") == ((0, None),)
	assert message_rows(db) == []


class Injected(Exception):
	pass


def test_failure_after_the_receipt_leaves_nothing(db, fleet):
	body = raw(c2b_body("TT001", 400, "RCP0000008"))
	log = store_callback(db, endpoint=C2B_CONFIRMATION, raw_body=body, received_at=NOON)
	db.commit()
	reached = []

	def on_step(name):
		reached.append(name)
		if name == "caches_updated":
			raise Injected(name)

	with pytest.raises(Injected):
		process_logged_confirmation(db, log, body, settings=load_settings(db), now=NOON, on_step=on_step)
	assert "transaction_inserted" in reached  # the receipt was written with the transaction
	db.rollback()
	assert message_rows(db) == [] and counts(db)["TukTuk Transaction"] == 0
	outcome = process_logged_confirmation(db, log, body, settings=load_settings(db), now=NOON)
	db.commit()
	assert outcome.message == "receipt:RCP0000008" and len(message_rows(db)) == 1


def test_gateway_failure_is_retried_then_failed_and_money_untouched(db, fleet, sms_standin):  # noqa: F811
	set_settings(db, sms_max_attempts=3)
	db.commit()
	handle_confirmation(db, raw(c2b_body("TT001", 200, "RCP0000009")))
	books = (counts(db), driver_state(db, "D000001"))
	sms_standin.behaviours = ["500", "refused", "500"]
	first = send(db, sms_standin.gateway(), NOON)
	assert (first.retrying, first.failed) == (1, 0)
	assert send(db, sms_standin.gateway(), NOON).sent == 0  # not due yet (backoff)
	second = send(db, sms_standin.gateway(), datetime(2026, 11, 21, 12, 3))
	assert "InvalidPhoneNumber" in message_rows(db)[0].last_error  # HTTP 201 but refused in the body
	third = send(db, sms_standin.gateway(), datetime(2026, 11, 21, 12, 10))
	assert (second.retrying, third.failed) == (1, 1)
	row = message_rows(db)[0]
	assert (row.status, row.attempts) == ("Failed", 3)
	assert row.last_error.startswith("HTTP 500")
	assert "InvalidPhoneNumber" not in row.last_error  # the last reply is kept, earlier ones replaced
	assert len(sms_standin.requests) == 3
	assert send(db, sms_standin.gateway(), datetime(2026, 11, 21, 13, 0)).sent == 0
	assert (counts(db), driver_state(db, "D000001")) == books
	assert check_books(db).clean


def test_unreachable_gateway_records_no_phone_number(db, fleet):
	handle_confirmation(db, raw(c2b_body("TT001", 200)))
	gateway = sms.HttpGateway(
		url="http://127.0.0.1:9/send", message_parameter="m", receiver_parameter="to", timeout_s=2
	)
	assert send(db, gateway).retrying == 1
	row = message_rows(db)[0]
	assert row.status == "Queued" and "gateway unreachable" in row.last_error
	assert "2547" not in row.last_error + row.provider_reply


def test_numbers_without_plus_when_set(db, fleet, sms_standin):  # noqa: F811
	set_settings(db, sms_phone_plus=0)
	db.commit()
	handle_confirmation(db, raw(c2b_body("TT001", 200)))
	send(db, sms_standin.gateway())
	assert [r.to for r in sms_standin.requests] == ["254700000000"]


def test_quiet_hours_hold_messages_until_morning(db, fleet, sms_standin):  # noqa: F811
	handle_confirmation(db, raw(c2b_body("TT001", 200)))
	assert send(db, sms_standin.gateway(), datetime(2026, 11, 21, 23, 0)).quiet
	assert send(db, sms_standin.gateway(), datetime(2026, 11, 22, 5, 59)).quiet
	assert sms_standin.requests == [] and message_rows(db)[0].status == "Queued"
	assert send(db, sms_standin.gateway(), datetime(2026, 11, 22, 6, 0)).sent == 1


def test_daily_cap_skips_the_rest(db, fleet, sms_standin):  # noqa: F811
	set_settings(db, sms_daily_cap=2)
	db.commit()
	for _ in range(3):
		handle_confirmation(db, raw(c2b_body("TT001", 100)))
	summary = send(db, sms_standin.gateway())
	assert (summary.sent, summary.skipped) == (2, 1)
	handle_confirmation(db, raw(c2b_body("TT001", 100)))
	assert send(db, sms_standin.gateway()).skipped == 1  # still the same day
	handle_confirmation(db, raw(c2b_body("TT001", 100)))
	assert send(db, sms_standin.gateway(), datetime(2026, 11, 22, 9, 0)).sent == 1  # a new day
	assert len(sms_standin.requests) == 3


def test_opted_out_and_inactive_drivers_get_nothing(db, fleet, sms_standin):  # noqa: F811
	handle_confirmation(db, raw(c2b_body("TT001", 100)))
	handle_confirmation(db, raw(c2b_body("TT002", 100)))
	db.sql("update `tabTukTuk Driver` set sms_opt_out = 1 where name = 'D000001'")
	db.sql("update `tabTukTuk Driver` set status = 'Inactive' where name = 'D000002'")
	db.commit()
	assert send(db, sms_standin.gateway()).skipped == 2
	assert sms_standin.requests == []
	assert {row.last_error for row in message_rows(db)} == {"driver opted out of SMS", "driver is Inactive"}


def test_a_message_left_sending_by_a_crash_is_sent_later(db, fleet, sms_standin):  # noqa: F811
	handle_confirmation(db, raw(c2b_body("TT001", 100)))
	assert len(message_rows(db)) == 1  # the receipt made into its message
	db.sql("update `tabTukTuk Message` set status = 'Sending', attempts = 1, last_attempt_at = %s", (NOON,))
	db.commit()
	assert send(db, sms_standin.gateway(), datetime(2026, 11, 21, 12, 5)).sent == 0
	assert send(db, sms_standin.gateway(), datetime(2026, 11, 21, 12, 11)).sent == 1


def test_two_senders_never_send_one_message_twice(db, fleet, sms_standin, db_url):  # noqa: F811
	for _ in range(6):
		handle_confirmation(db, raw(c2b_body("TT001", 100)))
	set_settings(db, sms_daily_cap=0)
	db.commit()
	assert len(message_rows(db)) == 6
	other = MariaDB(db_url)
	try:
		settings = load_message_settings(db)
		claimed = sms._claim(other, settings, NOON, 3, sms.SendSummary())  # holds 3 rows, not committed
		summary = send(db, sms_standin.gateway())
		assert summary.sent == 3 and len(claimed) == 3
		other.rollback()
	finally:
		other.close()
	assert send(db, sms_standin.gateway()).sent == 3
	assert len(sms_standin.requests) == 6


def pending_receipts(db) -> list[str]:
	db.rollback()
	return [row[0] for row in db.sql("select name from `tabTukTuk Transaction` where receipt_pending = 1")]


def test_receipts_are_made_into_messages_once_even_by_two_senders(db, fleet, db_url):
	"""The payment writes no message: its row carries the receipt. Two senders materializing at
	once never make a message twice (the second skips the rows the first holds), and a run over a
	receipt already made (pending set again) leaves the one message as it is."""
	for number in range(1, 5):
		handle_confirmation(db, raw(c2b_body("TT001", 100, f"MAT000000{number}")))
	assert db.sql("select count(*) from `tabTukTuk Message`")[0][0] == 0  # nothing in the payments
	assert len(pending_receipts(db)) == 4
	other = MariaDB(db_url)
	try:
		assert receipts.materialize_receipts(other, now=NOON, batch_max=3) == 3  # holds them, uncommitted
		assert receipts.materialize_receipts(db, now=NOON) == 1  # only the fourth: the rest are held
		db.commit()
		other.commit()
	finally:
		other.close()
	assert pending_receipts(db) == [] and receipts.materialize_receipts(db, now=NOON) == 0
	db.sql("update `tabTukTuk Transaction` set receipt_pending = 1 where name = 'MAT0000001'")
	db.commit()
	assert receipts.materialize_receipts(db, now=NOON) == 1
	db.commit()
	rows = message_rows(db)
	assert [row.idempotency_key for row in rows] == [f"receipt:MAT000000{n}" for n in range(1, 5)]
	assert {(row.kind, row.status, row.driver) for row in rows} == {("Receipt", "Queued", "D000001")}
	assert pending_receipts(db) == []


# --- templates ---------------------------------------------------------------------------------


def test_templates_render_own_figures_and_fall_back_when_broken(db, fleet):
	set_settings(db, sms_receipt_template="Paid {{ amount_kes }}, {{ driver_phone }}")
	db.commit()
	handle_confirmation(db, raw(c2b_body("TT001", 200, "RCP0000010")))  # unknown name: default template
	assert message_rows(db)[0].text.startswith("TukTuk: KES 200 received")
	with pytest.raises(messages.TemplateInvalid):
		messages.render("{{ amount_kes", {})
	figures = messages.receipt_figures("X1", "Payment", Split(300, 150, 150, 0, 150), 1000)
	assert figures["left_kes"] == 850 and not figures["target_met"]
	assert messages.render("{{ amount_kes }}\n\n  {{ left_kes }}", figures) == "300 850"
	with pytest.raises(messages.TemplateInvalid):  # sandboxed: no attribute walking
		messages.render("{{ ''.__class__.__mro__ }}", figures)
	for name, sample in messages.SAMPLE_FIGURES.items():
		template = getattr(messages, f"DEFAULT_{name.upper()}_TEMPLATE")
		assert messages.render(template, sample)


# --- reminders and summaries -------------------------------------------------------------------


@pytest.fixture
def reminders(db, fleet):
	make_vehicle(db, "TT003")
	make_driver(db, "D000003", "TT003", status="Inactive", daily_target=1000)
	make_driver(db, "D000004", None, daily_target=1000)  # no vehicle today: not judged, not reminded
	set_settings(db, sms_reminders_enabled=1, sms_reminder_times="13:00, 18:00, 22:00")
	db.commit()


def queue_reminders(db, at: datetime) -> int:
	count = messages.queue_target_reminders(
		db, settings=load_settings(db), messages=load_message_settings(db), now=at, user="Administrator"
	)
	db.commit()
	return count


def test_reminders_once_per_slot_to_drivers_behind(db, reminders, sms_standin):  # noqa: F811
	assert queue_reminders(db, datetime(2026, 11, 21, 12, 59)) == 0  # no slot yet
	assert queue_reminders(db, datetime(2026, 11, 21, 13, 0)) == 1
	assert queue_reminders(db, datetime(2026, 11, 21, 13, 5)) == 1  # offered again, not written
	rows = message_rows(db, "Reminder")
	assert [(row.driver, row.idempotency_key) for row in rows] == [
		("D000001", "reminder:D000001:2026-11-21:1300")
	]
	assert rows[0].text == "TukTuk: KES 1000 left to today's target of KES 1000 (collected KES 0)."
	handle_confirmation(db, raw(c2b_body("TT001", 2000)))  # D000001 reaches the target
	assert queue_reminders(db, datetime(2026, 11, 21, 18, 0)) == 0
	assert queue_reminders(db, datetime(2026, 11, 21, 16, 0)) == 0  # 13:00 is more than 2 h ago
	send(db, sms_standin.gateway(), datetime(2026, 11, 21, 18, 1))
	reminder_texts = [text for text in sms_standin.texts if "left to today's target of" in text]
	assert len(reminder_texts) == 1


def test_reminder_job_run_twice_concurrently_writes_one_per_driver(db, reminders, db_url):
	other = MariaDB(db_url)
	try:
		at = datetime(2026, 11, 21, 18, 0)
		messages.queue_target_reminders(
			other, settings=load_settings(other), messages=load_message_settings(other), now=at, user="x"
		)
		other.commit()
		queue_reminders(db, at)
	finally:
		other.close()
	assert len(message_rows(db, "Reminder")) == 1


def test_day_summary_after_close(db, reminders):
	from tuktuk_management.cli import close_business_day, site_now

	set_settings(db, sms_summary_enabled=1, miss_limit=1)
	db.commit()
	handle_confirmation(db, raw(c2b_body("TT001", 600)))  # 300 of 1000: missed by 700
	today = site_now(load_settings(db).site_timezone).date()
	close_business_day(db, today)
	count = messages.queue_day_summaries(
		db,
		business_date=today,
		settings=load_settings(db),
		messages=load_message_settings(db),
		now=datetime(2026, 11, 22, 0, 5),
		user="x",
	)
	db.commit()
	rows = {row.driver: row.text for row in message_rows(db, "Day Summary")}
	assert count == len(rows) and "D000003" not in rows
	assert "D000004" not in rows  # no vehicle: closed but not judged, so no "target missed" text
	assert rows["D000001"] == (
		f"TukTuk {today.isoformat()}: target missed by KES 700 (1 in a row). Tomorrow's target KES 1700. "
		"Warning: 1 misses reach the limit of 1."
	)
	assert rows["D000002"].startswith(f"TukTuk {today.isoformat()}: target met, KES 1000 collected.")


def test_payout_messages_once_per_payout_and_outcome(db, fleet):
	set_settings(db, sms_payout_messages_enabled=1)
	db.commit()
	outcome = c2b.process_confirmation(db, raw(c2b_body("TT001", 400)), settings=load_settings(db), now=NOON)
	settings = load_message_settings(db)

	def offer():
		return messages.queue_payout_outcome(db, outcome.payout, messages=settings, now=NOON, user="x")

	assert not offer()  # still Queued
	db.sql("update `tabTukTuk Payout` set status = 'Failed' where name = %s", (outcome.payout,))
	assert offer() and offer()  # offered twice, written once
	db.sql(
		"update `tabTukTuk Payout` set status = 'Paid', receipt = 'SXY123' where name = %s", (outcome.payout,)
	)
	assert offer()
	db.commit()
	texts = {row.kind: row.text for row in message_rows(db) if row.kind.startswith("Payout")}
	assert texts == {
		"Payout Failed": "TukTuk: payout of KES 200 failed; it stays in your payable and will be retried.",
		"Payout Sent": "TukTuk: payout of KES 200 sent to your M-Pesa (SXY123).",
	}


def test_broadcast_preview_and_idempotent_queue(db, reminders, sms_standin):  # noqa: F811
	db.sql("update `tabTukTuk Driver` set sms_opt_out = 1 where name = 'D000002'")
	preview = messages.preview_broadcast(db, "  Office closed\n tomorrow ")
	assert (preview.count, preview.text, preview.drivers) == (
		2,
		"Office closed tomorrow",
		["D000001", "D000004"],
	)
	assert messages.preview_broadcast(db, "x", vehicle_assigned_only=True).drivers == ["D000001"]
	for _ in range(2):
		messages.queue_broadcast(db, preview, broadcast_id="B1", now=NOON, user="x")
	db.commit()
	send(db, sms_standin.gateway())
	assert sorted(sms_standin.texts) == ["Office closed tomorrow"] * 2


def test_settings_parse():
	assert messages.parse_times("22:00, 13:00;18:00") == (time(13), time(18), time(22))
	with pytest.raises(ValueError):
		messages.parse_times("13:00, noon")
	quiet = messages.MessageSettings(quiet_start=time(22, 30), quiet_end=time(6))
	assert quiet.is_quiet(time(23)) and quiet.is_quiet(time(5, 59)) and not quiet.is_quiet(time(6))
	assert not messages.MessageSettings(quiet_start=time(6), quiet_end=time(6)).is_quiet(time(6))
	slots = (time(13), time(23, 59))
	assert messages.due_slot(datetime(2026, 1, 1, 23, 59), slots, time(23, 59)) is None  # at the close
	assert messages.due_slot(datetime(2026, 1, 1, 14, 59), slots, time(23, 59)) == time(13)
	assert messages.due_slot(datetime(2026, 1, 1, 15, 1), slots, time(23, 59)) is None  # 2 h grace
