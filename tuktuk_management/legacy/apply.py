"""The upgrade's writes: before the model sync and after it (see :mod:`tuktuk_management.legacy`).

Both steps are idempotent (a second run changes nothing) and never commit: the caller owns the
transaction (a Frappe patch is committed by ``bench migrate`` when it returns). Both refuse to
start while :func:`~tuktuk_management.legacy.plan.find_blockers` finds anything, so a blocker
stops the upgrade with nothing changed. No row of the original's is deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from tuktuk_management.ledger import accounts
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.drivers import SUNNY_ID_PATTERN, lock_drivers
from tuktuk_management.ledger.rows import sql_datetime
from tuktuk_management.ledger.settings import SETTINGS_DOCTYPE
from tuktuk_management.ledger.writer import PostingLine, new_name, post_voucher
from tuktuk_management.legacy import mapping
from tuktuk_management.legacy.plan import (
	NO_POSTINGS,
	DriverPlan,
	UpgradeBlocked,
	UpgradePlan,
	archived_pending_refunds,
	find_blockers,
	is_legacy_site,
	read_plan,
	read_settings,
	table_columns,
)

OPENING_REMARKS = "Opening balance from the original app"


def before_model_sync(
	db: Database, *, role_link_columns: tuple[tuple[str, str], ...] = mapping.ROLE_LINK_COLUMNS
) -> dict[str, int]:
	"""Prepare the original's data for this app's DocTypes; counts of what changed.

	Raises :class:`UpgradeBlocked` (before any write) if duplicate M-Pesa accounts or Sunny IDs
	would break the unique indexes the model sync adds. Then: renames ``Tuktuk Manager`` to
	``TukTuk Manager`` with every link to it (role_link_columns: ``(DocType, column)`` pairs
	holding Role names), deletes the original's Custom Field records that duplicate one of this
	app's standard fields (the column and its values stay), and stores empty M-Pesa accounts and
	Sunny IDs as NULL (empty strings would collide in the unique index). A site without the
	original's data is left alone.
	"""
	if not is_legacy_site(db):
		return {}
	blockers = find_blockers(db)
	if blockers:
		raise UpgradeBlocked(blockers)
	plan = read_plan(db)
	counts = {"roles_renamed": 0, "custom_fields_removed": 0, "blanks_cleared": 0}
	for old, new in plan.role_renames:
		db.sql("update `tabRole` set name = %s, role_name = %s where binary name = %s", (new, new, old))
		for doctype, column in role_link_columns:
			if column in table_columns(db, doctype):
				db.sql(f"update `tab{doctype}` set `{column}` = %s where binary `{column}` = %s", (new, old))
		counts["roles_renamed"] += 1
	for name in plan.conflicting_custom_fields:
		db.sql("delete from `tabCustom Field` where name = %s", (name,))
		counts["custom_fields_removed"] += 1
	for doctype, column in (("TukTuk Vehicle", "mpesa_account"), ("TukTuk Driver", "sunny_id")):
		if column in table_columns(db, doctype):
			db.sql(f"update `tab{doctype}` set `{column}` = null where trim(`{column}`) = ''")
			counts["blanks_cleared"] += _affected(db)
	return counts


def after_model_sync(
	db: Database,
	*,
	now: datetime,
	user: str = "Administrator",
	decrypt: Callable[[str], str | None] | None = None,
	on_driver: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
	"""Bring the original's data into the books; counts of what changed (all 0 on a second run).

	now: the migration's clock (site time zone): the opening vouchers' date.
	decrypt: returns the plain text of a TukTuk Settings Password field (Frappe's
	``get_decrypted_password``), to copy the initiator name into a Data field; None skips it.
	on_driver: progress callback ``(done, total)``.
	"""
	if not is_legacy_site(db):
		return {}
	blockers = find_blockers(db)
	if blockers:
		raise UpgradeBlocked(blockers)
	counts = {"archived_drivers_restored": restore_archived_refunds(db, now=now, user=user)}
	plan = read_plan(db)
	first_run = not plan.migrated_at
	counts["transactions_marked"] = mark_pre_ledger_transactions(db)
	counts.update(open_drivers(db, plan, now=now, user=user, on_driver=on_driver))
	counts["users_linked"] = link_users(db)
	counts["roles_granted"] = grant_roles(db, plan)
	counts["vehicles_mapped"] = map_vehicle_statuses(db)
	counts["settings_copied"] = copy_settings(db, plan, decrypt=decrypt)
	counts["drivers_deactivated"] = 0
	if first_run:
		# Once only: a manager may later reactivate a driver or turn the legacy URLs off.
		db.sql(
			"update `tabTukTuk Driver` set status = 'Inactive' where exit_date is not null and status = 'Active'"
		)
		counts["drivers_deactivated"] = _affected(db)
		_set_single(db, "accept_legacy_callback_urls", "1")
		# The original sent every driver share by B2C at once, whatever its switches said.
		_set_single(db, "instant_payouts_enabled", "1")
		_set_single(db, "legacy_migrated_at", sql_datetime(now))
	return counts


# Columns of an archived driver never copied back: unique in the driver table (a re-hired driver
# may hold the same national ID) or this app's own.
_NOT_RESTORED = {
	"name",
	"creation",
	"modified",
	"modified_by",
	"owner",
	"docstatus",
	"idx",
	"driver_national_id",
}


def restore_archived_refunds(db: Database, *, now: datetime, user: str) -> int:
	"""Put archived drivers (Terminated TukTuk Driver) with a pending deposit refund back in the
	driver table as Inactive, with the columns both tables share (the archived row stays), so the
	refund becomes a payable in their opening voucher. Returns the drivers restored."""
	archived = archived_pending_refunds(db) if table_columns(db, "Terminated TukTuk Driver") else []
	if not archived:
		return 0
	shared = sorted(
		(table_columns(db, "Terminated TukTuk Driver") & table_columns(db, "TukTuk Driver")) - _NOT_RESTORED
	)
	columns = ", ".join(f"`{column}`" for column in shared)
	sunny_ids = {
		row[0] for row in db.sql("select sunny_id from `tabTukTuk Driver` where sunny_id is not null")
	}
	for driver, _refund in archived:
		db.sql(
			f"""insert into `tabTukTuk Driver` (name, creation, modified, modified_by, owner, docstatus, idx,
			{columns}) select original_driver_id, %s, %s, %s, %s, 0, 0, {columns}
			from `tabTerminated TukTuk Driver` where original_driver_id = %s""",
			(now, now, user, user, driver),
		)
		sunny_id = "D" + driver.removeprefix("DRV-")
		db.sql(
			"""update `tabTukTuk Driver` set status = 'Inactive', sunny_id = %s,
			exit_date = coalesce(exit_date, %s) where name = %s""",
			(
				sunny_id if SUNNY_ID_PATTERN.match(sunny_id) and sunny_id not in sunny_ids else None,
				now.date(),
				driver,
			),
		)
	return len(archived)


def mark_pre_ledger_transactions(db: Database) -> int:
	"""Mark the original's transactions (rows without postings) pre-ledger, keep their original
	type and status, and map those onto this app's options. Returns the rows marked."""
	db.sql(
		f"""update `tabTukTuk Transaction` t set t.pre_ledger = 1,
		t.legacy_transaction_type = t.transaction_type, t.legacy_payment_status = t.payment_status,
		t.transaction_type = {_case("t.transaction_type", mapping.TRANSACTION_TYPE, mapping.TRANSACTION_TYPE_DEFAULT)},
		t.payment_status = {_case("t.payment_status", mapping.PAYMENT_STATUS, mapping.PAYMENT_STATUS_DEFAULT)}
		where t.pre_ledger = 0 and {NO_POSTINGS}"""
	)
	return _affected(db)


def open_drivers(
	db: Database,
	plan: UpgradePlan,
	*,
	now: datetime,
	user: str,
	on_driver: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
	"""Per driver, under its row lock: take rollover out of ``daily_target``, then post its legacy
	figures as one opening voucher (caches zeroed first, moved back by the posting, so each cache
	equals its ledger sum). Drivers with ledger lines already get no opening voucher."""
	counts = {"opening_vouchers": 0, "rollovers_moved": 0, "close_dates_set": 0}
	last_closed = (now - timedelta(days=1)).date()
	for done, driver in enumerate(plan.drivers, start=1):
		lock_drivers(db, [driver.driver])
		if driver.is_rollover:
			db.sql(
				"""update `tabTukTuk Driver` set daily_target = %s, target_rollover = %s, is_rollover_target = 0,
				left_to_target = greatest(0, %s - current_balance)
				where name = %s and is_rollover_target = 1""",
				(driver.daily_target_kes, driver.target_rollover_kes, plan.target_kes(driver), driver.driver),
			)
			counts["rollovers_moved"] += _affected(db)
		db.sql(
			"update `tabTukTuk Driver` set last_close_date = %s where name = %s and last_close_date is null",
			(last_closed, driver.driver),
		)
		counts["close_dates_set"] += _affected(db)
		if not driver.opened and any(driver.opening_kes.values()):
			_post_opening(db, plan, driver, now=now, user=user)
			counts["opening_vouchers"] += 1
		if on_driver:
			on_driver(done, len(plan.drivers))
	return counts


def _post_opening(db: Database, plan: UpgradePlan, driver: DriverPlan, *, now: datetime, user: str) -> None:
	lines: list[PostingLine] = []
	for account, amount_kes in driver.opening_kes.items():
		if amount_kes > 0:
			lines += [
				PostingLine(accounts.OPENING, debit_kes=amount_kes),
				PostingLine(account, credit_kes=amount_kes, party=driver.driver),
			]
		elif amount_kes < 0:
			lines += [
				PostingLine(account, debit_kes=-amount_kes, party=driver.driver),
				PostingLine(accounts.OPENING, credit_kes=-amount_kes),
			]
	db.sql(
		"""update `tabTukTuk Driver` set current_balance = 0, current_deposit_balance = 0, payout_pending = 0
		where name = %s""",
		(driver.driver,),
	)
	locked = lock_drivers(db, [driver.driver])
	post_voucher(
		db,
		voucher_type=accounts.DRIVER_DOCTYPE,
		voucher_no=driver.driver,
		lines=lines,
		posting_datetime=now,
		locked=locked,
		target_kes_by_driver={driver.driver: plan.target_kes(driver)},
		remarks=(
			f"{OPENING_REMARKS}: current_balance {driver.current_balance_kes} KES, "
			f"current_deposit_balance {driver.deposit_kes} KES, unpaid driver share "
			f"{driver.unpaid_share_kes} KES, pending deposit refund {driver.pending_refund_kes} KES"
		),
		user=user,
	)


def link_users(db: Database) -> int:
	"""Copy the original's driver user link (``user_account``) to ``user`` where unset."""
	db.sql(
		"""update `tabTukTuk Driver` set `user` = user_account
		where (`user` is null or `user` = '') and user_account is not null and user_account <> ''"""
	)
	return _affected(db)


def grant_roles(db: Database, plan: UpgradePlan) -> int:
	"""Give each user holding one of the original's roles this app's nearest role (if missing)."""
	granted = 0
	for user, _legacy_role, role in plan.role_grants:
		if db.sql(
			"select 1 from `tabHas Role` where parenttype = 'User' and parent = %s and binary role = %s",
			(user, role),
		):
			continue
		idx = db.sql("select coalesce(max(idx), 0) + 1 from `tabHas Role` where parent = %s", (user,))[0][0]
		db.sql(
			"""insert into `tabHas Role` (name, creation, modified, modified_by, owner, docstatus, idx,
			parent, parentfield, parenttype, role) values (%s, now(), now(), 'Administrator',
			'Administrator', 0, %s, %s, 'roles', 'User', %s)""",
			(new_name(), idx, user, role),
		)
		granted += 1
	return granted


def map_vehicle_statuses(db: Database) -> int:
	"""Map the original's vehicle statuses onto Active / Maintenance / Retired."""
	db.sql(
		f"""update `tabTukTuk Vehicle` set status = {_case("status", mapping.VEHICLE_STATUS, mapping.VEHICLE_STATUS_DEFAULT)}
		where status is null or status not in ('Active', 'Maintenance', 'Retired')"""
	)
	return _affected(db)


def copy_settings(db: Database, plan: UpgradePlan, *, decrypt: Callable[[str], str | None] | None) -> int:
	"""Copy the original's Daraja settings to this app's fields (never over a value already set)."""
	settings = read_settings(db)
	copied = 0
	for old, new in plan.settings_copies:
		if old in mapping.PASSWORD_COPIES:
			db.sql(
				"""insert into `__Auth` (doctype, name, fieldname, password, encrypted)
				select doctype, name, %s, password, encrypted from `__Auth`
				where doctype = %s and name = %s and fieldname = %s""",
				(new, SETTINGS_DOCTYPE, SETTINGS_DOCTYPE, old),
			)
			_set_single(db, new, "*" * 8)
		elif old in mapping.DECRYPTED_COPIES:
			value = decrypt(old) if decrypt else None
			if not value:
				continue
			_set_single(db, new, value)
		elif old:
			_set_single(db, new, settings[old])
		else:
			_set_single(db, new, mapping.SET_IF_MISSING[new])
		copied += 1
	return copied


def _set_single(db: Database, field: str, value: str) -> None:
	db.sql("delete from `tabSingles` where doctype = %s and field = %s", (SETTINGS_DOCTYPE, field))
	db.sql(
		"insert into `tabSingles` (doctype, field, value) values (%s, %s, %s)",
		(SETTINGS_DOCTYPE, field, value),
	)


def _case(column: str, values: dict[str, str], default: str) -> str:
	"""``case <column> when 'a' then 'b' ... else '<default>' end`` from a constant mapping."""
	for text in (*values, *values.values(), default):
		assert "'" not in text and "\\" not in text, text
	whens = " ".join(f"when '{old}' then '{new}'" for old, new in values.items())
	return f"(case {column} {whens} else '{default}' end)"


def _affected(db: Database) -> int:
	from tuktuk_management.ledger.database import affected_rows

	return affected_rows(db)
