"""A site running the original tuktuk_management app, as tables and rows (our own description).

Only the tables and columns the upgrade reads or must keep are described, with the field types
the original's DocTypes give them (column types then follow Frappe v15's map, as on a real
site). The data set is a small fleet a few months in: balances, deposits, rollover targets,
a terminated driver with a pending refund, an unassigned driver, payments (two with the same
amount and time), users with the original's roles, Daraja credentials, and a table of a
DocType this app does not have.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime

from tuktuk_management.standalone.schema import (
	CHILD_COLUMNS,
	SINGLES_SQL,
	STANDARD_COLUMNS,
	TABLE_OPTIONS,
	column_definition,
)

# DocType -> "fieldname:Fieldtype" (a trailing ! marks a unique field).
TABLES = {
	"TukTuk Driver": """driver_name:Data mpesa_number:Data assigned_tuktuk:Link daily_target:Currency
		is_rollover_target:Check rollover_target_set_date:Datetime fare_percentage:Percent
		current_balance:Currency left_to_target:Currency consecutive_misses:Int driver_first_name:Data
		driver_last_name:Data driver_national_id:Data! driver_license:Data user_account:Link
		initial_deposit_amount:Currency current_deposit_balance:Currency
		allow_target_deduction_from_deposit:Check exit_date:Date refund_amount:Currency
		refund_status:Select sunny_id:Data""",
	"TukTuk Vehicle": """tuktuk_id:Data! tuktuk_make:Select status:Select assigned_driver:Link
		mpesa_account:Data battery_level:Percent latitude:Float device_id:Data!""",
	"TukTuk Transaction": """transaction_id:Data! transaction_type:Select tuktuk:Link driver:Link
		amount:Currency driver_share:Currency target_contribution:Currency customer_phone:Data
		timestamp:Datetime payment_status:Select b2c_payment_sent:Check""",
	"Terminated TukTuk Driver": """original_driver_id:Data! driver_name:Data mpesa_number:Data user_account:Link
		driver_national_id:Data! consecutive_misses:Int current_deposit_balance:Currency exit_date:Date
		refund_amount:Currency refund_status:Select""",
	"TukTuk Rental": "driver:Link rented_tuktuk:Link start_time:Datetime rental_fee:Currency",
	"Role": "role_name:Data desk_access:Check",
	"User": "email:Data first_name:Data enabled:Check",
	"Custom Field": "dt:Link fieldname:Data fieldtype:Data label:Data",
}
CHILD_TABLES = {"Has Role": "role:Link", "DocPerm": "role:Link read:Check write:Check"}
AUTH_SQL = f"""create table `__Auth` (`doctype` varchar(140) not null, `name` varchar(255) not null,
	`fieldname` varchar(140) not null, `password` text not null, `encrypted` int(1) not null default 0,
	primary key (`doctype`, `name`, `fieldname`)) {TABLE_OPTIONS}"""

NOW = datetime(2026, 11, 21, 15, 0, 0)
PAYBILL = "600966"
# Encrypted Password values as Frappe stores them (opaque text); the initiator name in clear.
ENCRYPTED = {
	"mpesa_api_key": "gAAAAABlegacyConsumerKey==",
	"mpesa_api_secret": "gAAAAABlegacyConsumerSecret==",
	"mpesa_security_credential": "gAAAAABlegacySecurityCredential==",
	"mpesa_initiator_name": "gAAAAABlegacyInitiator==",
}
PLAIN = {"mpesa_initiator_name": "fleetapi"}

# name, assigned vehicle, current_balance, deposit, daily_target, is_rollover, misses, user, exit/refund
DRIVERS = [
	("DRV-112001", "TUK-885-001", 1200, 500, 0, 0, 0, "wanjiru@example.com", None),
	("DRV-112002", "TUK-885-002", 300, 1000, 4500, 1, 1, "otieno@example.com", None),
	("DRV-112003", None, 0, 2000, 2500, 0, 0, None, None),  # unassigned, own target
	("DRV-112004", None, 0, 0, 0, 0, 3, "kamau@example.com", (date(2026, 11, 18), 1500, "Pending")),
	("DRV-112005", "TUK-885-003", 2999, 750, 6000, 1, 2, None, None),
	("DRV-112006", None, 0, 0, 0, 0, 0, None, (date(2026, 10, 2), 800, "Completed")),  # refunded
]
VEHICLES = [  # name, status, mpesa_account
	("TUK-885-001", "Assigned", "TT001"),
	("TUK-885-002", "Subbed", "TT002"),
	("TUK-885-003", "Charging", "TT003"),
	("TUK-885-004", "Maintenance", "TT004"),
	("TUK-885-005", "Offline", ""),
]
# transaction_id, type, vehicle, driver, amount, driver share, target contribution, status, B2C sent
TRANSACTIONS = [
	("SKL1AAA001", "Payment", "TUK-885-001", "DRV-112001", 400, 200, 200, "Completed", 1),
	("SKL1AAA002", "Payment", "TUK-885-001", "DRV-112001", 400, 200, 200, "Completed", 1),  # same amount/time
	("SKL1AAA003", "Payment", "TUK-885-001", "DRV-112001", 300, 150, 150, "Completed", 0),  # B2C never sent
	("SKL1AAA004", "Payment", "TUK-885-002", "DRV-112002", 600, 300, 300, "Completed", 1),
	("SKL1AAA005", "Driver Repayment", "TUK-885-002", "DRV-112002", 500, 0, 500, "Completed", 1),
	("SKL1AAA006", "Payment", "TUK-885-003", "DRV-112005", 250, 125, 125, "Pending", 0),
	("SKL1AAA007", "Adjustment", "TUK-885-003", "DRV-112005", 50, 0, 50, "Completed", 1),
]
# user, roles
USERS = [
	("manager@example.com", ["Tuktuk Manager"]),
	("finance@example.com", ["Finance Officer"]),
	("supervisor@example.com", ["Fleet Supervisor"]),
	("viewer@example.com", ["Operations Viewer"]),
	("wanjiru@example.com", ["TukTuk Driver", "Driver"]),
	("otieno@example.com", ["Driver"]),
	("kamau@example.com", ["TukTuk Driver"]),
]
LEGACY_ROLES = [
	"Tuktuk Manager",
	"TukTuk Driver",
	"Driver",
	"Fleet Supervisor",
	"Finance Officer",
	"Operations Viewer",
]
SETTINGS = {
	"global_daily_target": "3000",
	"global_fare_percentage": "50",
	"mpesa_paybill": PAYBILL,
	"operating_hours_start": "06:00:00",
	"operating_hours_end": "00:00:00",
	"instant_payouts_enabled": "0",  # the original's default; it paid by B2C at once anyway
	"b2c_enabled": "0",
	"last_daily_reset_date": "2026-11-21",
	"mpesa_api_key": "*" * 8,
	"mpesa_api_secret": "*" * 8,
}


def _create(db, doctype: str, spec: str, *, child: bool = False) -> None:
	columns = [STANDARD_COLUMNS, *(CHILD_COLUMNS if child else [])]
	indexes = ["primary key (`name`)"]
	for item in spec.split():
		fieldname, fieldtype = item.split(":")
		unique = fieldtype.endswith("!")
		columns.append(column_definition({"fieldname": fieldname, "fieldtype": fieldtype.rstrip("!")}))
		if unique:
			indexes.append(f"unique key `{fieldname}` (`{fieldname}`)")
	db.sql(f"create table `tab{doctype}` ({', '.join(columns + indexes)}) {TABLE_OPTIONS}")


def _insert(db, doctype: str, name: str, **values) -> None:
	columns = ["name", "creation", "modified", "owner", "modified_by", *values]
	db.sql(
		f"insert into `tab{doctype}` ({', '.join(f'`{c}`' for c in columns)}) values ({', '.join(['%s'] * len(columns))})",
		(name, NOW, NOW, "Administrator", "Administrator", *values.values()),
	)


def build(db, *, duplicate_account: bool = False) -> None:
	"""Create the original's tables and the data set in ``db`` (an empty database) and commit."""
	for doctype, spec in TABLES.items():
		_create(db, doctype, spec)
	for doctype, spec in CHILD_TABLES.items():
		_create(db, doctype, spec, child=True)
	db.sql(SINGLES_SQL)
	db.sql(AUTH_SQL)
	for field, value in SETTINGS.items():
		db.sql("insert into `tabSingles` values ('TukTuk Settings', %s, %s)", (field, value))
	for field, value in ENCRYPTED.items():
		db.sql(
			"insert into `__Auth` values ('TukTuk Settings', 'TukTuk Settings', %s, %s, 1)", (field, value)
		)
	for name, status, account in VEHICLES:
		if duplicate_account and name == "TUK-885-004":
			account = "tt001 "  # equal to TT001 for the unique index (case, trailing space)
		_insert(
			db,
			"TukTuk Vehicle",
			name,
			tuktuk_id=name[-3:],
			status=status,
			mpesa_account=account,
			device_id=None,
		)
	for name, tuktuk, balance, deposit, target, rollover, misses, user, exit_info in DRIVERS:
		exit_date, refund, refund_status = exit_info or (None, 0, "Pending")
		_insert(
			db,
			"TukTuk Driver",
			name,
			driver_name=f"Driver {name[-3:]}",
			mpesa_number="254712345678",
			assigned_tuktuk=tuktuk,
			daily_target=target,
			is_rollover_target=rollover,
			current_balance=balance,
			left_to_target=max(0, (target or 3000) - balance),
			consecutive_misses=misses,
			driver_national_id=f"ID{name[-3:]}",
			user_account=user,
			current_deposit_balance=deposit,
			exit_date=exit_date,
			refund_amount=refund,
			refund_status=refund_status,
			sunny_id="D" + name.removeprefix("DRV-"),
		)
	for trans_id, kind, tuktuk, driver, amount, share, contribution, status, sent in TRANSACTIONS:
		_insert(
			db,
			"TukTuk Transaction",
			secrets.token_hex(5),  # the original's names are random; the TransID is a field
			transaction_id=trans_id,
			transaction_type=kind,
			tuktuk=tuktuk,
			driver=driver,
			amount=amount,
			driver_share=share,
			target_contribution=contribution,
			customer_phone="2547XXXXX123",
			timestamp=datetime(2026, 11, 21, 9, 15, 0),
			payment_status=status,
			b2c_payment_sent=sent,
		)
	_insert(
		db,
		"Terminated TukTuk Driver",
		"DRV-111990",
		original_driver_id="DRV-111990",
		driver_name="Driver 990",
		refund_amount=0,
		refund_status="Completed",
	)
	# Archived before its refund was paid: the refund must reach the books.
	_insert(
		db,
		"Terminated TukTuk Driver",
		"DRV-111995",
		original_driver_id="DRV-111995",
		driver_name="Driver 995",
		mpesa_number="254712000995",
		driver_national_id="ID001",
		consecutive_misses=3,
		exit_date=date(2026, 9, 30),
		refund_amount=700,
		refund_status="Pending",
	)
	_insert(
		db,
		"TukTuk Rental",
		"RENT-0001",
		driver="DRV-112003",
		rented_tuktuk="TUK-885-004",
		start_time=NOW,
		rental_fee=200,
	)
	for role in [*LEGACY_ROLES, "System Manager"]:
		_insert(db, "Role", role, role_name=role, desk_access=1)
	for user, user_roles in [("Administrator", ["System Manager"]), *USERS]:
		_insert(db, "User", user, email=user, first_name=user.split("@")[0], enabled=1)
		for idx, role in enumerate(user_roles, start=1):
			_insert(
				db,
				"Has Role",
				secrets.token_hex(5),
				parent=user,
				parentfield="roles",
				parenttype="User",
				role=role,
				idx=idx,
			)
	_insert(
		db,
		"DocPerm",
		secrets.token_hex(5),
		parent="TukTuk Rental",
		parentfield="permissions",
		parenttype="DocType",
		role="Tuktuk Manager",
		read=1,
		write=1,
	)
	_insert(
		db,
		"Custom Field",
		"TukTuk Driver-sunny_id",
		dt="TukTuk Driver",
		fieldname="sunny_id",
		fieldtype="Data",
		label="Sunny ID",
	)
	_insert(
		db,
		"Custom Field",
		"TukTuk Vehicle-latitude",
		dt="TukTuk Vehicle",
		fieldname="latitude",
		fieldtype="Float",
		label="Latitude",
	)
	db.commit()


def checksum(db) -> dict[str, int]:
	"""``CHECKSUM TABLE`` of every table: equal dicts mean no row changed anywhere."""
	tables = [row[0] for row in db.sql("show tables")]
	return {
		row[0].split(".", 1)[1]: row[1]
		for row in db.sql("checksum table " + ", ".join(f"`{t}`" for t in tables))
	}
