"""The driver portal's figures match the ledger, and the page never takes a driver from a request."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

from tests.factories import c2b_body, ledger_sum, make_driver, make_vehicle, raw
from tuktuk_management.cli import close_business_day, handle_confirmation, site_now
from tuktuk_management.ledger import portal
from tuktuk_management.ledger.settings import load_settings

PAGE = Path(__file__).resolve().parent.parent / "tuktuk_management" / "www" / "driver" / "index.py"


def test_today_payments_payouts_and_statement_match_the_ledger(db):
	make_vehicle(db, "TT001")
	make_vehicle(db, "TT002")
	make_driver(db, "D000001", "TT001", daily_target=1000, fare_percentage=50, current_deposit_balance=300)
	make_driver(db, "D000002", "TT002", daily_target=1000, fare_percentage=50)
	db.commit()
	for amount in (400, 600):
		handle_confirmation(db, raw(c2b_body("TT001", amount)))
	handle_confirmation(db, raw(c2b_body("TT002", 900)))
	settings = load_settings(db)
	today = portal.driver_today(db, settings, "D000001")
	assert today.collected_kes == ledger_sum(db, "D000001", "target") == 500
	assert (today.target_kes, today.left_kes, today.progress_percent) == (1000, 500, 50)
	assert today.deposit_kes == ledger_sum(db, "D000001", "deposit") == 300
	assert today.payable_kes == ledger_sum(db, "D000001", "payable")
	payments = portal.recent_payments(db, "D000001")
	assert sorted(p["amount_kes"] for p in payments) == [400, 600]
	payouts = portal.recent_payouts(db, "D000001")
	assert sorted(p["amount_kes"] for p in payouts) == [200, 300]
	assert all(p["status"] == "Queued" for p in payouts)
	day = site_now(settings.site_timezone).date()
	statement = portal.statement(db, "D000001", day - timedelta(days=6), day)
	assert statement.closing_kes == {
		account: ledger_sum(db, "D000001", account) for account in ("target", "deposit", "payable")
	}
	assert {line.voucher_no for line in statement.lines} >= {p["transaction"] for p in payments}
	assert portal.driver_today(db, settings, "NOBODY") is None


def test_rollover_and_misses_after_a_missed_day(db):
	make_vehicle(db, "TT001")
	make_driver(db, "D000001", "TT001", daily_target=1000, fare_percentage=50)
	db.commit()
	handle_confirmation(db, raw(c2b_body("TT001", 400)))
	day = site_now(load_settings(db).site_timezone).date()
	close_business_day(db, day)
	today = portal.driver_today(db, load_settings(db), "D000001")
	assert (today.rollover_kes, today.target_kes, today.collected_kes, today.consecutive_misses) == (
		800,
		1800,
		0,
		1,
	)
	assert today.left_kes == 1800 and today.progress_percent == 0


def test_the_page_takes_its_driver_from_the_session_only():
	"""No request value can name the driver: the page reads form_dict only for the dates."""
	tree = ast.parse(PAGE.read_text())
	keys = set()
	for node in ast.walk(tree):
		if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
			if node.value.attr == "form_dict" and node.attr != "get":
				keys.add(node.attr)
		if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
			target = node.func.value
			if isinstance(target, ast.Attribute) and target.attr == "form_dict":
				keys.add(node.args[0].value)
	assert keys == {"from_date", "to_date"}
	assert "driver_of(frappe.session.user)" in PAGE.read_text()
