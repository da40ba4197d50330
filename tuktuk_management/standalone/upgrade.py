"""The runner's ``upgrade-check`` and ``upgrade``: the upgrade from the original app without a bench.

``upgrade`` runs what ``bench migrate`` runs, in the same order: the steps before the model sync
(committed), the model sync of :mod:`tuktuk_management.standalone.sync`, the steps after it.
Password fields cannot be decrypted without the site's key, so the initiator name is not copied
here (the Frappe patch copies it); everything else is the same code as the patches.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime

from tuktuk_management.legacy import apply
from tuktuk_management.legacy.plan import UpgradeBlocked, read_plan
from tuktuk_management.legacy.report import format_plan
from tuktuk_management.standalone.db import DatabaseURL, MariaDB
from tuktuk_management.standalone.sync import sync_schema

EXIT_READY, EXIT_BLOCKED = 0, 1
RUNNER_USER = "Administrator"


def add_commands(commands) -> None:
	check = commands.add_parser(
		"upgrade-check",
		help="what upgrading from the original app will do; exit 0 ready, 1 blockers, 2 error",
	)
	check.add_argument("--json", action="store_true", help="print the plan as JSON")
	commands.add_parser(
		"upgrade", help="upgrade a database of the original app (idempotent); exit 1 on blockers"
	)


def run(url: DatabaseURL, args: argparse.Namespace) -> int | None:
	"""Run an upgrade command (None if ``args.command`` is not one)."""
	if args.command == "upgrade-check":
		with MariaDB(url) as db:
			plan = read_plan(db)
			db.rollback()
		print(json.dumps(plan.as_dict(), indent=1, default=str) if args.json else format_plan(plan))
		return EXIT_BLOCKED if plan.blockers else EXIT_READY
	if args.command == "upgrade":
		return upgrade(url, now=datetime.now())
	return None


def upgrade(url: DatabaseURL, *, now: datetime) -> int:
	with MariaDB(url) as db:
		try:
			before = apply.before_model_sync(db)
		except UpgradeBlocked as exc:
			db.rollback()
			print(str(exc))
			return EXIT_BLOCKED
		db.commit()
		synced = sync_schema(db)
		db.commit()
		after = apply.after_model_sync(db, now=now, user=RUNNER_USER)
		db.commit()
	print(json.dumps({"before_model_sync": before, "model_sync": synced, "after_model_sync": after}))
	return EXIT_READY
