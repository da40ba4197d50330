"""The runner's deposit and payout commands (issue 13), for replays without Frappe:

    python -m tuktuk_management.cli deposit DRIVER AMOUNT --reference R     # cash deposit, posted
    python -m tuktuk_management.cli deposit DRIVER AMOUNT --kind "Damage Charge" --reason TEXT
    python -m tuktuk_management.cli withdraw DRIVER AMOUNT [--approve]      # request (+ approval)
    python -m tuktuk_management.cli pay-now DRIVER [AMOUNT]                 # one payout
    python -m tuktuk_management.cli sweep [--date YYYY-MM-DD]               # the payout sweep

Each prints its result as JSON and commits one unit of work (deadlocks retried); the payouts stay
Queued (the runner does not call Daraja: ``results`` delivers their B2C results). Exit 0 done,
1 refused (the reason on stderr), 2 error. The clock is the runner's (``TUKTUK_NOW`` fixes it).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from tuktuk_management.ledger import deposits, owed
from tuktuk_management.ledger.database import run_with_retry
from tuktuk_management.ledger.postings import CorrectionRefused
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.standalone.db import DatabaseURL, MariaDB

EXIT_DONE, EXIT_REFUSED, EXIT_ERROR = 0, 1, 2
RUNNER_USER = "runner"
COMMANDS = ("deposit", "withdraw", "pay-now", "sweep")


def _now(db: MariaDB):
	from tuktuk_management.cli import site_now

	return site_now(load_settings(db).site_timezone)


def _unit_of_work(db: MariaDB, work) -> dict:
	"""Run ``work()`` (returns a dict) as one committed unit of work with deadlock retry."""
	result = run_with_retry(work, rollback=db.rollback)
	db.commit()
	return result


def deposit(db: MariaDB, driver: str, amount_kes: int, *, kind: str, reference: str, reason: str) -> dict:
	now = _now(db)
	posting = _unit_of_work(
		db,
		lambda: (
			deposits.record_deposit_entry(
				db,
				driver=driver,
				kind=kind,
				amount_kes=amount_kes,
				reference=reference,
				reason=reason,
				now=now,
				user=RUNNER_USER,
			).__dict__
		),
	)
	return {"name": posting["name"], "deposit_kes_after": posting["deposit_kes_after"]}


def withdraw(db: MariaDB, driver: str, amount_kes: int, *, approve: bool) -> dict:
	"""A driver's request (the settings' limits apply), then, with ``approve``, a manager's approval
	of it when it was not approved automatically."""
	money, now = owed.load_money_settings(db), _now(db)
	outcome = _unit_of_work(
		db,
		lambda: owed.request_withdrawal(
			db, driver=driver, amount_kes=amount_kes, settings=money, now=now, user=RUNNER_USER
		).as_dict(),
	)
	if approve and outcome["status"] == owed.WithdrawalStatus.REQUESTED:
		outcome = _unit_of_work(
			db, lambda: owed.approve_withdrawal(db, outcome["name"], now=now, user=RUNNER_USER).as_dict()
		)
	return outcome


def pay_now(db: MariaDB, driver: str, amount_kes: int | None) -> dict:
	now = _now(db)
	return _unit_of_work(
		db,
		lambda: owed.pay_now(db, driver=driver, amount_kes=amount_kes, now=now, user=RUNNER_USER).as_dict(),
	)


def sweep(db: MariaDB, sweep_date: date | None) -> dict:
	"""Every batch of the sweep due now (or of ``sweep_date``, even while instant payouts are on)."""
	settings, money, now = load_settings(db), owed.load_money_settings(db), _now(db)
	total = {"sweep_date": None, "payouts": 0, "paid_kes": 0, "skipped": 0, "errors": 0}
	while True:
		run = owed.run_sweep(
			db,
			settings=settings,
			money=money,
			now=now,
			commit=db.commit,
			rollback=db.rollback,
			user=RUNNER_USER,
			sweep_date=sweep_date,
		).as_dict()
		total["sweep_date"] = run["sweep_date"]
		for key in ("payouts", "paid_kes", "skipped", "errors"):
			total[key] += run[key]
		if run["done"] or run["sweep_date"] is None or run["errors"] or not run["payouts"]:
			return total


def add_parsers(commands: argparse._SubParsersAction) -> None:
	from tuktuk_management.cli import parse_date

	deposited = commands.add_parser(
		"deposit", help="record a cash deposit (or a deduction) on a driver's deposit"
	)
	deposited.add_argument("driver")
	deposited.add_argument("amount", type=int, help="whole KES > 0")
	deposited.add_argument(
		"--kind", default=deposits.DepositKind.CASH_DEPOSIT, choices=deposits.DepositKind.ALL
	)
	deposited.add_argument("--reference", default="", help="receipt or cash book number (cash deposits)")
	deposited.add_argument("--reason", default="", help="what a charge or deduction is for")
	withdrawn = commands.add_parser(
		"withdraw", help="a driver's withdrawal request (limits from the settings)"
	)
	withdrawn.add_argument("driver")
	withdrawn.add_argument("amount", type=int, help="whole KES > 0")
	withdrawn.add_argument("--approve", action="store_true", help="approve it as a manager if it waits")
	paid = commands.add_parser("pay-now", help="pay a driver all that is available (or AMOUNT): one payout")
	paid.add_argument("driver")
	paid.add_argument("amount", type=int, nargs="?", default=None, help="whole KES (default: all available)")
	swept = commands.add_parser(
		"sweep", help="the daily payout sweep (instant payouts off, after sweep_time)"
	)
	swept.add_argument("--date", type=parse_date, default=None, help="force this sweep date")


def run(url: DatabaseURL, args: argparse.Namespace) -> int:
	with MariaDB(url) as db:
		try:
			if args.command == "deposit":
				result = deposit(
					db, args.driver, args.amount, kind=args.kind, reference=args.reference, reason=args.reason
				)
			elif args.command == "withdraw":
				result = withdraw(db, args.driver, args.amount, approve=args.approve)
			elif args.command == "pay-now":
				result = pay_now(db, args.driver, args.amount)
			else:
				result = sweep(db, args.date)
		except CorrectionRefused as exc:
			db.rollback()
			print(json.dumps({"refused": str(exc)}), file=sys.stderr)
			return EXIT_REFUSED
	print(json.dumps(result, indent=1, default=str))
	return EXIT_ERROR if result.get("errors") else EXIT_DONE
