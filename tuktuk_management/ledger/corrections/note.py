"""A credit note as the core reads it: its fields, the checks that need no database, what a
plan posts and what a posting returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tuktuk_management.ledger import accounts, doctypes
from tuktuk_management.ledger.money import NotWholeShillings, to_kes
from tuktuk_management.ledger.postings import CorrectionRefused
from tuktuk_management.ledger.status import PaymentStatus, PayoutStatus
from tuktuk_management.ledger.writer import PostingLine

CREDIT_NOTE_DOCTYPE = doctypes.CREDIT_NOTE
PAYOUT_DOCTYPE = doctypes.PAYOUT

TARGET_WAIVER = "Target waiver"
DEPOSIT_REFUND = "Deposit refund"
PAYMENT_REVERSAL = "Payment reversal"
BALANCE_ADJUSTMENT = "Balance adjustment"
CORRECTION_TYPES = (TARGET_WAIVER, DEPOSIT_REFUND, PAYMENT_REVERSAL, BALANCE_ADJUSTMENT)

PAY_OUT = "Pay out by M-Pesa"
SETTLE_SHORTFALL = "Settle shortfall"
REFUND_MODES = (PAY_OUT, SETTLE_SHORTFALL)
INCREASE = "Increase"
DECREASE = "Decrease"
ADJUSTMENT_COUNTER_ACCOUNTS = (accounts.REVENUE, accounts.SUSPENSE, accounts.PAYBILL, accounts.B2C)
REASON_CODES = ("Data entry error", "Cash received", "Cash paid out", "Damage charge", "Goodwill", "Other")
REASON_NEEDS_REMARKS = "Other"

REVERSIBLE_PAYMENT_STATUSES = PaymentStatus.REVERSIBLE
UNPAID_PAYOUT_STATUSES = PayoutStatus.UNPAID  # not handed to M-Pesa: may still be cancelled
CANCELLED = PayoutStatus.CANCELLED
AMOUNT_KES_MAX = 1_000_000  # far above any real correction; a typo guard

CREDIT_NOTE_COLUMNS = (
	"correction_type",
	"driver",
	"amount",
	"transaction",
	"refund_mode",
	"driver_account",
	"direction",
	"counter_account",
	"reason_code",
	"remarks",
)


@dataclass(frozen=True)
class CreditNote:
	"""The fields of a TukTuk Credit Note the core reads; amounts in whole KES.

	transaction: TukTuk Transaction (TransID) for a Payment reversal. refund_mode: Deposit refund
	only. driver_account / direction / counter_account / reason_code: Balance adjustment only.
	"""

	name: str
	correction_type: str
	driver: str
	amount_kes: int
	transaction: str | None = None
	refund_mode: str = PAY_OUT
	driver_account: str | None = None
	direction: str | None = None
	counter_account: str = accounts.REVENUE
	reason_code: str = ""
	remarks: str = ""

	@classmethod
	def from_fields(cls, name: str, values: Mapping[str, Any]) -> CreditNote:
		"""Build from a document's field values (``amount`` in KES); raises CorrectionRefused."""
		try:
			amount_kes = to_kes(values.get("amount"))
		except NotWholeShillings as exc:
			raise CorrectionRefused("Amount must be a whole number of shillings.") from exc
		return cls(
			name=name,
			correction_type=values.get("correction_type") or "",
			driver=values.get("driver") or "",
			amount_kes=amount_kes,
			transaction=values.get("transaction") or None,
			refund_mode=values.get("refund_mode") or PAY_OUT,
			driver_account=values.get("driver_account") or None,
			direction=values.get("direction") or None,
			counter_account=values.get("counter_account") or accounts.REVENUE,
			reason_code=values.get("reason_code") or "",
			remarks=(values.get("remarks") or "").strip(),
		)


@dataclass
class Plan:
	"""What a credit note will post: lines, the signed change of each driver account (credit-normal
	KES), the part taken from revenue, and the payout work."""

	lines: list[PostingLine]
	target_kes: int = 0
	deposit_kes: int = 0
	payable_kes: int = 0
	revenue_kes: int = 0
	payout_kes: int = 0  # a new payout to queue (deposit refund paid out, or a share re-queued)
	payouts_to_cancel: list[str] = field(default_factory=list)
	transaction_reversed_kes: int = 0  # Payment reversal: the change of the payment's reversed total


@dataclass(frozen=True)
class CreditNotePosting:
	"""The result of posting or reversing a credit note: its ledger entry names and the parts."""

	credit_note: str
	entries: list[str]
	target_kes: int
	deposit_kes: int
	payable_kes: int
	revenue_kes: int
	payout: str | None
	cancelled_payouts: list[str]

	def as_dict(self) -> dict:
		return {
			"credit_note": self.credit_note,
			"ledger_entries": len(self.entries),
			"target_kes": self.target_kes,
			"deposit_kes": self.deposit_kes,
			"payable_kes": self.payable_kes,
			"revenue_kes": self.revenue_kes,
			"payout": self.payout,
			"cancelled_payouts": self.cancelled_payouts,
		}


def check_fields(note: CreditNote) -> None:
	"""The checks that need no database: type, amount, and each type's required fields."""
	if note.correction_type not in CORRECTION_TYPES:
		raise CorrectionRefused(f"Correction type must be one of: {', '.join(CORRECTION_TYPES)}.")
	if not note.driver:
		raise CorrectionRefused("Choose the driver the correction is for.")
	if not 0 < note.amount_kes <= AMOUNT_KES_MAX:
		raise CorrectionRefused(f"Amount must be more than 0 and at most {AMOUNT_KES_MAX:,} KES.")
	if note.correction_type == PAYMENT_REVERSAL and not note.transaction:
		raise CorrectionRefused("A payment reversal needs the transaction (TransID) it reverses.")
	if note.correction_type == DEPOSIT_REFUND and note.refund_mode not in REFUND_MODES:
		raise CorrectionRefused(f"Refund mode must be one of: {', '.join(REFUND_MODES)}.")
	if note.correction_type == BALANCE_ADJUSTMENT:
		if note.driver_account not in accounts.DRIVER_ACCOUNTS:
			raise CorrectionRefused("Choose the driver account to adjust: target, deposit or payable.")
		if note.direction not in (INCREASE, DECREASE):
			raise CorrectionRefused("Choose whether the adjustment increases or decreases the balance.")
		if note.counter_account not in ADJUSTMENT_COUNTER_ACCOUNTS:
			raise CorrectionRefused(
				f"The company account must be one of: {', '.join(ADJUSTMENT_COUNTER_ACCOUNTS)}."
			)
		if note.reason_code not in REASON_CODES:
			raise CorrectionRefused("A balance adjustment needs a reason code.")
		if note.reason_code == REASON_NEEDS_REMARKS and not note.remarks:
			raise CorrectionRefused("Reason code Other needs remarks saying why.")
