"""The sample fleet and its day of callbacks on a site, through the app's own code (console only).

    bench --site SITE execute tuktuk_management.demo.load_sample_day

Loads ``samples/fleet.json`` with the standalone runner's fixture loader (opening balances as
opening vouchers) unless its first vehicle already exists, then hands every line of
``samples/callbacks.jsonl`` to the confirmation webhook's flow after its token check (stored raw
and committed, applied, logged) — the same as ``tuktuk_management.api.tuktuk.mpesa_confirmation``.
With ``as_today`` (default) each body's ``TransTime`` is moved to today's date (EAT, time of
day kept) so the desk's "today" figures show the replayed day, and the site's currency is set
to KES (System Settings) if it is another. Meant for demo and screenshot sites; replaying again changes nothing (every callback becomes a Duplicate).
``load_sample_statement`` then uploads the day's M-Pesa statement (``samples/statement.csv``).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import frappe
from frappe import _
from frappe.utils import now_datetime

from tuktuk_management.ledger.flags import parse_bool
from tuktuk_management.standalone.fleet import load_fixtures
from tuktuk_management.stored_callbacks import receive_confirmation

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
DARAJA_TIMEZONE = "Africa/Nairobi"
SOURCE_IP = "sample-replay"
CALLBACKS_MAX = 10_000
KES = "KES"


def console_bool(value: bool | int | str) -> bool:
	"""A yes/no argument from the console, strictly (:func:`~tuktuk_management.ledger.flags.parse_bool`);
	anything else is a ValidationError."""
	try:
		return parse_bool(value)
	except ValueError:
		frappe.throw(_("Not a yes/no value: {0}").format(value))


def moved_to_today(raw_body: str, today: str) -> str:
	"""The body with ``TransTime``'s date replaced by ``today`` (YYYYMMDD); other bodies as they are."""
	try:
		body = json.loads(raw_body)
	except ValueError:
		return raw_body
	trans_time = body.get("TransTime") if isinstance(body, dict) else None
	if not isinstance(trans_time, str) or len(trans_time) != 14 or not trans_time.isdigit():
		return raw_body
	return json.dumps({**body, "TransTime": today + trans_time[8:]})


def use_kenyan_shillings() -> bool:
	"""Make KES the site's currency (System Settings), creating the Currency if the site has none;
	True if it changed. A demo site shows amounts as the fleet sees them."""
	if frappe.db.get_default("currency") == KES:
		return False
	if not frappe.db.exists("Currency", KES):
		frappe.get_doc(
			{
				"doctype": "Currency",
				"currency_name": KES,
				"enabled": 1,
				"symbol": "KSh",
				"fraction": "Cents",
				"fraction_units": 100,
				"number_format": "#,###.##",
			}
		).insert(ignore_permissions=True)
	frappe.db.set_single_value("System Settings", "currency", KES)
	frappe.db.set_default("currency", KES)
	frappe.db.commit()  # nosemgrep: frappe-manual-commit -- a bench execute helper: its own unit of work
	frappe.clear_cache()
	return True


def load_sample_day(as_today: bool | int | str = True) -> dict:
	"""Load the sample fleet (once) and replay the sample day; returns ``{"loaded": {doctype:
	count} or None, "currency_set": bool, "statuses": {callback log status: count}}``. Commits."""
	as_today = console_bool(as_today)
	currency_set = use_kenyan_shillings()
	loaded = None
	if not frappe.db.exists("TukTuk Vehicle", "TT001"):
		documents = json.loads((SAMPLES / "fleet.json").read_text(encoding="utf-8"))
		loaded = load_fixtures(frappe.db, documents, now=now_datetime())
		frappe.db.commit()  # nosemgrep: frappe-manual-commit -- the fleet is kept before the replay commits per callback
		frappe.clear_cache(doctype="TukTuk Settings")
	today = datetime.now(ZoneInfo(DARAJA_TIMEZONE)).strftime("%Y%m%d")
	lines = [
		line.strip()
		for line in (SAMPLES / "callbacks.jsonl").read_text(encoding="utf-8").splitlines()
		if line.strip()
	][:CALLBACKS_MAX]
	statuses = Counter()
	for line in lines:
		body = moved_to_today(line, today) if as_today else line
		statuses[receive_confirmation(body, source_ip=SOURCE_IP).status] += 1
	return {"loaded": loaded, "currency_set": currency_set, "statuses": dict(statuses)}


def load_sample_statement() -> dict:
	"""Upload ``samples/statement.csv`` (the sample day's M-Pesa statement, with three lost
	callbacks and a bank transfer) as a TukTuk Statement Import, as an accountant would; returns
	the import's name and counts. Commits. Run :func:`load_sample_day` with ``as_today=0`` first."""
	content = (SAMPLES / "statement.csv").read_text(encoding="utf-8")
	file_doc = frappe.get_doc(
		{"doctype": "File", "file_name": "sample-statement.csv", "content": content, "is_private": 1}
	).insert(ignore_permissions=True)
	imported = frappe.get_doc(
		{"doctype": "TukTuk Statement Import", "statement_file": file_doc.file_url}
	).insert()
	frappe.db.commit()  # nosemgrep: frappe-manual-commit -- console demo: bench execute does not commit
	return {
		"statement_import": imported.name,
		"lines_new": imported.lines_new,
		"lines_existing": imported.lines_existing,
		"differences": imported.differences,
	}
