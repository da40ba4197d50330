"""Factories for substitutions (TukTuk Substitution rows) in the framework-free suite."""

from __future__ import annotations

import itertools
from datetime import date

from tests.factories import CREATED

_names = itertools.count(1)


def make_substitution(
	db,
	vehicle: str,
	regular_driver: str,
	substitute: str,
	from_date: date,
	to_date: date,
	*,
	status: str = "Active",
	name: str | None = None,
) -> str:
	"""Insert a substitution row as the desk would save it (no rule checked: tests of routing)."""
	name = name or f"SUB{next(_names):05d}"
	db.sql(
		"""insert into `tabTukTuk Substitution` (name, creation, modified, owner, modified_by, vehicle,
		regular_driver, substitute, from_date, to_date, status)
		values (%s, %s, %s, 'Administrator', 'Administrator', %s, %s, %s, %s, %s, %s)""",
		(name, CREATED, CREATED, vehicle, regular_driver, substitute, from_date, to_date, status),
	)
	return name
