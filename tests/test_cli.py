"""The standalone runner as a user runs it: subprocesses, the shipped samples, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tuktuk_management.standalone.db import DatabaseURL, MariaDB

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


@pytest.fixture
def cli_url(db_url):
	url = f"mysql://{db_url.user}@{db_url.host}:{db_url.port}/{db_url.database}_cli"
	yield url
	with MariaDB(DatabaseURL.parse(url), database="") as server:
		server.sql(f"drop database if exists `{db_url.database}_cli`")


def run(url, *args, env_url=False):
	command = [sys.executable, "-m", "tuktuk_management.cli"]
	env = None
	if env_url:
		import os

		env = {**os.environ, "TUKTUK_DB_URL": url}
	else:
		command += ["--db-url", url]
	return subprocess.run(
		command + list(args), cwd=ROOT, capture_output=True, text=True, timeout=300, env=env
	)


def test_main_job_end_to_end_on_the_samples(cli_url):
	assert run(cli_url, "init").returncode == 0
	loaded = run(cli_url, "load", str(SAMPLES / "fleet.json"))
	assert loaded.returncode == 0, loaded.stderr
	assert json.loads(loaded.stdout)["loaded"] == {
		"TukTuk Settings": 1,
		"TukTuk Vehicle": 10,
		"TukTuk Driver": 9,
	}
	replayed = run(cli_url, "replay", str(SAMPLES / "callbacks.jsonl"), "--workers", "4")
	assert replayed.returncode == 0, replayed.stderr
	summary = json.loads(replayed.stdout)
	assert set(summary) == {
		"received",
		"applied",
		"duplicates",
		"conflicts",
		"unallocated",
		"invalid",
		"errors",
	}
	lines = [line for line in (SAMPLES / "callbacks.jsonl").read_text().splitlines() if line.strip()]
	assert summary["received"] == len(lines)
	assert sum(v for k, v in summary.items() if k != "received") == summary["received"]
	assert summary["duplicates"] > 0 and summary["conflicts"] == 1 and summary["invalid"] >= 3
	assert summary["unallocated"] > 0 and summary["errors"] == 0
	balances = json.loads(run(cli_url, "balances", env_url=True).stdout)
	assert [b["driver"] for b in balances] == [f"D{n:06d}" for n in range(1, 10)]
	assert set(balances[0]) == {
		"driver",
		"current_balance",
		"left_to_target",
		"current_deposit_balance",
		"payout_pending",
		"target_today",
		"target_rollover",
		"consecutive_misses",
		"last_close_date",
	}
	opening = next(b for b in balances if b["driver"] == "D000004")
	assert opening["current_deposit_balance"] >= 500  # the opening deposit was posted, not just copied
	reconciled = run(cli_url, "reconcile")
	assert reconciled.returncode == 0, reconciled.stdout
	assert json.loads(reconciled.stdout)["clean"] is True


def test_reconcile_finds_drift_written_behind_the_apps_back(cli_url):
	run(cli_url, "init")
	run(cli_url, "load", str(SAMPLES / "fleet.json"))
	run(cli_url, "replay", str(SAMPLES / "callbacks.jsonl"))
	with MariaDB(DatabaseURL.parse(cli_url)) as db:
		db.sql("update `tabTukTuk Driver` set current_balance = current_balance + 7 where name = 'D000003'")
		db.commit()
	drift = run(cli_url, "reconcile")
	assert drift.returncode == 1
	report = json.loads(drift.stdout)
	assert report["clean"] is False
	assert report["discrepancies"] == [
		{
			"driver": "D000003",
			"field": "current_balance",
			"cached": report["discrepancies"][0]["ledger"] + 7,
			"ledger": report["discrepancies"][0]["ledger"],
			"difference": 7,
		}
	]


def test_unbalanced_voucher_written_behind_the_apps_back_is_reported(cli_url):
	run(cli_url, "init")
	run(cli_url, "load", str(SAMPLES / "fleet.json"))
	with MariaDB(DatabaseURL.parse(cli_url)) as db:
		db.sql(
			"""insert into `tabTukTuk Ledger Entry` (name, account, debit, credit, voucher_type, voucher_no)
			values ('forged0001', 'paybill', 10, 0, 'TukTuk Transaction', 'NOSUCHTX')"""
		)
		db.commit()
	result = run(cli_url, "reconcile")
	assert result.returncode == 1
	report = json.loads(result.stdout)
	assert report["unbalanced_vouchers"] == [
		{"voucher_type": "TukTuk Transaction", "voucher_no": "NOSUCHTX", "difference": 10}
	]
	assert report["postings_without_document"] == [
		{"voucher_type": "TukTuk Transaction", "voucher_no": "NOSUCHTX"}
	]
	assert report["ledger_total_kes"] == 10


def test_errors_exit_2_with_a_clear_message(cli_url, tmp_path):
	bad_url = run("postgres://x@127.0.0.1/db", "balances")
	assert bad_url.returncode == 2 and "mysql://" in bad_url.stderr
	no_url = subprocess.run(
		[sys.executable, "-m", "tuktuk_management.cli", "balances"],
		cwd=ROOT,
		capture_output=True,
		text=True,
		env={"PATH": "/usr/bin:/bin"},
	)
	assert no_url.returncode == 2 and "TUKTUK_DB_URL" in no_url.stderr
	run(cli_url, "init")
	fixtures = tmp_path / "bad.json"
	fixtures.write_text(
		json.dumps(
			[
				{"doctype": "TukTuk Vehicle", "name": "TT1", "tuktuk_id": "TT1", "mpesa_account": "TT1"},
				{"doctype": "TukTuk Driver", "name": "X", "driver_name": "X", "sunny_id": "123"},
			]
		)
	)
	failed = run(cli_url, "load", str(fixtures))
	assert failed.returncode == 2 and "Sunny ID" in failed.stderr
	with MariaDB(DatabaseURL.parse(cli_url)) as db:
		assert db.sql("select count(*) from `tabTukTuk Vehicle`")[0][0] == 0  # nothing half-loaded
	unknown_field = tmp_path / "unknown.json"
	unknown_field.write_text(json.dumps([{"doctype": "TukTuk Vehicle", "name": "T", "colour": "red"}]))
	assert "colour" in run(cli_url, "load", str(unknown_field)).stderr


def test_tuktuk_now_fixes_the_runner_clock_for_a_replay_of_another_day(cli_url, tmp_path):
	assert run(cli_url, "init").returncode == 0
	assert run(cli_url, "load", str(SAMPLES / "fleet.json")).returncode == 0
	first = (SAMPLES / "callbacks.jsonl").read_text().splitlines()[0]
	body = tmp_path / "one.jsonl"
	body.write_text(first + "\n")
	import os

	env = {**os.environ, "TUKTUK_DB_URL": cli_url, "TUKTUK_NOW": "2026-12-01T09:30:00"}
	replayed = subprocess.run(
		[sys.executable, "-m", "tuktuk_management.cli", "replay", str(body)],
		cwd=ROOT,
		capture_output=True,
		text=True,
		timeout=300,
		env=env,
	)
	assert replayed.returncode == 0, replayed.stderr
	assert json.loads(replayed.stdout)["applied"] == 1
	with MariaDB(DatabaseURL.parse(cli_url)) as db:
		posted = db.sql(
			"select distinct posting_datetime from `tabTukTuk Ledger Entry` where voucher_no = %s",
			(json.loads(first)["TransID"],),
		)
	assert [str(row[0]) for row in posted] == ["2026-12-01 09:30:00"]
