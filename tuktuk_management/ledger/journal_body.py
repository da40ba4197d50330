"""Parsing a manual journal body without the database: shape, amounts, limits, balance.

What :mod:`tuktuk_management.ledger.journal` posts is a :class:`JournalBody` built here by
:func:`parse_journal`; every problem found is listed in one :class:`InvalidJournal`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from tuktuk_management.ledger import accounts
from tuktuk_management.ledger.flags import parse_bool
from tuktuk_management.ledger.money import NotWholeShillings, to_kes
from tuktuk_management.ledger.postings import CorrectionRefused
from tuktuk_management.ledger.settings import LedgerSettings
from tuktuk_management.ledger.writer import PostingLine

# Accounts a manual journal may use; ``opening`` is kept for opening balances.
JOURNAL_ACCOUNTS = (
	*accounts.DRIVER_ACCOUNTS,
	accounts.PAYBILL,
	accounts.B2C,
	accounts.REVENUE,
	accounts.SUSPENSE,
)
IDEMPOTENCY_KEY_CHARS_MAX = 140
REMARKS_CHARS_MAX = 500
LINE_REMARKS_CHARS_MAX = 140


class InvalidJournal(CorrectionRefused):
	"""A journal body that is malformed, unbalanced, over a limit or names an unknown driver."""


@dataclass(frozen=True)
class JournalLine:
	"""One line of a manual journal: exactly one of ``debit_kes``/``credit_kes`` > 0 (whole KES).

	driver: TukTuk Driver name for the driver accounts (target, deposit, payable), None otherwise.
	"""

	account: str
	driver: str | None
	debit_kes: int
	credit_kes: int
	allow_overdraft: bool = False
	remarks: str = ""

	def posting_line(self) -> PostingLine:
		return PostingLine(
			self.account, debit_kes=self.debit_kes, credit_kes=self.credit_kes, party=self.driver
		)


@dataclass(frozen=True)
class JournalBody:
	"""A parsed journal: its key, remarks and lines; ``body_hash`` identifies the body."""

	idempotency_key: str
	remarks: str
	lines: tuple[JournalLine, ...]

	@property
	def total_kes(self) -> int:
		return sum(line.debit_kes for line in self.lines)

	@property
	def body_hash(self) -> str:
		"""SHA-256 of the normalised body (key excluded): what makes a replay the same request."""
		canonical = json.dumps(
			{"remarks": self.remarks, "lines": [asdict(line) for line in self.lines]},
			sort_keys=True,
			separators=(",", ":"),
		)
		return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def parse_flag(value: Any, what: str) -> bool:
	"""A journal flag, strictly (:func:`~tuktuk_management.ledger.flags.parse_bool`; missing is
	False). Anything else raises :class:`InvalidJournal` naming ``what``."""
	try:
		return parse_bool(value)
	except ValueError:
		raise InvalidJournal(f"{what} must be true or false, not {value!r}.") from None


def parse_journal(
	idempotency_key: Any, lines: Any, remarks: Any = "", *, settings: LedgerSettings
) -> JournalBody:
	"""Parse and check a journal body without the database: shape, amounts, limits, balance.

	lines: a list (or JSON text of a list) of mappings with ``account``, ``driver`` (driver
	accounts only), ``debit`` and/or ``credit`` (whole KES), optional ``allow_overdraft`` and
	``remarks``. Raises :class:`InvalidJournal` listing every problem found.
	"""
	key = str(idempotency_key or "").strip()
	errors = []
	if not key:
		errors.append("An idempotency key is required (any unique text, e.g. the accountant's reference).")
	elif len(key) > IDEMPOTENCY_KEY_CHARS_MAX:
		errors.append(f"The idempotency key must be at most {IDEMPOTENCY_KEY_CHARS_MAX} characters.")
	if isinstance(lines, str):
		try:
			lines = json.loads(lines)
		except ValueError:
			raise InvalidJournal("Lines must be a JSON list of lines.") from None
	if not isinstance(lines, list) or not lines:
		raise InvalidJournal("A journal needs a list of at least two lines.")
	if len(lines) > settings.journal_max_lines:
		raise InvalidJournal(
			f"A journal may have at most {settings.journal_max_lines} lines (Journal Max Lines in TukTuk "
			f"Settings); this one has {len(lines)}."
		)
	parsed = []
	for number, raw in enumerate(lines, start=1):
		try:
			parsed.append(_parse_line(raw, number, settings))
		except InvalidJournal as exc:
			errors.append(str(exc))
	if len(lines) < 2:
		errors.append("A journal needs at least two lines (a debit and a credit).")
	if not errors:
		debit_kes = sum(line.debit_kes for line in parsed)
		credit_kes = sum(line.credit_kes for line in parsed)
		if debit_kes != credit_kes:
			errors.append(
				f"The journal is not balanced: debits {debit_kes} KES, credits {credit_kes} KES "
				f"(difference {debit_kes - credit_kes} KES)."
			)
	if errors:
		raise InvalidJournal(" ".join(errors))
	return JournalBody(key, str(remarks or "").strip()[:REMARKS_CHARS_MAX], tuple(parsed))


def _parse_line(raw: Any, number: int, settings: LedgerSettings) -> JournalLine:
	if not isinstance(raw, Mapping):
		raise InvalidJournal(f"Line {number} must be an object with account, debit or credit.")
	unknown = set(raw) - {"account", "driver", "debit", "credit", "allow_overdraft", "remarks"}
	if unknown:
		raise InvalidJournal(
			f"Line {number} has unknown fields: {', '.join(sorted(str(field) for field in unknown))}."
		)
	account = str(raw.get("account") or "").strip().lower()
	if account not in JOURNAL_ACCOUNTS:
		raise InvalidJournal(f"Line {number}: account must be one of {', '.join(JOURNAL_ACCOUNTS)}.")
	driver = str(raw.get("driver") or "").strip().upper() or None
	if account in accounts.DRIVER_ACCOUNTS and not driver:
		raise InvalidJournal(f"Line {number}: the {account} account needs a driver.")
	if account not in accounts.DRIVER_ACCOUNTS and driver:
		raise InvalidJournal(f"Line {number}: the company account {account} takes no driver.")
	try:
		debit_kes, credit_kes = to_kes(raw.get("debit")), to_kes(raw.get("credit"))
	except NotWholeShillings:
		raise InvalidJournal(f"Line {number}: amounts must be whole numbers of shillings.") from None
	if debit_kes < 0 or credit_kes < 0 or (debit_kes > 0) == (credit_kes > 0):
		raise InvalidJournal(f"Line {number}: give either a debit or a credit, more than 0.")
	if max(debit_kes, credit_kes) > settings.journal_max_line_amount_kes:
		raise InvalidJournal(
			f"Line {number}: {max(debit_kes, credit_kes)} KES is more than the "
			f"{settings.journal_max_line_amount_kes} KES a line may carry (TukTuk Settings)."
		)
	overdraft = parse_flag(raw.get("allow_overdraft"), f"Line {number}: allow_overdraft")
	if overdraft and not driver:
		raise InvalidJournal(f"Line {number}: allow_overdraft applies to driver accounts only.")
	remarks = str(raw.get("remarks") or "").strip()[:LINE_REMARKS_CHARS_MAX]
	return JournalLine(account, driver, debit_kes, credit_kes, overdraft, remarks)
