"""What upgrading a site from the original app will do, and what blocks it (read-only).

:func:`read_plan` works on the original's schema (before ``bench migrate``, for
``tuktuk-upgrade-check``) and on the synced schema (after the model sync, for the patch): every
column it reads is looked up first, and a column this app adds is read only when present.
Nothing here writes.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal

from tuktuk_management import roles
from tuktuk_management.ledger import accounts
from tuktuk_management.ledger.database import Database
from tuktuk_management.ledger.drivers import SUNNY_ID_PATTERN
from tuktuk_management.ledger.money import round_half_up_kes
from tuktuk_management.ledger.settings import SETTINGS_DOCTYPE
from tuktuk_management.ledger.split import effective_target_kes
from tuktuk_management.legacy import mapping

WARNINGS_MAX = 200


class UpgradeBlocked(Exception):
	"""The data would break this app's unique indexes; nothing was changed."""

	def __init__(self, blockers: list[Blocker]):
		self.blockers = blockers
		super().__init__(
			"The upgrade stopped before changing anything. Fix these in the original app first:\n"
			+ "\n".join(f"- {blocker.message}" for blocker in blockers)
		)


@dataclass(frozen=True)
class Blocker:
	"""Rows sharing a value that a unique index of this app forbids."""

	field: str  # "TukTuk Vehicle.mpesa_account" or "TukTuk Driver.sunny_id"
	value: str
	names: tuple[str, ...]

	@property
	def message(self) -> str:
		doctype, fieldname = self.field.split(".")
		return (
			f"{doctype} {', '.join(self.names)} share {fieldname} {self.value!r}; "
			f"give each a different {fieldname} (it must be unique)"
		)


@dataclass
class DriverPlan:
	"""One driver's legacy figures (whole KES) and what the upgrade makes of them."""

	driver: str
	current_balance_kes: int
	deposit_kes: int
	unpaid_share_kes: int
	pending_refund_kes: int
	legacy_daily_target_kes: int
	is_rollover: bool
	daily_target_kes: int  # the base target after the upgrade (0 = the global target)
	target_rollover_kes: int
	consecutive_misses: int
	terminated: bool
	user: str | None  # the original's user_account, to copy to ``user``
	opened: bool  # already has ledger lines: no opening voucher again

	@property
	def payable_kes(self) -> int:
		return self.unpaid_share_kes + self.pending_refund_kes

	@property
	def opening_kes(self) -> dict[str, int]:
		"""``{account: KES}`` of the opening voucher (zero entries included)."""
		return {
			accounts.TARGET: self.current_balance_kes,
			accounts.DEPOSIT: self.deposit_kes,
			accounts.PAYABLE: self.payable_kes,
		}


@dataclass
class UpgradePlan:
	"""Everything the upgrade will do; ``blockers`` non-empty means it will stop first."""

	is_legacy: bool
	blockers: list[Blocker] = field(default_factory=list)
	warnings: list[str] = field(default_factory=list)
	drivers: list[DriverPlan] = field(default_factory=list)
	global_daily_target_kes: int = 0
	role_renames: list[tuple[str, str]] = field(default_factory=list)
	role_grants: list[tuple[str, str, str]] = field(default_factory=list)  # (user, legacy role, role)
	conflicting_custom_fields: list[str] = field(default_factory=list)
	transactions_to_mark: int = 0
	vehicles_to_map: dict[str, int] = field(default_factory=dict)  # legacy status -> vehicles
	settings_copies: list[tuple[str, str]] = field(default_factory=list)
	callback_token_missing: bool = False
	kept_tables: dict[str, int] = field(default_factory=dict)  # DocType -> rows
	# Archived drivers (Terminated TukTuk Driver) with a pending deposit refund, not in the driver
	# table: restored as Inactive drivers so the refund is carried into the books. (ID, KES)
	archived_refunds: list[tuple[str, int]] = field(default_factory=list)
	migrated_at: str | None = None

	@property
	def openings(self) -> list[DriverPlan]:
		return [d for d in self.drivers if not d.opened and any(d.opening_kes.values())]

	@property
	def rollovers(self) -> list[DriverPlan]:
		return [d for d in self.drivers if d.is_rollover]

	def target_kes(self, driver: DriverPlan) -> int:
		return effective_target_kes(
			driver.daily_target_kes, self.global_daily_target_kes, driver.target_rollover_kes
		)

	def as_dict(self) -> dict:
		data = asdict(self)
		data["blockers"] = [b.message for b in self.blockers]
		data["openings"] = len(self.openings)
		data["rollovers"] = len(self.rollovers)
		return data


def table_columns(db: Database, doctype: str) -> set[str]:
	"""The columns of ``tab<doctype>`` (empty if the table does not exist)."""
	rows = db.sql(
		"select column_name from information_schema.columns where table_schema = database() "
		"and table_name = %s",
		(f"tab{doctype}",),
	)
	return {row[0] for row in rows}


def is_legacy_site(db: Database) -> bool:
	"""True if the database holds the original app's data (its driver table's marker column)."""
	doctype, column = mapping.LEGACY_MARKER
	return column in table_columns(db, doctype)


def read_settings(db: Database) -> dict[str, str]:
	rows = db.sql("select field, value from `tabSingles` where doctype = %s", (SETTINGS_DOCTYPE,))
	return {name: value for name, value in rows}


def stored_passwords(db: Database) -> set[str]:
	"""Fieldnames of TukTuk Settings with an encrypted value in ``__Auth``."""
	if not db.sql(
		"select 1 from information_schema.tables where table_schema = database() and table_name = '__Auth'"
	):
		return set()
	rows = db.sql(
		"select fieldname from `__Auth` where doctype = %s and name = %s and coalesce(password, '') <> ''",
		(SETTINGS_DOCTYPE, SETTINGS_DOCTYPE),
	)
	return {row[0] for row in rows}


def legacy_kes(value) -> tuple[int, bool]:
	"""A legacy Currency value as whole KES (half up) and whether it had cents."""
	if value is None or value == "":
		return 0, False
	amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
	kes = round_half_up_kes(amount)
	return kes, Decimal(kes) != amount


def find_blockers(db: Database) -> list[Blocker]:
	"""Values the unique indexes of ``mpesa_account`` and ``sunny_id`` would refuse.

	Grouped by the column itself, so MariaDB's collation decides what counts as equal exactly as
	the unique index will (case and trailing spaces ignored). Empty values are not duplicates
	(the upgrade stores them as NULL).
	"""
	blockers = []
	for doctype, column in (("TukTuk Vehicle", "mpesa_account"), ("TukTuk Driver", "sunny_id")):
		if column not in table_columns(db, doctype):
			continue
		rows = db.sql(
			f"""select min(`{column}`), group_concat(name order by name separator '\\t')
			from `tab{doctype}` where `{column}` is not null and trim(`{column}`) <> ''
			group by `{column}` having count(*) > 1 order by 1"""
		)
		blockers += [Blocker(f"{doctype}.{column}", value, tuple(names.split("\t"))) for value, names in rows]
	return blockers


def read_plan(db: Database, *, our_fields: dict[str, set[str]] | None = None) -> UpgradePlan:
	"""The upgrade plan for this database (see the module docstring).

	our_fields: ``{DocType: fieldnames}`` of this app's DocTypes, to find the original's Custom
	Fields that would duplicate them (defaults to the DocType JSON shipped with the app).
	"""
	if not is_legacy_site(db):
		return UpgradePlan(is_legacy=False)
	settings = read_settings(db)
	plan = UpgradePlan(
		is_legacy=True, blockers=find_blockers(db), migrated_at=settings.get("legacy_migrated_at")
	)
	plan.global_daily_target_kes = legacy_kes(settings.get("global_daily_target") or 0)[0]
	ledger_exists = bool(table_columns(db, "TukTuk Ledger Entry"))
	_plan_drivers(db, plan, settings, ledger_exists)
	_plan_roles(db, plan)
	_plan_records(db, plan, ledger_exists, our_fields)
	_plan_settings(db, plan, settings)
	del plan.warnings[WARNINGS_MAX:]
	return plan


def _column(columns: set[str], name: str, default: str = "null") -> str:
	"""``name`` if the table has that column, else ``default`` under that name."""
	return f"`{name}`" if name in columns else f"{default} as `{name}`"


def _plan_drivers(db: Database, plan: UpgradePlan, settings: dict, ledger_exists: bool) -> None:
	columns = table_columns(db, "TukTuk Driver")
	opened = set()
	if ledger_exists:
		opened = {
			row[0]
			for row in db.sql(
				"select distinct party from `tabTukTuk Ledger Entry` where party_type = %s",
				(accounts.DRIVER_DOCTYPE,),
			)
		}
	unpaid = _unpaid_shares(db, settings, ledger_exists)
	rows = db.sql(
		f"""select name, current_balance, {_column(columns, "current_deposit_balance", "0")},
		daily_target, is_rollover_target, consecutive_misses, {_column(columns, "user_account")},
		{_column(columns, "exit_date")}, {_column(columns, "refund_amount", "0")},
		{_column(columns, "refund_status")}, {_column(columns, "sunny_id")}, {_column(columns, "user")}
		from `tabTukTuk Driver` order by name""",
		as_dict=True,
	)
	for row in rows:
		plan.drivers.append(_driver_plan(plan, row, unpaid.get(row["name"], 0), row["name"] in opened))


def _driver_plan(plan: UpgradePlan, row: dict, unpaid_share_kes: int, opened: bool) -> DriverPlan:
	"""One driver's plan from its row (the original's columns, some possibly NULL); warnings go
	to ``plan``."""
	name = row["name"]
	figures = {}
	for label in ("current_balance", "current_deposit_balance", "daily_target", "refund_amount"):
		figures[label], had_cents = legacy_kes(row[label])
		if had_cents:
			plan.warnings.append(f"driver {name}: {label} {row[label]} rounded to {figures[label]} KES")
	target_kes = figures["daily_target"]
	is_rollover = bool(row["is_rollover_target"]) and target_kes > 0
	if is_rollover and target_kes < plan.global_daily_target_kes:
		plan.warnings.append(
			f"driver {name}: rollover target {target_kes} KES is below the global "
			f"target {plan.global_daily_target_kes} KES; the driver gets the global target"
		)
	refund_pending = row["exit_date"] and row["refund_status"] == "Pending" and figures["refund_amount"] > 0
	sunny_id = row["sunny_id"]
	if sunny_id and not SUNNY_ID_PATTERN.match(sunny_id.strip()):
		plan.warnings.append(
			f"driver {name}: Sunny ID {sunny_id!r} is not D + six digits; repayments to it go to suspense"
		)
	if not sunny_id:
		plan.warnings.append(f"driver {name} has no Sunny ID; give it one before editing the driver")
	return DriverPlan(
		driver=name,
		current_balance_kes=figures["current_balance"],
		deposit_kes=figures["current_deposit_balance"],
		unpaid_share_kes=unpaid_share_kes,
		pending_refund_kes=figures["refund_amount"] if refund_pending else 0,
		legacy_daily_target_kes=target_kes,
		is_rollover=is_rollover,
		daily_target_kes=0 if is_rollover else target_kes,
		target_rollover_kes=max(0, target_kes - plan.global_daily_target_kes) if is_rollover else 0,
		consecutive_misses=int(row["consecutive_misses"] or 0),
		terminated=bool(row["exit_date"]),
		user=row["user_account"] if row["user_account"] and not row["user"] else None,
		opened=opened,
	)


def _unpaid_shares(db: Database, settings: dict, ledger_exists: bool) -> dict[str, int]:
	"""Per driver, Σ driver_share of the original's Completed payments whose B2C payout was never
	sent (``b2c_payment_sent`` 0). The original sent every share by B2C at once (whatever its
	payout switches said) and set the flag on success, so these are shares still owed."""
	columns = table_columns(db, "TukTuk Transaction")
	if "b2c_payment_sent" not in columns:
		return {}
	condition = _pre_ledger_condition(columns, ledger_exists)
	# Rows already marked pre-ledger keep the original status in legacy_payment_status.
	original_status = (
		"coalesce(t.legacy_payment_status, t.payment_status)"
		if "legacy_payment_status" in columns
		else "t.payment_status"
	)
	rows = db.sql(
		f"""select t.driver, sum(t.driver_share) from `tabTukTuk Transaction` t
		where {condition} and t.driver is not null and t.b2c_payment_sent = 0 and t.driver_share > 0
		and {original_status} = 'Completed'
		group by t.driver"""
	)
	return {driver: legacy_kes(total)[0] for driver, total in rows}


def _pre_ledger_condition(columns: set[str], ledger_exists: bool) -> str:
	"""SQL over alias ``t``: the row is one of the original's (no postings, or marked pre-ledger)."""
	if "pre_ledger" in columns and ledger_exists:
		return f"(t.pre_ledger = 1 or {NO_POSTINGS})"
	return "1 = 1"


NO_POSTINGS = """not exists (select 1 from `tabTukTuk Ledger Entry` l
	where l.voucher_type = 'TukTuk Transaction' and l.voucher_no = t.name)"""


def count_unmarked_transactions(db: Database, ledger_exists: bool) -> int:
	"""The original's transactions not yet marked pre-ledger (rows without postings)."""
	columns = table_columns(db, "TukTuk Transaction")
	if "pre_ledger" not in columns:
		return db.sql("select count(*) from `tabTukTuk Transaction`")[0][0]
	condition = f" and {NO_POSTINGS}" if ledger_exists else ""
	return db.sql(f"select count(*) from `tabTukTuk Transaction` t where t.pre_ledger = 0{condition}")[0][0]


def _plan_roles(db: Database, plan: UpgradePlan) -> None:
	for old, new in mapping.ROLE_RENAMES.items():
		if db.sql("select 1 from `tabRole` where binary name = %s", (old,)):
			plan.role_renames.append((old, new))
	renamed = {old for old, _ in plan.role_renames}
	held = {
		(user, role)
		for user, role in db.sql("select parent, role from `tabHas Role` where parenttype = 'User'")
	}
	for user, role in sorted(held):
		new = mapping.ROLE_GRANTS.get(role)
		if not new or role == new or role in renamed or (user, new) in held:
			continue
		if (user, new) not in {(u, r) for u, _, r in plan.role_grants}:
			plan.role_grants.append((user, role, new))
		if role == "Operations Viewer" and new == roles.ACCOUNTANT:
			plan.warnings.append(
				f"user {user} (Operations Viewer) gets TukTuk Accountant, which may also post manual journals"
			)


def _plan_records(
	db: Database, plan: UpgradePlan, ledger_exists: bool, our_fields: dict[str, set[str]] | None
) -> None:
	plan.transactions_to_mark = count_unmarked_transactions(db, ledger_exists)
	for status, count in db.sql("select coalesce(status, ''), count(*) from `tabTukTuk Vehicle` group by 1"):
		if status not in ("Active", "Maintenance", "Retired"):
			plan.vehicles_to_map[status] = count
	for (name,) in db.sql(
		"select name from `tabTukTuk Vehicle` where mpesa_account is null or trim(mpesa_account) = '' order by name"
	):
		plan.warnings.append(f"vehicle {name} has no M-Pesa account: payments cannot reach it")
	if our_fields is None:
		our_fields = _shipped_fields()
	if table_columns(db, "Custom Field"):
		for name, doctype, fieldname in db.sql(
			"select name, dt, fieldname from `tabCustom Field` order by name"
		):
			if fieldname in our_fields.get(doctype, ()):
				plan.conflicting_custom_fields.append(name)
	for doctype in mapping.KEPT_TABLES:
		if table_columns(db, doctype):
			plan.kept_tables[doctype] = db.sql(f"select count(*) from `tab{doctype}`")[0][0]
	if "Terminated TukTuk Driver" in plan.kept_tables:
		for name, amount in archived_pending_refunds(db):
			plan.archived_refunds.append((name, legacy_kes(amount)[0]))


def archived_pending_refunds(db: Database) -> list[tuple[str, object]]:
	"""Archived drivers with a pending deposit refund that the driver table no longer holds."""
	return list(
		db.sql(
			"""select a.original_driver_id, a.refund_amount from `tabTerminated TukTuk Driver` a
			where a.refund_status = 'Pending' and a.refund_amount > 0
			and not exists (select 1 from `tabTukTuk Driver` d where d.name = a.original_driver_id)
			order by a.original_driver_id"""
		)
	)


def _plan_settings(db: Database, plan: UpgradePlan, settings: dict) -> None:
	passwords = stored_passwords(db)
	for old, new in mapping.PASSWORD_COPIES.items():
		if old in passwords and new not in passwords:
			plan.settings_copies.append((old, new))
	for old, new in {**mapping.DECRYPTED_COPIES, **mapping.DATA_COPIES}.items():
		source = old in passwords if old in mapping.DECRYPTED_COPIES else bool(settings.get(old))
		if source and not settings.get(new):
			plan.settings_copies.append((old, new))
	for fieldname in mapping.SET_IF_MISSING:
		if not settings.get(fieldname):
			plan.settings_copies.append(("", fieldname))
	plan.callback_token_missing = "callback_token" not in passwords


def _shipped_fields() -> dict[str, set[str]]:
	from tuktuk_management.standalone.schema import load_doctypes

	return {d["name"]: {f["fieldname"] for f in d["fields"]} for d in load_doctypes()}
