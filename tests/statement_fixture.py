"""A replayed day and the M-Pesa statement of that day, with known faults injected.

:func:`replay_day` loads samples/fleet.json, delivers samples/callbacks.jsonl through the runner's
webhook flow (minus the dropped callbacks), sends every queued payout (status Sent, as the payout
job leaves it) and delivers its B2C result (minus the lost ones). :func:`day_statement` writes
what M-Pesa's statement of that day shows: every payment the customers made (dropped callbacks
included), every payout M-Pesa paid with its fee line, and the injected faults.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from tuktuk_management import cli
from tuktuk_management.daraja import b2c as daraja_b2c
from tuktuk_management.daraja import models
from tuktuk_management.ledger.mpesa_statement.parse import write_statement
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.standalone.fleet import load_fixtures

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
PAYBILL = "600966"
PAYOUT_FEE_KES = 15
OPENING_BALANCE_KES = Decimal(250_000)


@dataclass
class Faults:
	dropped: int = 0  # confirmations that never reached us (every 20th valid TransID)
	results_lost: int = 0  # payouts paid by M-Pesa whose result never arrived
	paid_twice: int = 0  # payouts M-Pesa paid a second time (another receipt)
	manual_withdrawal: bool = False  # money taken out of the paybill outside the app
	changed_amount: bool = False  # a payment the statement shows with another amount
	not_in_statement: bool = False  # a transaction in the books that M-Pesa never had


@dataclass
class Day:
	payments: list[dict]  # first valid body per TransID, file order
	dropped: list[str] = field(default_factory=list)
	lost_results: list[str] = field(default_factory=list)  # payout names
	paid_twice: list[str] = field(default_factory=list)  # payout names
	changed: str | None = None  # TransID shown with another amount
	omitted: str | None = None  # TransID left out of the statement
	paid_payouts: list[tuple[str, str, int, datetime, str]] = field(default_factory=list)


def valid_payments(bodies: list[str]) -> list[dict]:
	seen: dict[str, dict] = {}
	for raw in bodies:
		try:
			callback = models.parse_c2b(raw)
		except models.InvalidCallback:
			continue
		if callback.BusinessShortCode == PAYBILL and callback.TransID not in seen:
			seen[callback.TransID] = json.loads(raw)
	return list(seen.values())


def replay_day(db, faults: Faults) -> Day:
	with open(SAMPLES / "fleet.json", encoding="utf-8") as handle:
		load_fixtures(db, json.load(handle), now=datetime(2026, 11, 21, 5, 0))
	db.commit()
	bodies = cli.read_callbacks(str(SAMPLES / "callbacks.jsonl"))
	payments = valid_payments(bodies)
	day = Day(payments)
	day.dropped = [p["TransID"] for p in payments[5::20][: faults.dropped]]
	for raw in bodies:
		try:
			trans_id = json.loads(raw).get("TransID")
		except (ValueError, AttributeError):
			trans_id = None
		if trans_id in day.dropped:
			continue
		cli.handle_confirmation(db, raw)
	applied = [p["TransID"] for p in payments if p["TransID"] not in day.dropped]
	if faults.changed_amount:
		day.changed = applied[3]
	if faults.not_in_statement:
		day.omitted = applied[7]
	_send_and_settle(db, day, faults)
	return day


def _send_and_settle(db, day: Day, faults: Faults) -> None:
	"""Every Queued payout sent (Sent, attempt 1, shortly after its payment); results delivered
	except for the first ``results_lost`` payouts."""
	rows = db.sql(
		"""select p.name, p.amount, t.`timestamp` from `tabTukTuk Payout` p
		join `tabTukTuk Transaction` t on t.name = p.`transaction`
		where p.status = 'Queued' order by t.`timestamp`, p.name"""
	)
	for index, (name, amount, paid_at) in enumerate(rows):
		sent_at = paid_at + timedelta(seconds=20)
		db.sql(
			"""update `tabTukTuk Payout` set status = 'Sent', attempts = 1, sent_at = %s, last_attempt_at = %s,
			conversation_id = %s where name = %s""",
			(sent_at, sent_at, f"AG_{name}", name),
		)
		db.commit()
		receipt = f"PYT{index:07d}"
		completed = sent_at + timedelta(seconds=10)
		if index < faults.results_lost:
			day.lost_results.append(name)
			day.paid_payouts.append((name, receipt, int(amount), completed, "lost"))
			continue
		body = daraja_b2c.result_body(
			originator_conversation_id=f"TTK-{name}",
			conversation_id=f"AG_{name}",
			receipt=receipt,
			amount_kes=int(amount),
		)
		assert cli.handle_result(db, json.dumps(body)) == "Processed"
		day.paid_payouts.append((name, receipt, int(amount), completed, "paid"))
	day.paid_twice = [p[0] for p in day.paid_payouts if p[4] == "paid"][: faults.paid_twice]


def day_statement(db, day: Day, faults: Faults) -> str:
	"""The statement export (CSV text) of the replayed day, faults included."""
	msisdn = dict(db.sql("select name, mpesa_number from `tabTukTuk Driver`"))
	driver_of = dict(db.sql("select name, driver from `tabTukTuk Payout`"))
	events: list[dict] = []
	for body in day.payments:
		if body["TransID"] == day.omitted:
			continue
		amount = Decimal(body["TransAmount"])
		if body["TransID"] == day.changed:
			amount += 50
		when = datetime.strptime(body["TransTime"], "%Y%m%d%H%M%S")
		events.append(
			{
				"receipt_no": body["TransID"],
				"completion_time": when,
				"initiation_time": when,
				"details": f"Pay Bill Online from 2547***** Acc. {body['BillRefNumber']}",
				"paid_in": amount,
				"reason_type": "Pay Bill Online",
				"other_party_info": "2547******26 - CUSTOMER",
				"account_no": body["BillRefNumber"],
			}
		)
	for number, (payout, receipt, amount, completed, _state) in enumerate(day.paid_payouts):
		phone = msisdn[driver_of[payout]]
		events += _payout_lines(receipt, amount, completed, phone, number)
		if payout in day.paid_twice:
			events += _payout_lines(
				f"PYD{number:07d}", amount, completed + timedelta(minutes=3), phone, number + 500
			)
	if faults.manual_withdrawal:
		events.append(
			{
				"receipt_no": "MWD0000001",
				"completion_time": datetime(2026, 11, 21, 13, 0, 0),
				"details": "Business Transfer to Bank - EQUITY BANK 0123",
				"withdrawn": Decimal(5000),
				"reason_type": "Business Transfer to Bank",
				"other_party_info": "EQUITY BANK",
			}
		)
	events.sort(key=lambda event: (event["completion_time"], event["receipt_no"]))
	balance = OPENING_BALANCE_KES
	for event in events:
		balance += event.get("paid_in", 0) - event.get("withdrawn", 0)
		event["balance"] = f"{balance:,.2f}"
		event["transaction_status"] = "Completed"
		event["balance_confirmed"] = "true"
		for key in ("paid_in", "withdrawn"):
			event[key] = f"{event[key]:,.2f}" if key in event else ""
		for key in ("completion_time", "initiation_time"):
			if key in event:
				event[key] = event[key].strftime("%d-%m-%Y %H:%M:%S")
	return write_statement(events)


def _payout_lines(receipt: str, amount: int, completed: datetime, phone: str, number: int) -> list[dict]:
	return [
		{
			"receipt_no": receipt,
			"completion_time": completed,
			"details": f"Business Payment to {phone} - DRIVER",
			"withdrawn": Decimal(amount),
			"reason_type": "Business Payment to Customer via API",
			"other_party_info": f"{phone} - DRIVER",
		},
		{
			"receipt_no": f"CHG{number:07d}",
			"completion_time": completed,
			"details": "Business Payment Charge",
			"withdrawn": Decimal(PAYOUT_FEE_KES),
			"reason_type": "Business Payment Charge",
			"linked_transaction_id": receipt,
		},
	]


def settings_now(db) -> datetime:
	return cli.site_now(load_settings(db).site_timezone)
