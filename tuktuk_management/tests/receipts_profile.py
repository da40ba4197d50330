"""Payments through the C2B webhook function with SMS receipts off and on, in one bench process.

    bench --site SITE execute tuktuk_management.tests.receipts_profile.run --kwargs '{"blocks": 20}'

A TEST site only: every call is a real 100 KES payment (committed) to a new vehicle and driver
(its receipts are not left to send: Queued ones deleted, pending ones cleared at the end).
Blocks of ``per_block`` payments alternate receipts off / on (which goes first alternates too);
each payment goes through ``api.c2b.confirmation`` as Frappe's request handler calls it (a werkzeug
request, the token check, the raw-first store and its commit, the payment, the end-of-request
commit and the after-commit enqueues of the payout and message jobs). The first block of each
variant and the first payment of every block (the settings change) are not counted. Prints one
JSON line: per variant the median and mean milliseconds per payment and the SQL statements per
payment, and ``throughput_on_to_off`` = off median / on median. With ``profile`` the cProfile of
each variant's payments (top 30 by cumulative time) is printed before it.
"""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import statistics
import time

import frappe
from frappe.utils.password import get_decrypted_password

from tuktuk_management.api import c2b as api_c2b
from tuktuk_management.tests.factories import c2b_payload, call_webhook, make_driver, make_vehicle

VARIANTS = ("off", "on")


class _Counting:
	"""Counts ``frappe.db.sql`` calls while installed."""

	def __init__(self):
		self.count = 0
		self.original = frappe.db.sql

	def __call__(self, *args, **kwargs):
		self.count += 1
		return self.original(*args, **kwargs)


def run(blocks: int = 20, per_block: int = 20, profile: bool = False) -> None:
	token = get_decrypted_password(
		"TukTuk Settings", "TukTuk Settings", "callback_token", raise_exception=False
	)
	paybill = frappe.db.get_single_value("TukTuk Settings", "mpesa_paybill") or "600966"
	was = frappe.db.get_value(
		"TukTuk Settings", "TukTuk Settings", ["sms_enabled", "sms_receipts_enabled"], as_dict=True
	)
	vehicle = make_vehicle()
	driver = make_driver(vehicle.name, fare_percentage=50).name
	frappe.db.commit()
	times = {variant: [] for variant in VARIANTS}
	statements = {variant: 0 for variant in VARIANTS}
	profiles = {variant: cProfile.Profile() for variant in VARIANTS}
	counting = _Counting()
	frappe.db.sql = counting
	try:
		for block in range(blocks):
			for variant in VARIANTS if block % 2 else tuple(reversed(VARIANTS)):
				on = int(variant == "on")
				frappe.db.set_single_value("TukTuk Settings", {"sms_enabled": on, "sms_receipts_enabled": on})
				frappe.db.commit()
				for index in range(per_block):
					body = c2b_payload(vehicle.mpesa_account, "100", shortcode=paybill)
					counted = block > 1 and index > 0
					before = counting.count
					if counted and profile:
						profiles[variant].enable()
					started = time.perf_counter()
					call_webhook(api_c2b.confirmation, body, token=token)
					elapsed = time.perf_counter() - started
					profiles[variant].disable()
					if counted:
						times[variant].append(elapsed)
						statements[variant] += counting.count - before
	finally:
		frappe.db.sql = counting.original
		frappe.db.set_single_value("TukTuk Settings", dict(was))
		# Its receipts are not for sending (no real driver): removed, not left Queued or pending.
		frappe.db.delete("TukTuk Message", {"driver": driver, "status": "Queued"})
		frappe.db.sql(
			"update `tabTukTuk Transaction` set receipt_pending = 0 where driver = %s and receipt_pending = 1",
			(driver,),
		)
		frappe.db.commit()
	if profile:
		for variant, profiler in profiles.items():
			out = io.StringIO()
			pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
			print(f"===== receipts {variant}\n{out.getvalue()}")
	result = {
		variant: {
			"payments": len(values),
			"median_ms": round(statistics.median(values) * 1000, 3),
			"mean_ms": round(statistics.mean(values) * 1000, 3),
			"statements_per_payment": round(statements[variant] / len(values), 2),
		}
		for variant, values in times.items()
	}
	result["throughput_on_to_off"] = round(result["off"]["median_ms"] / result["on"]["median_ms"], 3)
	print(json.dumps(result))
