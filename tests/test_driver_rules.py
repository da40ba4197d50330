"""Onboarding rules (ledger/driver_rules.py): Kenyan phone numbers, national ID, age, licence."""

from __future__ import annotations

from datetime import date

import pytest

from tuktuk_management.ledger.driver_rules import (
	DriverDetailsInvalid,
	age_years,
	check_date_of_birth,
	check_licence_expiry,
	normalize_kenyan_phone,
	normalize_national_id,
)

TODAY = date(2026, 11, 21)


@pytest.mark.parametrize(
	("typed", "stored"),
	[
		("0712345678", "254712345678"),
		("0712 345 678", "254712345678"),
		("0712-345-678", "254712345678"),
		("+254 712 345 678", "254712345678"),
		("254712345678", "254712345678"),
		("0110 123456", "254110123456"),
		("+254-110-123-456", "254110123456"),
		("712345678", "254712345678"),
		("  0712345678 ", "254712345678"),
		("", ""),
		(None, ""),
	],
)
def test_kenyan_mobile_numbers_are_normalised(typed, stored):
	assert normalize_kenyan_phone(typed) == stored


@pytest.mark.parametrize(
	"typed",
	[
		"0712abc678",  # letters
		"07123456",  # too short
		"07123456789",  # too long
		"+255712345678",  # Tanzania
		"0212345678",  # a Nairobi landline, not a mobile
		"(0712) 345678",  # brackets
		"0712+345678",  # + inside
		"1" * 25,
	],
)
def test_other_numbers_are_refused_without_repeating_them(typed):
	with pytest.raises(DriverDetailsInvalid) as error:
		normalize_kenyan_phone(typed, "M-Pesa Number")
	assert str(error.value).startswith("M-Pesa Number ")
	assert typed not in str(error.value)


def test_national_id_is_compacted_and_checked():
	assert normalize_national_id(" 1234 5678 ") == "12345678"
	assert normalize_national_id("a-1234567") == "A1234567"
	assert normalize_national_id("") == ""
	for typed in ("123", "12345678901234567890X", "1234/567"):
		with pytest.raises(DriverDetailsInvalid, match="5 to 20 letters or digits"):
			normalize_national_id(typed)


def test_age_counts_a_birthday_on_its_day():
	assert age_years(date(2008, 11, 21), TODAY) == 18
	assert age_years(date(2008, 11, 22), TODAY) == 17
	assert age_years(date(2008, 2, 29), date(2026, 2, 28)) == 17


def test_date_of_birth_must_be_an_adult_and_plausible():
	check_date_of_birth(None, TODAY)
	check_date_of_birth(date(2008, 11, 21), TODAY)  # 18 today
	with pytest.raises(DriverDetailsInvalid, match="at least 18 years old"):
		check_date_of_birth(date(2008, 11, 22), TODAY)
	with pytest.raises(DriverDetailsInvalid, match="future"):
		check_date_of_birth(date(2027, 1, 1), TODAY)
	with pytest.raises(DriverDetailsInvalid, match="check the year"):
		check_date_of_birth(date(1926, 1, 1), TODAY)


def test_an_active_driver_needs_a_licence_that_has_not_expired():
	check_licence_expiry(None, TODAY, active=True)  # not recorded yet: allowed
	check_licence_expiry(TODAY, TODAY, active=True)  # valid through its expiry date
	check_licence_expiry(date(2026, 11, 20), TODAY, active=False)  # an Inactive driver may keep it
	with pytest.raises(DriverDetailsInvalid, match="expired on 2026-11-20"):
		check_licence_expiry(date(2026, 11, 20), TODAY, active=True)
