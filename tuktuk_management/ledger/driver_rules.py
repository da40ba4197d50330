"""Onboarding rules for a driver's personal details, as pure functions (no database, no Frappe).

The TukTuk Driver controller calls them on save and shows their messages as they are; the
standalone loader may call them too. Each raises :class:`DriverDetailsInvalid` with a message a
fleet manager understands; the messages never repeat the value (no phone or ID number in logs).
"""

from __future__ import annotations

import re
from datetime import date

from tuktuk_management.daraja.errors import normalize_msisdn

AGE_MIN_YEARS = 18  # a driver must be an adult (Kenyan driving licence for a PSV/tuk-tuk)
AGE_MAX_YEARS = 80  # beyond this the date of birth is almost certainly a typing mistake
PHONE_CHARACTERS = re.compile(r"^\+?[0-9][0-9 \-]*$")  # digits, spaces, dashes; one leading +
PHONE_CHARS_MAX = 20
NATIONAL_ID_PATTERN = re.compile(r"^[A-Z0-9]{5,20}$")


class DriverDetailsInvalid(ValueError):
	"""A driver detail that fails an onboarding rule; the message is meant for a manager."""


def normalize_kenyan_phone(value: str | None, label: str = "Phone number") -> str:
	"""A Kenyan mobile number as ``2547XXXXXXXX`` / ``2541XXXXXXXX`` ("" for an empty value).

	Accepts ``07..``, ``01..``, ``+254..``, ``254..`` and the 9-digit form, with spaces or dashes
	between digits. Raises :class:`DriverDetailsInvalid` (naming ``label``) for anything else:
	letters, other country codes, too few or too many digits.
	"""
	text = (value or "").strip()
	if not text:
		return ""
	if len(text) > PHONE_CHARS_MAX or not PHONE_CHARACTERS.match(text):
		raise DriverDetailsInvalid(
			f"{label} may contain only digits, spaces, dashes and a leading +, "
			"for example 0712 345 678 or +254 712 345 678."
		)
	try:
		return normalize_msisdn(text)
	except ValueError as exc:
		raise DriverDetailsInvalid(
			f"{label} is not a Kenyan mobile number: use 07XXXXXXXX, 01XXXXXXXX or +2547XXXXXXXX."
		) from exc


def normalize_national_id(value: str | None) -> str:
	"""The national ID number trimmed, spaces and dashes removed, upper-cased ("" if empty).

	Raises :class:`DriverDetailsInvalid` unless 5..20 letters or digits remain (Kenyan ID cards
	carry 7 or 8 digits; alien and passport numbers carry letters).
	"""
	compact = re.sub(r"[\s\-]", "", value or "").upper()
	if not compact:
		return ""
	if not NATIONAL_ID_PATTERN.match(compact):
		raise DriverDetailsInvalid("National ID Number must be 5 to 20 letters or digits.")
	return compact


def age_years(date_of_birth: date, today: date) -> int:
	"""Whole years from ``date_of_birth`` to ``today`` (a birthday counts on its day)."""
	years = today.year - date_of_birth.year
	if (today.month, today.day) < (date_of_birth.month, date_of_birth.day):
		years -= 1
	return years


def check_date_of_birth(date_of_birth: date | None, today: date) -> None:
	"""Refuse a date of birth in the future, under AGE_MIN_YEARS or over AGE_MAX_YEARS ago."""
	if date_of_birth is None:
		return
	if date_of_birth >= today:
		raise DriverDetailsInvalid("Date of Birth cannot be today or in the future.")
	age = age_years(date_of_birth, today)
	if age < AGE_MIN_YEARS:
		raise DriverDetailsInvalid(
			f"The driver must be at least {AGE_MIN_YEARS} years old (the Date of Birth gives {age})."
		)
	if age > AGE_MAX_YEARS:
		raise DriverDetailsInvalid(
			f"Date of Birth gives an age of {age}: check the year (more than {AGE_MAX_YEARS} years ago)."
		)


def check_licence_expiry(licence_expiry: date | None, today: date, *, active: bool) -> None:
	"""An Active driver's driving licence must not have expired: ``licence_expiry`` ≥ ``today``
	(a licence is valid through its expiry date).

	An empty expiry is allowed (drivers loaded before the field existed); an Inactive, Suspended
	or Terminated driver may keep an expired licence on file.
	"""
	if licence_expiry is None or not active:
		return
	if licence_expiry < today:
		raise DriverDetailsInvalid(
			f"The driving licence expired on {licence_expiry.isoformat()}. Record the renewed licence's "
			"expiry date, or set the driver Inactive until it is renewed."
		)
