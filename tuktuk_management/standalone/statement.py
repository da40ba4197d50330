"""The runner's statement commands: ``import-statement FILE``, ``match``, ``recover``.

    python -m tuktuk_management.cli import-statement statement.csv   # store each receipt once
    python -m tuktuk_management.cli match [--import NAME]   # JSON counts; exit 0 all matched, 1 differences
    python -m tuktuk_management.cli recover [--line NAME ...]   # apply every proposed recovery once

Each is the same core the desk calls (``ledger/mpesa_statement``); the runner owns the commits.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from tuktuk_management.ledger.database import run_with_retry
from tuktuk_management.ledger.mpesa_statement import match, parse, recover, store
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.standalone.db import DatabaseURL, MariaDB

EXIT_CLEAN, EXIT_DIFFERENCES, EXIT_ERROR = 0, 1, 2
RUNNER_USER = "runner"
COMMANDS = ("import-statement", "match", "recover")


def _now(db: MariaDB):
	from tuktuk_management.cli import site_now

	return site_now(load_settings(db).site_timezone)


def cmd_import_statement(url: DatabaseURL, path: str) -> int:
	with open(path, "rb") as handle:
		data = handle.read(parse.FILE_BYTES_MAX + 1)
	try:
		lines = parse.parse_statement(data)
	except parse.StatementFormatError as exc:
		print(json.dumps({"error": str(exc), "errors": exc.errors}), file=sys.stderr)
		return EXIT_ERROR
	with MariaDB(url) as db:
		now = _now(db)
		result = run_with_retry(
			lambda: store.import_statement(
				db, lines, now=now, user=RUNNER_USER, file_name=os.path.basename(path)
			),
			rollback=db.rollback,
		)
		db.commit()
	print(json.dumps(result.as_dict()))
	return EXIT_CLEAN


def match_statement(db: MariaDB, *, statement_import: str | None = None) -> match.MatchResult:
	"""Match (and post fees) in one committed unit of work, retried on deadlock."""
	now = _now(db)
	window = match.payout_window(db)
	result = run_with_retry(
		lambda: match.run_match(
			db, now=now, user=RUNNER_USER, statement_import=statement_import, payout_window=window
		),
		rollback=db.rollback,
	)
	db.commit()
	return result


def cmd_match(url: DatabaseURL, statement_import: str | None) -> int:
	with MariaDB(url) as db:
		result = match_statement(db, statement_import=statement_import)
	print(json.dumps(result.summary(), indent=1, default=str))
	return result.exit_code


RECOVERY_BATCHES_MAX = 1_000  # batches of recover.RECOVERY_BATCH_MAX lines per run


def recover_statement(db: MariaDB, *, lines: list[str] | None = None) -> list[recover.Recovery]:
	"""Every proposed recovery once, batch after batch while a full batch made progress."""
	settings = load_settings(db)
	from tuktuk_management.cli import site_now

	db.rollback()
	done: list[recover.Recovery] = []
	for _batch in range(RECOVERY_BATCHES_MAX):
		batch = recover.recover_all(
			db,
			settings=settings,
			clock=lambda: site_now(settings.site_timezone),
			commit=db.commit,
			rollback=db.rollback,
			user=RUNNER_USER,
			names=lines,
		)
		done += batch
		if len(batch) < recover.RECOVERY_BATCH_MAX or not any(r.applied for r in batch):
			break
	return done


def cmd_recover(url: DatabaseURL, lines: list[str] | None) -> int:
	with MariaDB(url) as db:
		done = recover_statement(db, lines=lines)
	applied = [r for r in done if r.applied]
	print(
		json.dumps(
			{
				"proposed": len(done),
				"applied": len(applied),
				"applied_kes": sum(r.amount_kes for r in applied),
				"recoveries": [r.as_dict() for r in done],
			},
			indent=1,
		)
	)
	return EXIT_ERROR if any(r.status == "Failed" for r in done) else EXIT_CLEAN


def add_parsers(commands: argparse._SubParsersAction) -> None:
	imported = commands.add_parser(
		"import-statement", help="store an M-Pesa statement export (CSV); each receipt once"
	)
	imported.add_argument("file")
	matched = commands.add_parser(
		"match", help="match statement lines to the books; JSON; exit 0 all matched, 1 differences, 2 error"
	)
	matched.add_argument("--import", dest="statement_import", default=None, help="one import's period")
	recovered = commands.add_parser(
		"recover", help="apply every proposed recovery once (missed payments, payouts proven paid)"
	)
	recovered.add_argument("--line", dest="lines", action="append", default=None, help="only this line")


def run(url: DatabaseURL, args: argparse.Namespace) -> int:
	if args.command == "import-statement":
		return cmd_import_statement(url, args.file)
	if args.command == "match":
		return cmd_match(url, args.statement_import)
	return cmd_recover(url, args.lines)
