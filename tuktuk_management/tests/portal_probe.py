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


def setup() -> dict:
	result = http_probe.setup()
	driver_a, driver_b = result["drivers"]["driver"], result["drivers"]["other_driver"]
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
	http_probe.teardown()
