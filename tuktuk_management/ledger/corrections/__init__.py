"""Credit notes: target waiver, deposit refund, payment reversal, balance adjustment.

A credit note is a voucher of its own (``voucher_type`` TukTuk Credit Note, ``voucher_no`` its
name). Submitting posts it; cancelling appends the reversal lines dated the day of
cancellation (the originals stay). Both run inside the caller's transaction under the driver's
row lock, behind a savepoint, and never commit. Postings (driver accounts are credit-normal):

=====================================  ===========================  ===========================
correction                             debit                        credit
=====================================  ===========================  ===========================
Target waiver X                        revenue X                    target X
Deposit refund X, pay out              deposit X                    payable X (payout queued)
Deposit refund X, settle shortfall     deposit X                    target X
Payment reversal X                     target / revenue / payable   paybill X
                                       / deposit (see below)
Balance adjustment X, increase         company account X            driver account X
Balance adjustment X, decrease         driver account X             company account X
=====================================  ===========================  ===========================

The package is split by responsibility; every public name is importable from here:

- :mod:`.note`: the credit note's fields, types and checks, the plan and posting results;
- :mod:`.planners`: one planner per correction type (:mod:`.payment_reversal` for the reversal
  of a payment, which also keeps the payment's reversed total in step);
- :mod:`.lifecycle`: submit, post, cancel and reverse a credit note.
"""

from __future__ import annotations

from tuktuk_management.ledger.corrections.lifecycle import (
	SAVEPOINT,
	cancel_credit_note,
	plan_credit_note,
	post_credit_note,
	reverse_credit_note,
	submit_credit_note,
)
from tuktuk_management.ledger.corrections.note import (
	ADJUSTMENT_COUNTER_ACCOUNTS,
	AMOUNT_KES_MAX,
	BALANCE_ADJUSTMENT,
	CANCELLED,
	CORRECTION_TYPES,
	CREDIT_NOTE_COLUMNS,
	CREDIT_NOTE_DOCTYPE,
	DECREASE,
	DEPOSIT_REFUND,
	INCREASE,
	PAY_OUT,
	PAYMENT_REVERSAL,
	PAYOUT_DOCTYPE,
	REASON_CODES,
	REASON_NEEDS_REMARKS,
	REFUND_MODES,
	REVERSIBLE_PAYMENT_STATUSES,
	SETTLE_SHORTFALL,
	TARGET_WAIVER,
	UNPAID_PAYOUT_STATUSES,
	CreditNote,
	CreditNotePosting,
	Plan,
	check_fields,
)
from tuktuk_management.ledger.corrections.payment_reversal import (
	lock_transaction,
	plan_payment_reversal,
	update_transaction,
)
from tuktuk_management.ledger.corrections.planners import (
	PLANNERS,
	Planner,
	plan_balance_adjustment,
	plan_deposit_refund,
	plan_locked,
	plan_target_waiver,
)

__all__ = [
	"ADJUSTMENT_COUNTER_ACCOUNTS",
	"AMOUNT_KES_MAX",
	"BALANCE_ADJUSTMENT",
	"CANCELLED",
	"CORRECTION_TYPES",
	"CREDIT_NOTE_COLUMNS",
	"CREDIT_NOTE_DOCTYPE",
	"DECREASE",
	"DEPOSIT_REFUND",
	"INCREASE",
	"PAYMENT_REVERSAL",
	"PAYOUT_DOCTYPE",
	"PAY_OUT",
	"PLANNERS",
	"REASON_CODES",
	"REASON_NEEDS_REMARKS",
	"REFUND_MODES",
	"REVERSIBLE_PAYMENT_STATUSES",
	"SAVEPOINT",
	"SETTLE_SHORTFALL",
	"TARGET_WAIVER",
	"UNPAID_PAYOUT_STATUSES",
	"CreditNote",
	"CreditNotePosting",
	"Plan",
	"Planner",
	"cancel_credit_note",
	"check_fields",
	"lock_transaction",
	"plan_balance_adjustment",
	"plan_credit_note",
	"plan_deposit_refund",
	"plan_locked",
	"plan_payment_reversal",
	"plan_target_waiver",
	"post_credit_note",
	"reverse_credit_note",
	"submit_credit_note",
	"update_transaction",
]
