"""The runner's driver lifecycle commands: ``terminate``, ``preview-termination``, ``reinstate``.

    python -m tuktuk_management.cli terminate D000123 --reason "Left the fleet" [--at "2026-11-21 18:00:00"]
    python -m tuktuk_management.cli preview-termination D000123 [--at ...]
    python -m tuktuk_management.cli reinstate D000123 [--at ...]

Each prints a JSON summary and runs the same core as the driver form
(``ledger/termination.py``) as one committed unit of work with bounded deadlock retry; the final
payout is a Queued TukTuk Payout (sent by whatever sends payouts: the bench's job, or nothing in a
replay). ``--at`` sets the clock (site time zone, naive) so a multi-day replay can terminate on
a given day; the default is now. There is no User table without Frappe: the summary names the
user the desk would disable. Exit 0 done (or already terminated), 2 refused or error.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime

from tuktuk_management.ledger import termination
from tuktuk_management.ledger.database import run_with_retry
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.standalone.db import DatabaseURL, MariaDB

EXIT_DONE, EXIT_ERROR = 0, 2
RUNNER_USER = "runner"
COMMANDS = ("terminate", "preview-termination", "reinstate")


def parse_at(value: str) -> datetime:
	try:
		return datetime.fromisoformat(value)
	except ValueError as exc:
		raise argparse.ArgumentTypeError(f"not a date-time like 2026-11-21 18:00:00: {value!r}") from exc


def add_parsers(commands) -> None:
	"""Add the lifecycle sub-commands to the runner's parser."""
	terminate = commands.add_parser(
		"terminate", help="terminate a driver: final close, deposit refund, one final payout (JSON)"
	)
	terminate.add_argument("driver")
	terminate.add_argument("--reason", required=True, help="why the driver leaves (kept on the record)")
	preview = commands.add_parser("preview-termination", help="what terminate would do now (nothing written)")
	preview.add_argument("driver")
	reinstate = commands.add_parser("reinstate", help="set a Terminated driver Inactive again (JSON)")
	reinstate.add_argument("driver")
	for parser in (terminate, preview, reinstate):
		parser.add_argument("--at", type=parse_at, default=None, help="the clock, YYYY-MM-DD HH:MM:SS")


def _now(db: MariaDB, at: datetime | None) -> datetime:
	from tuktuk_management.cli import site_now

	return at or site_now(load_settings(db).site_timezone)


def run_lifecycle(
	db: MariaDB, command: str, driver: str, *, reason: str = "", at: datetime | None = None
) -> dict:
	"""Run one lifecycle command against ``db`` and commit; the JSON-ready summary.

	Raises :class:`~tuktuk_management.ledger.termination.TerminationRefused` (rolled back)."""
	settings = load_settings(db)
	now = _now(db, at)
	if command == "preview-termination":
		reply = termination.preview_termination(db, driver, settings=settings, now=now, user=RUNNER_USER)
		db.rollback()
		return reply
	if command == "terminate":
		work = lambda: termination.terminate_driver(  # noqa: E731
			db, driver, reason=reason, settings=settings, now=now, user=RUNNER_USER
		).as_dict()
	else:
		work = lambda: termination.reinstate_driver(db, driver, now=now, user=RUNNER_USER)  # noqa: E731
	try:
		reply = run_with_retry(work, rollback=db.rollback)
	except Exception:
		db.rollback()
		raise
	db.commit()
	return reply


def run(url: DatabaseURL, args: argparse.Namespace) -> int:
	"""Dispatch a parsed lifecycle command; prints JSON (an ``error`` object on refusal)."""
	with MariaDB(url) as db:
		try:
			reply = run_lifecycle(
				db, args.command, args.driver, reason=getattr(args, "reason", "") or "", at=args.at
			)
		except termination.TerminationRefused as exc:
			print(json.dumps({"error": str(exc)}))
			return EXIT_ERROR
	print(json.dumps(reply, indent=1, default=str))
	return EXIT_DONE
