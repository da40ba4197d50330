"""Whole Kenyan shillings. M-Pesa moves no cents; amounts are ``int`` KES everywhere in the core."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any


class NotWholeShillings(ValueError):
	pass


def to_kes(value: Any) -> int:
	"""A database or payload value as whole shillings.

	Accepts int, Decimal, str (``"5"``, ``"5.00"``) and the float Frappe's MariaDB driver returns
	for ``decimal(21,9)`` columns; None and ``""`` are 0. Raises :class:`NotWholeShillings` if the
	value has a fractional part or is not a number.
	"""
	if value is None or value == "":
		return 0
	if isinstance(value, bool):
		raise NotWholeShillings(f"not an amount: {value!r}")
	if isinstance(value, int):
		return value
	try:
		# repr() of a float is exact for the integral values a decimal(21,9) KES column holds.
		amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
	except InvalidOperation as exc:
		raise NotWholeShillings(f"not an amount: {value!r}") from exc
	if not amount.is_finite() or amount != amount.to_integral_value():
		raise NotWholeShillings(f"not a whole number of shillings: {value!r}")
	return int(amount)


def is_non_negative_kes(value: Any) -> bool:
	"""True if ``value`` is a whole number of shillings >= 0 (a target, a limit)."""
	try:
		return to_kes(value) >= 0
	except NotWholeShillings:
		return False


def to_percent(value: Any) -> Decimal:
	"""A Percent field value (0–100, may have decimals) as an exact Decimal."""
	if value is None or value == "":
		return Decimal(0)
	if isinstance(value, float):
		return Decimal(repr(value))
	return Decimal(str(value).strip())


def round_half_up_kes(amount: Decimal) -> int:
	"""Round a Decimal amount to whole shillings, halves away from zero (2.5 -> 3)."""
	return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))
