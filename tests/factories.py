"""Factories for the framework-free suite: fleet rows and Daraja-shaped C2B bodies."""

from __future__ import annotations

import itertools
import json
from datetime import datetime

from tuktuk_management.daraja import models
from tuktuk_management.ledger.drivers import refresh_left_to_target
from tuktuk_management.ledger.money import to_kes
from tuktuk_management.ledger.opening import post_opening_balances
from tuktuk_management.ledger.settings import SETTINGS_DOCTYPE, load_settings
from tuktuk_management.standalone.schema import set_single_value

PAYBILL = "600966"
CREATED = datetime(2026, 11, 20, 8, 0, 0)
_trans_ids = itertools.count(1)


def set_settings(db, **values) -> None:
	for field, value in values.items():
		set_single_value(db, SETTINGS_DOCTYPE, field, value)


def make_vehicle(db, tuktuk_id: str, mpesa_account: str | None = None, status: str = "Active") -> str:
	db.sql(
		"""insert into `tabTukTuk Vehicle` (name, creation, modified, owner, modified_by, tuktuk_id,
		mpesa_account, status) values (%s, %s, %s, 'Administrator', 'Administrator', %s, %s, %s)""",
		(tuktuk_id, CREATED, CREATED, tuktuk_id, (mpesa_account or tuktuk_id).upper(), status),
	)
	return tuktuk_id


def make_driver(
	db,
	sunny_id: str,
	tuktuk: str | None = None,
	*,
	status: str = "Active",
	daily_target: int = 0,
	fare_percentage: float | int | str = 0,
	current_balance: int = 0,
	current_deposit_balance: int = 0,
	payout_pending: int = 0,
) -> str:
	"""Insert a driver; opening balances are posted as an opening voucher (ledger = cache)."""
	db.sql(
		"""insert into `tabTukTuk Driver` (name, creation, modified, owner, modified_by, driver_name, sunny_id,
		mpesa_number, status, assigned_tuktuk, daily_target, fare_percentage)
		values (%s, %s, %s, 'Administrator', 'Administrator', %s, %s, '254700000000', %s, %s, %s, %s)""",
		(
			sunny_id,
			CREATED,
			CREATED,
			f"Driver {sunny_id}",
			sunny_id,
			status,
			tuktuk,
			daily_target,
			fare_percentage,
		),
	)
	post_opening_balances(
		db,
		sunny_id,
		balances_kes={
			"target": current_balance,
			"deposit": current_deposit_balance,
			"payable": payout_pending,
		},
		now=CREATED,
	)
	refresh_left_to_target(db, load_settings(db), sunny_id)
	return sunny_id


def next_trans_id() -> str:
	return f"TST{next(_trans_ids):07d}"


def c2b_body(
	account: str, amount: int | str, trans_id: str | None = None, *, shortcode: str = PAYBILL, **overrides
) -> dict:
	"""A C2B confirmation body in Daraja's documented shape (see shared/daraja)."""
	body = models.c2b_body(
		trans_id=trans_id or next_trans_id(),
		trans_time="20261121121325",
		amount=f"{amount}.00" if isinstance(amount, int) else amount,
		account=account,
		shortcode=shortcode,
		org_account_balance="25.00",
	)
	return {**body, **overrides}


def raw(body: dict) -> str:
	return json.dumps(body)


def driver_state(db, driver: str) -> dict[str, int]:
	row = db.sql(
		"""select current_balance, left_to_target, current_deposit_balance, payout_pending
		from `tabTukTuk Driver` where name = %s""",
		(driver,),
		as_dict=True,
	)[0]
	return {key: to_kes(value) for key, value in row.items()}


def counts(db) -> dict[str, int]:
	"""Row counts of the tables a payment writes."""
	return {
		table: db.sql(f"select count(*) from `tab{table}`")[0][0]
		for table in ("TukTuk Transaction", "TukTuk Ledger Entry", "TukTuk Payout")
	}


def ledger_sum(db, driver: str, account: str) -> int:
	value = db.sql(
		"""select coalesce(sum(credit - debit), 0) from `tabTukTuk Ledger Entry`
		where party = %s and account = %s""",
		(driver, account),
	)[0][0]
	return to_kes(value)
