"""Loading fixtures (Frappe fixture form) into the standalone database."""

from __future__ import annotations

from datetime import date, datetime

from tuktuk_management.ledger import accounts
from tuktuk_management.ledger.days_off import DAY_OFF_DOCTYPE
from tuktuk_management.ledger.days_off import fixture_values as day_off_values
from tuktuk_management.ledger.drivers import normalize_account, normalize_sunny_id, refresh_left_to_target
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.opening import post_opening_balances
from tuktuk_management.ledger.rows import new_name
from tuktuk_management.ledger.settings import SETTINGS_DOCTYPE, load_settings
from tuktuk_management.ledger.status import VehicleStatus
from tuktuk_management.ledger.substitutions import (
	Substitution,
	SubstitutionRefused,
	check_substitution,
	record_assignment,
)
from tuktuk_management.standalone.schema import NO_COLUMN_TYPES, load_doctypes, set_single_value

LOADABLE = (SETTINGS_DOCTYPE, "TukTuk Vehicle", "TukTuk Driver")
LOADABLE += ("TukTuk Substitution",)  # after the vehicles and drivers they name
LOADABLE += (DAY_OFF_DOCTYPE,)  # after the drivers they belong to
FIXTURE_DOCS_MAX = 100_000
STANDARD_KEYS = frozenset(
	{"doctype", "name", "owner", "creation", "modified", "modified_by", "docstatus", "idx"}
)
OPENING_FIELDS = {
	"current_balance": accounts.TARGET,
	"current_deposit_balance": accounts.DEPOSIT,
	"payout_pending": accounts.PAYABLE,
}


class FixtureError(ValueError):
	pass


def _fields(doctypes: dict[str, dict], doctype: str) -> dict[str, dict]:
	return {f["fieldname"]: f for f in doctypes[doctype]["fields"] if f["fieldtype"] not in NO_COLUMN_TYPES}


def load_fixtures(db, documents: list[dict], *, now: datetime) -> dict[str, int]:
	"""Insert TukTuk Settings, Vehicle, Driver, Substitution and Day Off documents; return counts per
	DocType.

	Settings come first, then vehicles, then drivers, then substitutions, then days off, whatever the
	file order. A day off's status defaults to Approved (``ledger.days_off.fixture_values``).
	A driver assigned to a vehicle gets an open TukTuk Vehicle Assignment from ``now``; a
	substitution must meet the rules of the desk
	(:func:`~tuktuk_management.ledger.substitutions.check_substitution`). A driver's
	non-zero ``current_balance``/``current_deposit_balance``/``payout_pending`` is posted as an
	opening voucher (so caches equal ledger sums from the start). Raises :class:`FixtureError`
	for an unknown DocType or field, a bad Sunny ID or account; the caller rolls back.
	"""
	if not isinstance(documents, list) or len(documents) > FIXTURE_DOCS_MAX:
		raise FixtureError(f"fixtures must be a JSON list of at most {FIXTURE_DOCS_MAX} documents")
	doctypes = {d["name"]: d for d in load_doctypes()}
	counts = dict.fromkeys(LOADABLE[:3], 0)  # later DocTypes are counted when present
	for doc in documents:
		if not isinstance(doc, dict) or doc.get("doctype") not in LOADABLE:
			raise FixtureError(f"each document needs a doctype among {', '.join(LOADABLE)}: {str(doc)[:80]}")
		unknown = set(doc) - STANDARD_KEYS - set(_fields(doctypes, doc["doctype"]))
		if unknown:
			raise FixtureError(f"{doc['doctype']} has no field(s) {', '.join(sorted(unknown))}")
	ordered = sorted(documents, key=lambda doc: LOADABLE.index(doc["doctype"]))
	drivers_with_opening: list[tuple[str, dict[str, int]]] = []
	for doc in ordered:
		doctype = doc["doctype"]
		fields = _fields(doctypes, doctype)
		values = {key: value for key, value in doc.items() if key not in STANDARD_KEYS}
		if doctype == SETTINGS_DOCTYPE:
			for key, value in values.items():
				if fields[key]["fieldtype"] != "Password":
					set_single_value(db, SETTINGS_DOCTYPE, key, value)
			counts[doctype] += 1
			continue
		try:
			if doctype == "TukTuk Vehicle":
				values["mpesa_account"] = normalize_account(values.get("mpesa_account"))
				name = doc.get("name") or values.get("tuktuk_id")
				if values.setdefault("status", VehicleStatus.ACTIVE) not in VehicleStatus.ALL:
					raise ValueError(f"status must be one of {', '.join(VehicleStatus.ALL)}")
			elif doctype == "TukTuk Substitution":
				name = doc.get("name") or new_name()
				_check_substitution(db, name, values, today=now.date())
			elif doctype == DAY_OFF_DOCTYPE:
				values = day_off_values(values)
				name = doc.get("name") or f"{values['driver']}-{values['day_off_date'].isoformat()}"
			else:
				values["sunny_id"] = normalize_sunny_id(values.get("sunny_id"))
				name = doc.get("name") or values["sunny_id"]
				opening = {OPENING_FIELDS[k]: to_kes(values.pop(k, 0)) for k in list(OPENING_FIELDS)}
				values.pop("left_to_target", None)
				if any(opening.values()):
					drivers_with_opening.append((name, opening))
		except ValueError as exc:
			raise FixtureError(f"{doctype} {doc.get('name') or ''}: {exc}") from exc
		if not name:
			raise FixtureError(f"{doctype} needs a name")
		columns = ["name", "creation", "modified", "modified_by", "owner", *values]
		db.sql(
			f"insert into `tab{doctype}` ({', '.join(f'`{c}`' for c in columns)}) "
			f"values ({', '.join(['%s'] * len(columns))})",
			(name, now, now, "Administrator", "Administrator", *values.values()),
		)
		counts[doctype] = counts.get(doctype, 0) + 1
		if doctype == "TukTuk Driver" and values.get("assigned_tuktuk"):
			record_assignment(db, name, values["assigned_tuktuk"], now=now)
	for driver, opening in drivers_with_opening:
		post_opening_balances(db, driver, balances_kes=opening, now=now)
	refresh_left_to_target(db, load_settings(db))
	return counts


def _check_substitution(db, name: str, values: dict, *, today: date) -> None:
	"""The desk's rules for a substitution fixture; raises ValueError (a FixtureError's cause)."""
	try:
		substitution = Substitution(
			name=name,
			vehicle=values.get("vehicle") or "",
			regular_driver=values.get("regular_driver") or "",
			substitute=values.get("substitute") or "",
			from_date=date.fromisoformat(str(values.get("from_date"))),
			to_date=date.fromisoformat(str(values.get("to_date"))),
			status=values.setdefault("status", "Active"),
		)
	except ValueError as exc:
		raise ValueError(f"from_date and to_date must be YYYY-MM-DD dates ({exc})") from exc
	try:
		check_substitution(db, substitution, today=today)
	except SubstitutionRefused as exc:
		raise ValueError(str(exc)) from exc
