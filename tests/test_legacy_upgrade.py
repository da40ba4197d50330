"""Upgrading a site that runs the original app: balances, rollover, pre-ledger transactions,
users, roles and settings come across; a second run changes nothing; a blocker stops it all.

Each test builds the original's schema and data (tests/legacy_site.py) in its own database,
then runs the upgrade as ``bench migrate`` would: the steps before the model sync, the model
sync (tables brought up to this app's DocType JSON), the steps after it.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest

from tests import factories, legacy_site
from tests.conftest import SERVER_URL
from tuktuk_management import roles
from tuktuk_management.ledger import accounts, reconcile
from tuktuk_management.ledger.callback_log import process_logged_confirmation, store_callback
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.legacy import apply, plan
from tuktuk_management.standalone.db import DatabaseURL, MariaDB
from tuktuk_management.standalone.sync import sync_schema

NOW = legacy_site.NOW
# driver -> (current_balance, deposit, payable) the original showed (payable: unpaid share + pending refund)
EXPECTED = {
	"DRV-112001": (1200, 500, 150),
	"DRV-112002": (300, 1000, 0),
	"DRV-112003": (0, 2000, 0),
	"DRV-112004": (0, 0, 1500),
	"DRV-112005": (2999, 750, 0),
	"DRV-112006": (0, 0, 0),
}
ARCHIVED = {"DRV-111995": (0, 0, 700)}  # restored from Terminated TukTuk Driver with its refund


@pytest.fixture
def legacy_url() -> DatabaseURL:
	name = f"tuktuk_legacy_{os.getpid()}_{secrets.token_hex(3)}"
	url = DatabaseURL.parse(f"{SERVER_URL}/{name}")
	server = MariaDB(url, database="")
	server.sql(f"create database `{name}` character set utf8mb4 collate utf8mb4_unicode_ci")
	yield url
	server.sql(f"drop database if exists `{name}`")
	server.close()


@pytest.fixture
def legacy_db(legacy_url: DatabaseURL) -> MariaDB:
	with MariaDB(legacy_url) as db:
		legacy_site.build(db)
		yield db


def upgrade(db) -> tuple[dict, dict]:
	"""``bench migrate`` in three steps, committed as the patches are."""
	before = apply.before_model_sync(db)
	db.commit()
	sync_schema(db)
	db.commit()
	after = apply.after_model_sync(db, now=NOW, decrypt=legacy_site.PLAIN.get)
	db.commit()
	return before, after


def driver(db, name: str) -> dict:
	return db.sql(
		"""select current_balance, current_deposit_balance, payout_pending, daily_target, target_rollover,
		consecutive_misses, left_to_target, status, `user`, last_close_date from `tabTukTuk Driver`
		where name = %s""",
		(name,),
		as_dict=True,
	)[0]


def test_upgrade_check_lists_the_work_without_changing_anything(legacy_db):
	before = legacy_site.checksum(legacy_db)
	upgrade_plan = plan.read_plan(legacy_db)
	assert legacy_site.checksum(legacy_db) == before
	assert upgrade_plan.is_legacy and not upgrade_plan.blockers
	assert {
		d.driver: (d.current_balance_kes, d.deposit_kes, d.payable_kes) for d in upgrade_plan.drivers
	} == EXPECTED
	assert len(upgrade_plan.openings) == 5 and len(upgrade_plan.rollovers) == 2
	assert upgrade_plan.role_renames == [("Tuktuk Manager", roles.MANAGER)]
	assert upgrade_plan.transactions_to_mark == len(legacy_site.TRANSACTIONS)
	assert upgrade_plan.vehicles_to_map == {"Assigned": 1, "Subbed": 1, "Charging": 1, "Offline": 1}
	assert upgrade_plan.conflicting_custom_fields == ["TukTuk Driver-sunny_id"]
	assert upgrade_plan.kept_tables == {"Terminated TukTuk Driver": 2, "TukTuk Rental": 1}
	assert upgrade_plan.archived_refunds == [("DRV-111995", 700)]
	assert any("TUK-885-005 has no M-Pesa account" in w for w in upgrade_plan.warnings)


def test_balances_equal_legacy_figures_and_ledger_sums(legacy_db, legacy_url):
	_, counts = upgrade(legacy_db)
	assert (counts["opening_vouchers"], counts["archived_drivers_restored"]) == (6, 1)
	for name, (balance, deposit, payable) in {**EXPECTED, **ARCHIVED}.items():
		row = driver(legacy_db, name)
		assert (
			int(row["current_balance"]),
			int(row["current_deposit_balance"]),
			int(row["payout_pending"]),
		) == (
			balance,
			deposit,
			payable,
		), name
		assert factories.ledger_sum(legacy_db, name, accounts.TARGET) == balance
		assert factories.ledger_sum(legacy_db, name, accounts.DEPOSIT) == deposit
		assert factories.ledger_sum(legacy_db, name, accounts.PAYABLE) == payable
	opening = legacy_db.sql(
		"select distinct remarks, posting_datetime from `tabTukTuk Ledger Entry` where voucher_no = 'DRV-112001'"
	)
	assert opening[0][0] == (
		"Opening balance from the original app: current_balance 1200 KES, current_deposit_balance 500 KES, "
		"unpaid driver share 150 KES, pending deposit refund 0 KES"
	)
	assert opening[0][1] == NOW
	assert reconcile.check_books(legacy_db).clean
	# The standalone runner's reconcile against the upgraded database: exit 0.
	url = f"mysql://{legacy_url.user}@{legacy_url.host}:{legacy_url.port}/{legacy_url.database}"
	done = subprocess.run(
		[sys.executable, "-m", "tuktuk_management.cli", "--db-url", url, "reconcile"],
		capture_output=True,
		text=True,
	)
	assert done.returncode == 0, done.stdout + done.stderr


def test_rollover_taken_out_of_daily_target_and_misses_carried(legacy_db):
	upgrade(legacy_db)
	settings = load_settings(legacy_db)
	assert settings.global_daily_target_kes == 3000
	rolled = driver(legacy_db, "DRV-112002")
	assert (int(rolled["daily_target"]), int(rolled["target_rollover"]), rolled["consecutive_misses"]) == (
		0,
		1500,
		1,
	)
	assert int(rolled["left_to_target"]) == 4500 - 300  # the same target the original showed
	rolled = driver(legacy_db, "DRV-112005")
	assert (int(rolled["daily_target"]), int(rolled["target_rollover"]), rolled["consecutive_misses"]) == (
		0,
		3000,
		2,
	)
	own = driver(legacy_db, "DRV-112003")  # a personal target that is not rollover stays
	assert (int(own["daily_target"]), int(own["target_rollover"])) == (2500, 0)
	assert legacy_db.sql("select count(*) from `tabTukTuk Driver` where is_rollover_target = 1")[0][0] == 0
	assert str(driver(legacy_db, "DRV-112001")["last_close_date"]) == "2026-11-20"


def test_users_roles_settings_and_statuses(legacy_db):
	upgrade(legacy_db)
	assert driver(legacy_db, "DRV-112001")["user"] == "wanjiru@example.com"
	statuses = [
		driver(legacy_db, d)["status"] for d in ("DRV-112001", "DRV-112004", "DRV-112006", "DRV-111995")
	]
	assert statuses == ["Active", "Inactive", "Inactive", "Inactive"]
	restored = legacy_db.sql("select sunny_id, driver_name from `tabTukTuk Driver` where name = 'DRV-111995'")
	assert restored == (("D111995", "Driver 995"),)
	assert legacy_db.sql("select count(*) from `tabTerminated TukTuk Driver`")[0][0] == 2  # the archive stays
	assert legacy_db.sql("select name from `tabRole` where name = 'TukTuk Manager'")[0][0] == "TukTuk Manager"
	held = {
		(user, role)
		for user, role in legacy_db.sql("select parent, cast(role as binary) from `tabHas Role`")
		for role in [role.decode()]
	}
	assert ("manager@example.com", roles.MANAGER) in held
	assert ("manager@example.com", "Tuktuk Manager") not in held
	assert ("supervisor@example.com", roles.MANAGER) in held
	assert ("finance@example.com", roles.ACCOUNTANT) in held and (
		"viewer@example.com",
		roles.ACCOUNTANT,
	) in held
	assert {("wanjiru@example.com", roles.DRIVER), ("otieno@example.com", roles.DRIVER)} <= held
	assert ("finance@example.com", roles.MANAGER) not in held  # no more access than before
	assert ("otieno@example.com", "Driver") in held  # the original's roles stay
	assert (
		legacy_db.sql("select role from `tabDocPerm` where parent = 'TukTuk Rental'")[0][0] == roles.MANAGER
	)
	assert legacy_db.sql("select count(*) from `tabCustom Field`")[0][0] == 1  # only the conflicting one went
	settings = dict(legacy_db.sql("select field, value from `tabSingles` where doctype = 'TukTuk Settings'"))
	assert settings["b2c_shortcode"] == legacy_site.PAYBILL and settings["b2c_initiator_name"] == "fleetapi"
	assert settings["daraja_environment"] == "Production" and settings["accept_legacy_callback_urls"] == "1"
	assert settings["instant_payouts_enabled"] == "1"
	assert settings["global_daily_target"] == "3000" and settings["mpesa_paybill"] == legacy_site.PAYBILL
	auth = dict(legacy_db.sql("select fieldname, password from `__Auth`"))
	assert auth["daraja_consumer_key"] == legacy_site.ENCRYPTED["mpesa_api_key"]
	assert auth["b2c_security_credential"] == legacy_site.ENCRYPTED["mpesa_security_credential"]
	statuses = dict(legacy_db.sql("select name, status from `tabTukTuk Vehicle`"))
	assert statuses == {
		"TUK-885-001": "Active",
		"TUK-885-002": "Active",
		"TUK-885-003": "Active",
		"TUK-885-004": "Maintenance",
		"TUK-885-005": "Active",
	}
	rows = legacy_db.sql(
		"""select transaction_id, transaction_type, payment_status, legacy_transaction_type,
		legacy_payment_status, pre_ledger from `tabTukTuk Transaction` order by transaction_id"""
	)
	assert [row[0] for row in rows] == [t[0] for t in legacy_site.TRANSACTIONS]
	assert all(row[5] == 1 for row in rows)
	assert rows[4][1:5] == ("Repayment", "Completed", "Driver Repayment", "Completed")
	assert rows[5][1:5] == ("Payment", "Not Applied", "Payment", "Pending")
	assert legacy_db.sql("select count(*) from `tabTukTuk Rental`")[0][0] == 1  # kept untouched


def test_second_run_changes_nothing(legacy_db):
	upgrade(legacy_db)
	before = legacy_site.checksum(legacy_db)
	counts_before, counts_after = upgrade(legacy_db)
	assert legacy_site.checksum(legacy_db) == before
	assert not any(counts_before.values()) and not any(counts_after.values()), (counts_before, counts_after)


def test_payment_and_redelivered_legacy_trans_id(legacy_db):
	upgrade(legacy_db)
	settings = load_settings(legacy_db)

	def deliver(body: dict):
		log = store_callback(
			legacy_db, endpoint="C2B Confirmation", raw_body=factories.raw(body), received_at=NOW
		)
		legacy_db.commit()
		outcome = process_logged_confirmation(legacy_db, log, factories.raw(body), settings=settings, now=NOW)
		legacy_db.commit()
		return outcome

	paid = deliver(factories.c2b_body("TT001", 1000, "SKN2NEW001", shortcode=legacy_site.PAYBILL))
	assert paid.status == "Processed"
	row = driver(legacy_db, "DRV-112001")
	# T = 3000, B = 1200: 50 % of 1000 goes to the target, 500 is queued for a B2C payout (payable
	# until paid, next to the 150 of unpaid share carried from the original).
	assert (int(row["current_balance"]), int(row["payout_pending"])) == (1700, 650)
	assert legacy_db.sql("select amount, status from `tabTukTuk Payout` where driver = 'DRV-112001'") == (
		(500, "Queued"),
	)
	before = legacy_site.checksum(legacy_db)
	again = deliver(factories.c2b_body("TT001", 400, "SKL1AAA001", shortcode=legacy_site.PAYBILL))
	assert again.status == "Duplicate"
	conflict = deliver(factories.c2b_body("TT001", 999, "SKL1AAA002", shortcode=legacy_site.PAYBILL))
	assert conflict.status == "Conflict"
	changed = {t for t, c in legacy_site.checksum(legacy_db).items() if before[t] != c}
	assert changed == {"tabTukTuk Callback Log"}  # only the two logs; no balance, no posting
	assert reconcile.check_books(legacy_db).clean


def test_duplicate_mpesa_account_stops_everything(legacy_url):
	with MariaDB(legacy_url) as db:
		legacy_site.build(db, duplicate_account=True)
		before = legacy_site.checksum(db)
		blockers = plan.read_plan(db).blockers
		assert [(b.field, b.names) for b in blockers] == [
			("TukTuk Vehicle.mpesa_account", ("TUK-885-001", "TUK-885-004"))
		]
		with pytest.raises(plan.UpgradeBlocked) as raised:
			apply.before_model_sync(db)
		db.rollback()
		assert "TukTuk Vehicle TUK-885-001, TUK-885-004 share mpesa_account" in str(raised.value)
		assert legacy_site.checksum(db) == before


def test_statement_shows_pre_ledger_transactions(legacy_db):
	from datetime import date

	from tuktuk_management.legacy.statement import pre_ledger_lines

	upgrade(legacy_db)
	lines = pre_ledger_lines(legacy_db, "DRV-112001", date(2026, 11, 21), date(2026, 11, 21))
	assert [line.trans_id for line in sorted(lines, key=lambda line: line.trans_id)] == [
		"SKL1AAA001",
		"SKL1AAA002",
		"SKL1AAA003",
	]
	assert {line.amount_kes for line in lines} == {400, 300}
	assert "TransID SKL1AAA003, Payment 300 KES, to target 150 KES" in next(
		line.remarks for line in lines if line.trans_id == "SKL1AAA003"
	)
	assert pre_ledger_lines(legacy_db, "DRV-112001", date(2026, 11, 22), date(2026, 11, 30)) == []


def test_standalone_runner_checks_and_upgrades(legacy_url):
	url = f"mysql://{legacy_url.user}@{legacy_url.host}:{legacy_url.port}/{legacy_url.database}"

	def runner(*command: str) -> subprocess.CompletedProcess:
		return subprocess.run(
			[sys.executable, "-m", "tuktuk_management.cli", "--db-url", url, *command],
			capture_output=True,
			text=True,
		)

	with MariaDB(legacy_url) as db:
		legacy_site.build(db, duplicate_account=True)
	blocked = runner("upgrade-check")
	assert blocked.returncode == 1 and blocked.stdout.startswith("BLOCKERS (1)"), (
		blocked.stdout + blocked.stderr
	)
	assert runner("upgrade").returncode == 1
	with MariaDB(legacy_url) as db:
		db.sql("update `tabTukTuk Vehicle` set mpesa_account = 'TT004' where name = 'TUK-885-004'")
		db.commit()
	assert runner("upgrade-check").returncode == 0
	done = runner("upgrade")
	assert done.returncode == 0, done.stdout + done.stderr
	assert '"opening_vouchers": 6' in done.stdout
	assert runner("reconcile").returncode == 0
	again = runner("upgrade")
	assert again.returncode == 0 and '"opening_vouchers": 0' in again.stdout
