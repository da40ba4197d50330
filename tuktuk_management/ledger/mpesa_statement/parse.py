"""Parse the M-Pesa organisation portal's statement export (CSV) into statement lines.

The export has one row per movement on the paybill account with columns such as ``Receipt No.``,
``Completion Time``, ``Initiation Time``, ``Details``, ``Transaction Status``, ``Paid In``,
``Withdrawn``, ``Balance``, ``Balance Confirmed``, ``Reason Type``, ``Other Party Info``,
``Linked Transaction ID`` and ``A/C No.``. Header spellings vary between exports, so headers are
compared case-, punctuation- and whitespace-blind against known aliases; the header row may come
after a few preamble rows (account name, period ...). A missing required column is named; a
malformed row is named by its line number in the file. Amounts are ``Decimal``, never float.

Pure: no database, no clock.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

FILE_BYTES_MAX = 20 * 1024 * 1024
LINES_MAX = 200_000
PREAMBLE_ROWS_MAX = 30  # rows searched for the header row
ERRORS_SHOWN_MAX = 20
FIELD_CHARS_MAX = 1_000
AMOUNT_KES_MAX = Decimal(100_000_000)

# Canonical column -> accepted header spellings (normalised: lower case, letters and digits only).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
	"receipt_no": (
		"receiptno",
		"receiptnumber",
		"receipt",
		"mpesareceiptno",
		"mpesareceipt",
		"transactionid",
	),
	"completion_time": (
		"completiontime",
		"completedtime",
		"completiondate",
		"completedon",
		"transactiontime",
	),
	"initiation_time": ("initiationtime", "initiatedtime", "initiationdate", "initiatedon"),
	"details": ("details", "description", "transactiondetails", "narration"),
	"transaction_status": ("transactionstatus", "status"),
	"paid_in": ("paidin", "moneyin", "credit", "creditamount", "amountin"),
	"withdrawn": ("withdrawn", "withdrawal", "withdrawals", "paidout", "moneyout", "debit", "amountout"),
	"balance": ("balance", "runningbalance", "accountbalance"),
	"balance_confirmed": ("balanceconfirmed",),
	"reason_type": ("reasontype", "transactiontype", "reason"),
	"other_party_info": ("otherpartyinfo", "otherparty", "otherpartyinformation", "oppositeparty"),
	"linked_transaction_id": ("linkedtransactionid", "linkedtransid", "linkedtransaction", "linkedreceipt"),
	"account_no": ("acno", "accountno", "accountnumber", "acnumber", "billrefnumber", "billreference"),
}
REQUIRED_COLUMNS = ("receipt_no", "completion_time", "details", "paid_in", "withdrawn")
COLUMN_LABELS = {
	"receipt_no": "Receipt No.",
	"completion_time": "Completion Time",
	"initiation_time": "Initiation Time",
	"details": "Details",
	"transaction_status": "Transaction Status",
	"paid_in": "Paid In",
	"withdrawn": "Withdrawn",
	"balance": "Balance",
	"balance_confirmed": "Balance Confirmed",
	"reason_type": "Reason Type",
	"other_party_info": "Other Party Info",
	"linked_transaction_id": "Linked Transaction ID",
	"account_no": "A/C No.",
}
TIME_FORMATS = (
	"%Y-%m-%d %H:%M:%S",
	"%Y-%m-%d %H:%M",
	"%d-%m-%Y %H:%M:%S",
	"%d-%m-%Y %H:%M",
	"%d/%m/%Y %H:%M:%S",
	"%d/%m/%Y %H:%M",
	"%Y/%m/%d %H:%M:%S",
	"%d.%m.%Y %H:%M:%S",
	"%Y%m%d%H%M%S",
	"%Y-%m-%dT%H:%M:%S",
)
RECEIPT_PATTERN = re.compile(r"^[A-Z0-9]{6,20}$")
CHARGE_PATTERN = re.compile(r"\bcharges?\b", re.IGNORECASE)
PAYBILL_PATTERN = re.compile(r"pay\s*bill|customer\s+(payment|transfer)|c2b", re.IGNORECASE)
PAYOUT_PATTERN = re.compile(
	r"business\s+payment|b2c|salary\s+payment|promotion\s+payment|payment\s+to\s+customer", re.IGNORECASE
)
COMPLETED = "Completed"

# Line kinds (TukTuk Statement Line ``line_type``).
PAYMENT = "Payment"  # money in from a customer paying the paybill (C2B)
PAYOUT = "Payout"  # money out to a phone (B2C)
CHARGE = "Charge"  # a fee Safaricom takes for a payment or payout
OTHER_IN = "Other In"
OTHER_OUT = "Other Out"


class StatementFormatError(ValueError):
	"""The file is not a statement this parser can read; ``errors`` lists what is wrong (each
	naming the column or the line), at most ERRORS_SHOWN_MAX of them."""

	def __init__(self, errors: list[str]):
		self.errors = errors[:ERRORS_SHOWN_MAX]
		more = len(errors) - len(self.errors)
		super().__init__("; ".join(self.errors) + (f"; and {more} more" if more > 0 else ""))


@dataclass(frozen=True)
class StatementLine:
	"""One row of the statement. Amounts in KES as Decimal (>= 0; exactly one of ``paid_in_kes``
	and ``withdrawn_kes`` > 0); times naive, as printed in the export (EAT)."""

	line_no: int  # line number in the file (1 = first line), for messages
	receipt_no: str
	completion_time: datetime
	details: str
	paid_in_kes: Decimal
	withdrawn_kes: Decimal
	transaction_status: str = COMPLETED
	initiation_time: datetime | None = None
	balance_kes: Decimal | None = None
	balance_confirmed: str = ""
	reason_type: str = ""
	other_party_info: str = ""
	linked_transaction_id: str = ""
	account_no: str = ""

	@property
	def is_charge(self) -> bool:
		return bool(CHARGE_PATTERN.search(self.details) or CHARGE_PATTERN.search(self.reason_type))

	@property
	def kind(self) -> str:
		"""Payment, Payout, Charge, Other In or Other Out (see the module constants)."""
		text = f"{self.reason_type} {self.details}"
		if self.is_charge:
			return CHARGE
		if self.paid_in_kes > 0:
			return PAYMENT if (self.account_no or PAYBILL_PATTERN.search(text)) else OTHER_IN
		return PAYOUT if PAYOUT_PATTERN.search(text) else OTHER_OUT

	@property
	def key(self) -> str:
		"""The line's unique key across imports: the receipt number; a fee line that repeats its
		transaction's receipt is ``<receipt>-CHG``."""
		if self.is_charge and (
			not self.linked_transaction_id or self.linked_transaction_id == self.receipt_no
		):
			return f"{self.receipt_no}-CHG"
		return self.receipt_no

	@property
	def completed(self) -> bool:
		return self.transaction_status.strip().lower() == COMPLETED.lower()

	@property
	def amount_kes(self) -> Decimal:
		return self.paid_in_kes if self.paid_in_kes > 0 else self.withdrawn_kes


def normalise_header(text: str) -> str:
	"""``"A/C No."`` -> ``"acno"``: lower case, letters and digits only (BOM and spaces dropped)."""
	return re.sub(r"[^a-z0-9]", "", text.lower())


_ALIAS_TO_COLUMN = {alias: column for column, aliases in COLUMN_ALIASES.items() for alias in aliases}


def map_header(row: list[str]) -> dict[str, int]:
	"""Column -> index for a header row (the first occurrence of each column wins)."""
	mapping: dict[str, int] = {}
	for index, cell in enumerate(row):
		column = _ALIAS_TO_COLUMN.get(normalise_header(cell))
		if column and column not in mapping:
			mapping[column] = index
	return mapping


def parse_amount(text: str) -> Decimal:
	"""``"1,100.00"`` -> ``Decimal("1100.00")``; ``""``/``"-"`` -> 0; a negative sign is dropped
	(some exports print withdrawals negative). Raises ValueError for anything else."""
	cleaned = text.strip().replace(",", "").replace("KES", "").replace("Ksh", "").strip()
	if cleaned in ("", "-"):
		return Decimal(0)
	if cleaned.startswith("(") and cleaned.endswith(")"):
		cleaned = cleaned[1:-1]
	try:
		amount = abs(Decimal(cleaned))
	except InvalidOperation as exc:
		raise ValueError(f"not an amount: {text!r}") from exc
	if not amount.is_finite() or amount > AMOUNT_KES_MAX:
		raise ValueError(f"not an amount: {text!r}")
	return amount


def parse_time(text: str, formats: list[str] | None = None) -> datetime:
	"""A date and time in one of TIME_FORMATS. ``formats``: the caller's list of them, reordered
	so that the format that matched last is tried first (an export uses one format throughout)."""
	value = text.strip()
	formats = formats if formats is not None else list(TIME_FORMATS)
	for index, time_format in enumerate(formats):
		try:
			moment = datetime.strptime(value, time_format)
		except ValueError:
			continue
		if index:
			formats.insert(0, formats.pop(index))
		return moment
	raise ValueError(f"not a date and time: {text!r}")


def decode(data: bytes | str) -> str:
	"""The file's text: UTF-8 (with or without BOM), else Windows-1252 (Excel's default)."""
	if isinstance(data, str):
		return data.lstrip("\ufeff")
	if len(data) > FILE_BYTES_MAX:
		raise StatementFormatError([f"file is larger than {FILE_BYTES_MAX // (1024 * 1024)} MB"])
	try:
		return data.decode("utf-8-sig")
	except UnicodeDecodeError:
		return data.decode("cp1252", "replace")


def parse_statement(data: bytes | str) -> list[StatementLine]:
	"""Every data row of a statement export, in file order.

	Raises :class:`StatementFormatError` naming the missing required columns (when no row within
	the first PREAMBLE_ROWS_MAX has them all) or the malformed rows by line number (bad amount or
	time, both Paid In and Withdrawn, neither, a receipt number that is not one, the same receipt
	twice with different contents). Blank rows and rows with no receipt and no amount (totals,
	footers) are skipped.
	"""
	text = decode(data)
	reader = csv.reader(io.StringIO(text, newline=""))
	header: dict[str, int] | None = None
	best: dict[str, int] = {}
	lines: list[StatementLine] = []
	errors: list[str] = []
	seen: dict[str, StatementLine] = {}
	formats = list(TIME_FORMATS)
	try:
		for row in reader:
			line_no = reader.line_num
			if header is None:
				mapping = map_header(row)
				if all(column in mapping for column in REQUIRED_COLUMNS):
					header = mapping
				elif len(mapping) > len(best):
					best = mapping
				if header is None and line_no >= PREAMBLE_ROWS_MAX:
					break
				continue
			if not any(cell.strip() for cell in row):
				continue
			try:
				line = _parse_row(row, header, line_no, formats)
			except ValueError as exc:
				errors.append(f"line {line_no}: {exc}")
				continue
			if line is None:
				continue
			earlier = seen.get(line.key)
			if earlier is not None:
				if _same(earlier, line):
					continue
				errors.append(
					f"line {line_no}: receipt {line.receipt_no} already on line {earlier.line_no} "
					"with different contents"
				)
				continue
			seen[line.key] = line
			lines.append(line)
			if len(lines) > LINES_MAX:
				raise StatementFormatError([f"more than {LINES_MAX} lines; split the statement"])
	except csv.Error as exc:
		raise StatementFormatError([f"line {reader.line_num}: not valid CSV ({exc})"]) from exc
	if header is None:
		missing = [COLUMN_LABELS[c] for c in REQUIRED_COLUMNS if c not in best]
		raise StatementFormatError(
			[f"no header row with the required columns; missing column(s): {', '.join(missing)}"]
		)
	if errors:
		raise StatementFormatError(errors)
	return lines


def _cell(row: list[str], header: dict[str, int], column: str) -> str:
	index = header.get(column)
	if index is None or index >= len(row):
		return ""
	return row[index].strip()[:FIELD_CHARS_MAX]


def _parse_row(
	row: list[str], header: dict[str, int], line_no: int, formats: list[str]
) -> StatementLine | None:
	width = max(header.values()) + 1
	receipt = _cell(row, header, "receipt_no").upper()
	paid_in_text = _cell(row, header, "paid_in")
	withdrawn_text = _cell(row, header, "withdrawn")
	if not receipt and not paid_in_text and not withdrawn_text:
		return None  # a totals or footer row
	if len(row) < width:
		raise ValueError(f"{len(row)} fields, the header has {width}")
	if not RECEIPT_PATTERN.match(receipt):
		raise ValueError(f"not a receipt number: {receipt!r}")
	try:
		paid_in = parse_amount(paid_in_text)
	except ValueError as exc:
		raise ValueError(f"Paid In: {exc}") from exc
	try:
		withdrawn = parse_amount(withdrawn_text)
	except ValueError as exc:
		raise ValueError(f"Withdrawn: {exc}") from exc
	if (paid_in > 0) == (withdrawn > 0):
		raise ValueError("exactly one of Paid In and Withdrawn must be above zero")
	try:
		completion = parse_time(_cell(row, header, "completion_time"), formats)
	except ValueError as exc:
		raise ValueError(f"Completion Time: {exc}") from exc
	initiation_text = _cell(row, header, "initiation_time")
	balance_text = _cell(row, header, "balance")
	try:
		initiation = parse_time(initiation_text, formats) if initiation_text else None
		balance = parse_amount(balance_text) if balance_text else None
	except ValueError as exc:
		raise ValueError(str(exc)) from exc
	if balance is not None and balance_text.strip().startswith("-"):
		balance = -balance
	return StatementLine(
		line_no=line_no,
		receipt_no=receipt,
		completion_time=completion,
		details=_cell(row, header, "details"),
		paid_in_kes=paid_in,
		withdrawn_kes=withdrawn,
		transaction_status=_cell(row, header, "transaction_status") or COMPLETED,
		initiation_time=initiation,
		balance_kes=balance,
		balance_confirmed=_cell(row, header, "balance_confirmed"),
		reason_type=_cell(row, header, "reason_type"),
		other_party_info=_cell(row, header, "other_party_info"),
		linked_transaction_id=_cell(row, header, "linked_transaction_id").upper(),
		account_no=_cell(row, header, "account_no"),
	)


def _same(a: StatementLine, b: StatementLine) -> bool:
	return (a.completion_time, a.paid_in_kes, a.withdrawn_kes, a.account_no, a.details) == (
		b.completion_time,
		b.paid_in_kes,
		b.withdrawn_kes,
		b.account_no,
		b.details,
	)


STATEMENT_HEADER = [COLUMN_LABELS[column] for column in COLUMN_ALIASES]


def write_statement(lines: list[dict], *, header: list[str] | None = None) -> str:
	"""A statement export as text (for fixtures and samples): ``lines`` are dicts keyed by the
	canonical column names (missing keys are blank); ``header`` overrides the column labels."""
	buffer = io.StringIO()
	writer = csv.writer(buffer, lineterminator="\r\n")
	writer.writerow(header or STATEMENT_HEADER)
	for line in lines:
		writer.writerow([line.get(column, "") for column in COLUMN_ALIASES])
	return buffer.getvalue()
