"""Bench side of the portal isolation probe over HTTP (scripts/http_portal_probe.sh, docs/portal.md).

    bench --site SITE execute tuktuk_management.tests.portal_probe.setup
    bench --site SITE execute tuktuk_management.tests.portal_probe.teardown

``setup`` builds the row probe's fixtures (:mod:`tuktuk_management.tests.http_probe`: driver A
``http-driver@example.com`` with one payment, driver B ``http-driver2@example.com`` with payments
of amounts no one else has, a daily close and a credit note) and returns, besides the row
probe's markers, what identifies B on a page: B's Sunny ID, B's name, and B's balance figures
(collected, left to target, deposit, not yet paid out; as plain numbers and as the portal prints
them, ``73,117``), leaving out any figure A has too (it would prove nothing). A's Sunny ID and
figures are returned as ``own`` so the probe can tell A's page from an error page.
"""

from __future__ import annotations

import frappe

from tuktuk_management.ledger import portal
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.tests import http_probe, http_role_check

FIGURES = ("collected_kes", "left_kes", "deposit_kes", "payable_kes", "target_kes")


def _figures(driver: str) -> dict[str, int]:
	today = portal.driver_today(frappe.db, load_settings(frappe.db), driver)
	return {name: int(getattr(today, name)) for name in FIGURES}


def _as_text(values) -> set[str]:
	"""Each figure as the pages and the JSON print it; figures under 1,000 are too common to tell."""
	texts = set()
	for value in values:
		if abs(value) >= 1000:
			texts.update({str(value), f"{value:,}"})
	return texts


# Driver B's lifecycle rows: a day off, a withdrawal request and a cash deposit, each carrying a
# text no other row has, so a page or a generic read that showed one of them would be caught.
B_DAY_OFF_REASON = "probe: B's day off 58213"
B_DEPOSIT_REFERENCE = "PROBE-B-CASH-58214"
B_DEPOSIT_KES = 1_580
B_WITHDRAWAL_KES = 4_321
LIFECYCLE_DOCTYPES = ("TukTuk Day Off", "TukTuk Withdrawal Request", "TukTuk Deposit Entry")


def _b_lifecycle_rows(driver_b: str) -> tuple[dict[str, list[str]], list[str]]:
	"""Insert B's lifecycle rows (as the desk and the core write them); (rows by DocType, markers)."""
	from frappe.utils import add_days, now_datetime, nowdate

	from tuktuk_management.ledger.owed.withdrawals import insert_request
	from tuktuk_management.ledger.owed.words import WithdrawalSource, WithdrawalStatus

	day_off = frappe.get_doc(
		{
			"doctype": "TukTuk Day Off",
			"driver": driver_b,
			"day_off_date": add_days(nowdate(), 9),
			"reason": B_DAY_OFF_REASON,
		}
	).insert(ignore_permissions=True)
	request = insert_request(
		frappe.db,
		driver=driver_b,
		amount_kes=B_WITHDRAWAL_KES,
		source=WithdrawalSource.DRIVER_REQUEST,
		status=WithdrawalStatus.REQUESTED,
		now=now_datetime(),
		user="Administrator",
	)
	deposit = frappe.get_doc(
		{
			"doctype": "TukTuk Deposit Entry",
			"driver": driver_b,
			"kind": "Cash Deposit",
			"amount_kes": B_DEPOSIT_KES,
			"reference": B_DEPOSIT_REFERENCE,
		}
	).insert(ignore_permissions=True)
	deposit.submit()
	rows = {
		"TukTuk Day Off": [day_off.name],
		"TukTuk Withdrawal Request": [request],
		"TukTuk Deposit Entry": [deposit.name],
	}
	markers = [
		day_off.name,
		request,
		deposit.name,
		B_DAY_OFF_REASON,
		B_DEPOSIT_REFERENCE,
		str(B_WITHDRAWAL_KES),
	]
	return rows, markers


def _delete_lifecycle_rows() -> None:
	driver_b = frappe.db.get_value("TukTuk Driver", {"user": http_role_check.USERS["other_driver"][0]})
	if not driver_b:
		return
	deposits = frappe.get_all("TukTuk Deposit Entry", filters={"driver": driver_b}, pluck="name")
	if deposits:
		frappe.db.sql("delete from `tabTukTuk Ledger Entry` where voucher_no in %s", (deposits,))
		frappe.db.sql("delete from `tabTukTuk Deposit Entry` where name in %s", (deposits,))
	frappe.db.delete("TukTuk Day Off", {"driver": driver_b})
	frappe.db.delete("TukTuk Withdrawal Request", {"driver": driver_b})
	frappe.db.sql("update `tabTukTuk Driver` set current_deposit_balance = 0 where name = %s", (driver_b,))


def setup() -> dict:
	result = http_probe.setup()
	driver_a, driver_b = result["drivers"]["driver"], result["drivers"]["other_driver"]
	lifecycle_rows, lifecycle_markers = _b_lifecycle_rows(driver_b)
	result["b_rows"].update(lifecycle_rows)
	result["markers"] = sorted(set(result["markers"]) | set(lifecycle_markers))
	figures_a, figures_b = _figures(driver_a), _figures(driver_b)
	b_figures = sorted(_as_text(figures_b.values()) - _as_text(figures_a.values()))
	result["portal"] = {
		"driver_a": driver_a,
		"driver_b": driver_b,
		"user_b": http_role_check.USERS["other_driver"][0],
		"b_sunny_id": frappe.db.get_value("TukTuk Driver", driver_b, "sunny_id"),
		"b_driver_name": http_probe.B_DRIVER_NAME,
		"b_figures": b_figures,
		"b_figures_by_name": figures_b,
		"b_payment_amount": http_probe.B_AMOUNTS[0],
		"own_sunny_id": frappe.db.get_value("TukTuk Driver", driver_a, "sunny_id"),
		"own_figures": figures_a,
	}
	frappe.db.commit()
	return result


def teardown() -> None:
	_delete_lifecycle_rows()
	http_probe.teardown()
