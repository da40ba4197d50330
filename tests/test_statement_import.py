"""Statement export parsing (pure) and storing (MariaDB): tolerant headers, named errors, each
receipt stored once however often or overlapping it is imported."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from tuktuk_management.ledger.mpesa_statement import parse, store
from tuktuk_management.ledger.mpesa_statement.match import phone_matches

HEADER = (
	"Receipt No.,Completion Time,Initiation Time,Details,Transaction Status,Paid In,Withdrawn,Balance,"
	"Balance Confirmed,Reason Type,Other Party Info,Linked Transaction ID,A/C No.\r\n"
)
ROWS = [
	'TKL6UZI8DQ,21-11-2026 10:16:26,21-11-2026 10:16:26,Pay Bill Online,Completed,"1,100.00",,'
	'"251,100.00",true,Pay Bill Online,2547****26 - A,,TT008',
	"PYT0000001,2026-11-21 10:17:00,,Business Payment to 254700000001 - D,Completed,,-550.00,"
	'"250,550.00",true,Business Payment to Customer via API,254700000001 - D,,',
	'CHG0000001,2026-11-21 10:17:00,,Business Payment Charge,Completed,,15.00,"250,535.00",true,'
	"Business Payment Charge,,PYT0000001,",
]


def text(*rows: str, header: str = HEADER) -> str:
	return header + "\r\n".join(rows) + "\r\n"


def test_reads_the_portal_export_with_decimal_amounts_and_kinds():
	lines = parse.parse_statement(text(*ROWS).encode("utf-8"))
	assert [line.receipt_no for line in lines] == ["TKL6UZI8DQ", "PYT0000001", "CHG0000001"]
	payment, payout, charge = lines
	assert payment.paid_in_kes == Decimal("1100.00") and payment.withdrawn_kes == 0
	assert isinstance(payment.paid_in_kes, Decimal)
	assert payment.completion_time == datetime(2026, 11, 21, 10, 16, 26)
	assert payment.account_no == "TT008" and payment.kind == parse.PAYMENT
	assert payout.withdrawn_kes == Decimal(550) and payout.kind == parse.PAYOUT
	assert charge.kind == parse.CHARGE and charge.linked_transaction_id == "PYT0000001"
	assert charge.key == "CHG0000001"
	assert payment.line_no == 2 and charge.line_no == 4


def test_header_spellings_preamble_and_bom_are_tolerated():
	header = (
		"\ufeffRECEIPT NO,completion time, Details ,Transaction status,PAID IN,withdrawn,"
		"Balance,A/C no,Linked Transaction Id,Reason type\n"
	)
	preamble = (
		"Account Holder:,TUKTUK FLEET LTD\nShort Code:,600966\nTime Period:,21-11-2026 - 21-11-2026\n\n"
	)
	row = "TKL6UZI8DQ,2026/11/21 10:16:26,Pay Bill from x,Completed,100,,100,tt001,,Pay Bill Online\n"
	(line,) = parse.parse_statement(preamble + header + row)
	assert line.receipt_no == "TKL6UZI8DQ" and line.paid_in_kes == 100 and line.account_no == "tt001"
	assert line.completion_time == datetime(2026, 11, 21, 10, 16, 26)


def test_a_missing_required_column_is_named():
	header = "Receipt No.,Completion Time,Details,Paid In,Balance\r\n"
	with pytest.raises(parse.StatementFormatError) as raised:
		parse.parse_statement(header + "TKL6UZI8DQ,21-11-2026 10:16:26,x,100,100\r\n")
	assert "Withdrawn" in str(raised.value)
	assert "Paid In" not in str(raised.value)


def test_malformed_rows_are_named_by_their_line():
	bad = [
		ROWS[0],
		"TKL0000002,21-11-2026 10:20:00,,x,Completed,12a,,,,,,,TT001",  # line 3: bad amount
		"TKL0000003,21-11-2026 10:21:00,,x,Completed,10,10,,,,,,TT001",  # line 4: both sides
		"TKL0000004,yesterday,,x,Completed,10,,,,,,,TT001",  # line 5: bad time
		"TK-4,21-11-2026 10:22:00,,x,Completed,10,,,,,,,TT001",  # line 6: not a receipt number
		"TKL0000005,21-11-2026 10:23:00,,x,Completed",  # line 7: short row
		"TKL6UZI8DQ,21-11-2026 10:16:26,,Pay Bill Online,Completed,900.00,,,,,,,TT008",  # 8: same receipt
	]
	with pytest.raises(parse.StatementFormatError) as raised:
		parse.parse_statement(text(*bad))
	errors = raised.value.errors
	assert [error.split(":")[0] for error in errors] == [f"line {n}" for n in (3, 4, 5, 6, 7, 8)]
	assert "Paid In" in errors[0] and "exactly one" in errors[1] and "Completion Time" in errors[2]
	assert "already on line 2" in errors[5]


def test_footer_rows_and_an_identical_repeated_row_are_skipped():
	lines = parse.parse_statement(text(ROWS[0], ROWS[0], ",,,Totals,,,,,,,,,"))
	assert len(lines) == 1


def test_a_fee_line_repeating_its_transactions_receipt_gets_its_own_key():
	row = (
		"PYT0000001,2026-11-21 10:17:00,,Business Payment Charge,Completed,,15.00,,true,"
		"Business Payment Charge,,,"
	)
	lines = parse.parse_statement(text(ROWS[1], row))
	assert [line.key for line in lines] == ["PYT0000001", "PYT0000001-CHG"]


def test_phone_numbers_match_masked_and_plain():
	assert phone_matches("254700000001 - DRIVER", "0700000001") is True
	assert phone_matches("2547*****001 - DRIVER", "254700000001") is True
	assert phone_matches("2547*****002 - DRIVER", "254700000001") is False
	assert phone_matches("EQUITY BANK", "254700000001") is None


def _count(db) -> int:
	return db.sql("select count(*) from `tabTukTuk Statement Line`")[0][0]


def test_importing_the_same_or_an_overlapping_statement_stores_each_receipt_once(db, now):
	lines = parse.parse_statement(text(*ROWS))
	first = store.import_statement(db, lines, now=now, user="t", file_name="a.csv")
	db.commit()
	assert (first.lines_read, first.lines_new, first.lines_existing) == (3, 3, 0)
	assert first.period_start == datetime(2026, 11, 21, 10, 16, 26)
	again = store.import_statement(db, lines, now=now, user="t", file_name="a.csv")
	db.commit()
	assert (again.lines_new, again.lines_existing, again.lines_conflicting) == (0, 3, [])
	overlap = parse.parse_statement(
		text(ROWS[2], "TKL0000009,21-11-2026 11:00:00,,Pay Bill Online,Completed,40,,,,,,,TT001")
	)
	third = store.import_statement(db, overlap, now=now, user="t", file_name="b.csv")
	db.commit()
	assert (third.lines_new, third.lines_existing) == (1, 1)
	assert _count(db) == 4
	stored = db.sql(
		"select statement_import, paid_in, line_type from `tabTukTuk Statement Line` where name = 'TKL6UZI8DQ'"
	)[0]
	assert stored[0] == first.statement_import and Decimal(stored[1]) == Decimal("1100")
	assert stored[2] == parse.PAYMENT


def test_a_later_import_with_another_amount_for_a_receipt_is_reported_not_applied(db, now):
	store.import_statement(db, parse.parse_statement(text(ROWS[0])), now=now, user="t")
	changed = ROWS[0].replace('"1,100.00"', "1000.00")
	result = store.import_statement(db, parse.parse_statement(text(changed)), now=now, user="t")
	db.commit()
	assert result.lines_conflicting == ["TKL6UZI8DQ"]
	assert Decimal(db.sql("select paid_in from `tabTukTuk Statement Line`")[0][0]) == Decimal(1100)
