"""The DocType names the app's code uses, defined once.

The core and the Frappe layer import these instead of spelling the names; the table of a
DocType is ``tab<name>`` (for example ``tabTukTuk Payout``).
"""

from __future__ import annotations

DRIVER = "TukTuk Driver"
VEHICLE = "TukTuk Vehicle"
TRANSACTION = "TukTuk Transaction"
PAYOUT = "TukTuk Payout"
CREDIT_NOTE = "TukTuk Credit Note"
JOURNAL = "TukTuk Journal"
JOURNAL_LINE = "TukTuk Journal Line"
DAILY_CLOSE = "TukTuk Daily Close"
SUBSTITUTION = "TukTuk Substitution"
TERMINATION = "TukTuk Termination"
DAY_OFF = "TukTuk Day Off"
LEDGER_ENTRY = "TukTuk Ledger Entry"
CALLBACK_LOG = "TukTuk Callback Log"
RECONCILIATION_RUN = "TukTuk Reconciliation Run"
RECONCILIATION_DISCREPANCY = "TukTuk Reconciliation Discrepancy"
SETTINGS = "TukTuk Settings"
STATEMENT_IMPORT = "TukTuk Statement Import"
STATEMENT_LINE = "TukTuk Statement Line"
PAYBILL_BALANCE_CHECK = "TukTuk Paybill Balance Check"
VEHICLE_ASSIGNMENT = "TukTuk Vehicle Assignment"
DEPOSIT_ENTRY = "TukTuk Deposit Entry"
WITHDRAWAL_REQUEST = "TukTuk Withdrawal Request"
