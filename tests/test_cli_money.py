"""The runner's deposit and payout commands as a user runs them (subprocesses, exit codes), on the
shipped samples with instant payouts off; the books reconcile clean afterwards."""

from __future__ import annotations

import json

from tests.test_cli import SAMPLES, cli_url, run
from tuktuk_management.standalone.db import DatabaseURL, MariaDB
from tuktuk_management.standalone.schema import set_single_value


def payable(url: str) -> dict[str, int]:
	with MariaDB(DatabaseURL.parse(url)) as db:
		return {
			name: int(value) for name, value in db.sql("select name, payout_pending from `tabTukTuk Driver`")
		}


def test_deposit_withdraw_pay_now_and_sweep_from_the_runner(cli_url):  # noqa: F811
	assert run(cli_url, "init").returncode == 0
	assert run(cli_url, "load", str(SAMPLES / "fleet.json")).returncode == 0
	with MariaDB(DatabaseURL.parse(cli_url)) as db:
		set_single_value(db, "TukTuk Settings", "instant_payouts_enabled", "0")
		set_single_value(db, "TukTuk Settings", "withdrawal_auto_approve_max_kes", "0")
		db.commit()
	assert run(cli_url, "replay", str(SAMPLES / "callbacks.jsonl")).returncode == 0
	owed_kes = payable(cli_url)
	assert owed_kes["D000001"] > 300 and owed_kes["D000002"] > 100

	deposited = run(cli_url, "deposit", "D000001", "1500", "--reference", "CASHBOOK-1")
	assert deposited.returncode == 0, deposited.stderr
	assert json.loads(deposited.stdout)["deposit_kes_after"] == 1500
	refused = run(cli_url, "deposit", "D000001", "1501", "--kind", "Damage Charge", "--reason", "dent")
	assert refused.returncode == 1 and "below zero" in json.loads(refused.stderr)["refused"]
	assert run(cli_url, "deposit", "D000001", "1").returncode == 1  # a cash deposit needs a reference

	part = run(cli_url, "pay-now", "D000001", "200")
	assert part.returncode == 0, part.stderr
	rest = json.loads(run(cli_url, "pay-now", "D000001").stdout)
	assert rest["amount_kes"] == owed_kes["D000001"] - 200
	assert run(cli_url, "pay-now", "D000001").returncode == 1  # nothing left: never paid twice

	withdrawn = run(cli_url, "withdraw", "D000002", "100", "--approve")
	assert withdrawn.returncode == 0, withdrawn.stderr
	assert json.loads(withdrawn.stdout)["status"] == "Approved"

	swept = run(cli_url, "sweep", "--date", "2026-11-21")
	assert swept.returncode == 0, swept.stderr
	summary = json.loads(swept.stdout)
	others = {d: v for d, v in owed_kes.items() if d != "D000001" and v >= 10}
	assert summary["payouts"] == len(others)
	assert summary["paid_kes"] == sum(others.values()) - 100
	assert json.loads(run(cli_url, "sweep", "--date", "2026-11-21").stdout)["payouts"] == 0

	reconciled = run(cli_url, "reconcile")
	assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
