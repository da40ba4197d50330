"""Strict booleans for flags that arrive from HTTP, the console or the command line: the one
``parse_bool`` of the app (the journal, the console and the API wrap it with their own error)."""

from __future__ import annotations

from typing import Any

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def parse_bool(value: Any, *, default: bool = False) -> bool:
	"""``value`` as a bool, strictly.

	True for ``True``, ``1`` and the strings "1", "true", "yes", "on"; False for ``False``, ``0``
	and "0", "false", "no", "off" (strings trimmed, any case). ``None`` and "" give ``default``.
	Anything else (``2``, "maybe", ``1.5``, a list) raises ValueError naming the value, so the
	string "false" can never be taken as true.
	"""
	if value is None:
		return default
	if isinstance(value, bool):
		return value
	if isinstance(value, int):
		if value in (0, 1):
			return bool(value)
	elif isinstance(value, str):
		word = value.strip().lower()
		if word == "":
			return default
		if word in TRUE_WORDS:
			return True
		if word in FALSE_WORDS:
			return False
	raise ValueError(f"not a yes/no value: {value!r} (use true/false, 1/0)")
