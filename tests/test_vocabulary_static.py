"""One vocabulary: status words and DocType names are defined once and match the DocType JSON;
the ledger core does not import the HTTP client."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tuktuk_management.ledger import doctypes
from tuktuk_management.ledger.status import (
	CallbackEndpoint,
	PaymentStatus,
	PayoutStatus,
	SubstitutionStatus,
	TransactionType,
	VehicleStatus,
)

ROOT = Path(__file__).resolve().parent.parent
DOCTYPE_DIR = ROOT / "tuktuk_management" / "tuktuk_management" / "doctype"


def select_options(doctype: str, fieldname: str) -> tuple[str, ...]:
	folder = doctype.lower().replace(" ", "_")
	meta = json.loads((DOCTYPE_DIR / folder / f"{folder}.json").read_text())
	field = next(field for field in meta["fields"] if field["fieldname"] == fieldname)
	return tuple(option for option in field["options"].split("\n") if option)


def test_status_classes_are_the_select_options_of_their_fields():
	assert PayoutStatus.ALL == select_options(doctypes.PAYOUT, "status")
	assert PaymentStatus.ALL == select_options(doctypes.TRANSACTION, "payment_status")
	assert TransactionType.ALL == select_options(doctypes.TRANSACTION, "transaction_type")
	assert CallbackEndpoint.ALL == select_options(doctypes.CALLBACK_LOG, "endpoint")
	assert VehicleStatus.ALL == select_options(doctypes.VEHICLE, "status")
	assert SubstitutionStatus.ALL == select_options(doctypes.SUBSTITUTION, "status")
	for group in (PayoutStatus.IN_FLIGHT, PayoutStatus.UNPAID, PayoutStatus.ATTENTION, PayoutStatus.WAITING):
		assert set(group) <= set(PayoutStatus.ALL)
	assert set(PaymentStatus.REVERSIBLE) <= set(PaymentStatus.ALL)


def test_every_doctype_constant_names_a_shipped_doctype():
	shipped = {json.loads(path.read_text())["name"] for path in DOCTYPE_DIR.glob("*/*.json")}
	names = {value for key, value in vars(doctypes).items() if key.isupper()}
	assert names and names <= shipped, names - shipped


def test_the_ledger_core_does_not_import_requests():
	code = (
		"import sys, pkgutil, importlib, tuktuk_management.ledger as ledger\n"
		"for info in pkgutil.walk_packages(ledger.__path__, 'tuktuk_management.ledger.'):\n"
		"    importlib.import_module(info.name)\n"
		"print('requests' in sys.modules)\n"
	)
	result = subprocess.run(
		[sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
	)
	assert result.stdout.strip() == "False"
