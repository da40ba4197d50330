"""A replayed day: exactly the receipts and reminders the rules say arrive at the gateway.

Callbacks (some delivered twice), reminder slots and sender runs are played in time order. The
stand-in gateway checks, on every request it receives, from a connection of its own, that the
payment a receipt reports is already committed: no message is sent from inside a payment's
transaction. The expected messages are computed here from the rules (50 % split up to the target,
one reminder per slot to drivers still behind, nothing for opted-out or inactive drivers, nothing
for suspense, nothing for a redelivery), not read back from our rows.
"""

from __future__ import annotations

import re
from datetime import datetime

from tests.factories import c2b_body, make_driver, make_vehicle, raw, set_settings
from tests.sms_standin import sms_standin  # a fixture
from tuktuk_management.cli import handle_confirmation
from tuktuk_management.ledger import messages, sms
from tuktuk_management.ledger.messages import load_message_settings
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.standalone.db import MariaDB

DAY = datetime(2026, 11, 21)
TARGETS = {"D000001": 1000, "D000002": 500, "D000003": 800}
VEHICLE_OF = {"TT001": "D000001", "TT002": "D000002", "TT003": "D000003"}
# (hh:mm, BillRefNumber, amount, TransID); a TransID listed twice is a redelivery.
CALLBACKS = [
	("08:10", "TT001", 400, "RPL0000001"),
	("08:10", "TT001", 400, "RPL0000001"),
	("09:30", "TT002", 600, "RPL0000002"),
	("10:05", "TT003", 300, "RPL0000003"),  # D000003 opted out: no receipt, no reminder
	("11:00", "TT004", 250, "RPL0000004"),  # D000004 is Inactive: suspense, nothing sent
	("12:45", "UNKNOWN", 100, "RPL0000005"),  # suspense
	("14:20", "TT001", 800, "RPL0000006"),
	("14:20", "TT001", 800, "RPL0000006"),
	("17:59", "D000001", 500, "RPL0000007"),  # repayment (Sunny ID): D000001 reaches the target
	("19:00", "TT002", 400, "RPL0000008"),  # D000002 reaches the target
	("21:30", "TT001", 100, "RPL0000009"),  # D000001 already on target: all share
]
SLOTS = ("13:00", "18:00", "22:00")


def at(hhmm: str) -> datetime:
	hours, minutes = map(int, hhmm.split(":"))
	return DAY.replace(hour=hours, minute=minutes)


def expected_messages() -> tuple[dict[str, str], list[tuple[str, str]]]:
	"""(receipt TransID -> the left-to-target phrase, [(slot, driver)] reminders) by the rules."""
	collected = dict.fromkeys(TARGETS, 0)
	seen, receipts, reminders = set(), {}, []
	events = [(hhmm, "callback", item) for hhmm, *item in CALLBACKS] + [(s, "slot", None) for s in SLOTS]
	for hhmm, kind, item in sorted(events, key=lambda event: (event[0], event[1] == "callback")):
		if kind == "slot":
			reminders += [(hhmm, d) for d in ("D000001", "D000002") if collected[d] < TARGETS[d]]
			continue
		account, amount, trans_id = item
		if trans_id in seen:
			continue
		seen.add(trans_id)
		driver = VEHICLE_OF.get(account) or (account if account in TARGETS else None)
		if driver is None:
			continue
		left = TARGETS[driver] - collected[driver]
		contribution = min(amount, left) if account == driver else min(amount // 2, max(0, left))
		collected[driver] += contribution
		if driver != "D000003":
			after = TARGETS[driver] - collected[driver]
			receipts[trans_id] = (
				"Today's target met." if after <= 0 else f"KES {after} left to today's target."
			)
	return receipts, reminders


def test_replayed_day_sends_exactly_what_the_rules_say(db, db_url, sms_standin):  # noqa: F811
	for vehicle in ("TT001", "TT002", "TT003", "TT004"):
		make_vehicle(db, vehicle)
	for driver, target in TARGETS.items():
		make_driver(db, driver, f"TT00{driver[-1]}", daily_target=target, fare_percentage=50)
	make_driver(db, "D000004", "TT004", status="Inactive", daily_target=500)
	db.sql("update `tabTukTuk Driver` set sms_opt_out = 1 where name = 'D000003'")
	set_settings(
		db,
		sms_enabled=1,
		sms_receipts_enabled=1,
		sms_reminders_enabled=1,
		sms_reminder_times=", ".join(SLOTS),
		sms_daily_cap=0,
	)
	db.commit()

	checker = MariaDB(db_url)
	uncommitted = []
	original = sms_standin._handle

	def checking_handler(request):
		trans_ids = re.findall(r"\((RPL\d{7})\)", request.form.get("message", ""))
		for trans_id in trans_ids:
			checker.rollback()  # a fresh snapshot: only committed rows are visible
			if not checker.sql("select count(*) from `tabTukTuk Transaction` where name = %s", (trans_id,))[
				0
			][0]:
				uncommitted.append(trans_id)
		return original(request)

	sms_standin.server.clear_all_handlers()
	sms_standin.server.expect_request("/version1/messaging", method="POST").respond_with_handler(
		checking_handler
	)
	gateway = sms_standin.gateway()
	settings = load_settings(db)

	def send(now):
		sms.send_queued(db, gateway, commit=db.commit, settings=load_message_settings(db), clock=lambda: now)

	events = [(hhmm, "callback", item) for hhmm, *item in CALLBACKS] + [(s, "slot", None) for s in SLOTS]
	try:
		for hhmm, kind, item in sorted(events, key=lambda event: (event[0], event[1] == "callback")):
			now = at(hhmm)
			if kind == "slot":
				for _ in range(2):  # the scheduler may run a slot twice
					messages.queue_target_reminders(
						db, settings=settings, messages=load_message_settings(db), now=now, user="x"
					)
					db.commit()
			else:
				account, amount, trans_id = item
				handle_confirmation(db, raw(c2b_body(account, amount, trans_id)))
			send(now)
	finally:
		checker.close()

	receipts, reminders = expected_messages()
	received = sms_standin.texts
	got_receipts = {}
	for text in received:
		for trans_id in re.findall(r"\((RPL\d{7})\)", text):
			assert trans_id not in got_receipts, f"two receipts for {trans_id}"
			got_receipts[trans_id] = text
	assert set(got_receipts) == set(receipts)
	for trans_id, phrase in receipts.items():
		assert got_receipts[trans_id].endswith(phrase), (trans_id, got_receipts[trans_id], phrase)
	got_reminders = [text for text in received if "left to today's target of" in text]
	assert reminders == [("13:00", "D000001"), ("13:00", "D000002"), ("18:00", "D000002")]
	assert len(got_reminders) == len(reminders)
	assert len(received) == len(receipts) + len(reminders)
	assert uncommitted == []
