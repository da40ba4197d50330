"""The app's roles, named once (DESIGN §7). Importable without Frappe."""

from __future__ import annotations

MANAGER = "TukTuk Manager"
ACCOUNTANT = "TukTuk Accountant"
DRIVER = "TukTuk Driver"
SYSTEM_MANAGER = "System Manager"

ALL = (MANAGER, ACCOUNTANT, DRIVER)
# Who may move money or rewrite balances (``frappe.only_for(MONEY_MOVERS)``).
MONEY_MOVERS = (MANAGER, SYSTEM_MANAGER)
# Who may post and revert manual journals.
JOURNAL_POSTERS = (ACCOUNTANT, MANAGER, SYSTEM_MANAGER)
# Who may see the fleet's figures on the desk (workspace cards, charts, reports).
DESK_READERS = (MANAGER, ACCOUNTANT, SYSTEM_MANAGER)
# Who may open desk views of one driver (form overview): the readers and drivers (own record).
DESK_USERS = (*DESK_READERS, DRIVER)
# Who may import M-Pesa statements, match them and recover from them (missed payments, payouts
# the statement proves paid).
STATEMENT_RECONCILERS = (ACCOUNTANT, MANAGER, SYSTEM_MANAGER)
# Who may read the health report of the scheduled work without a probe token.
HEALTH_READERS = (MANAGER, SYSTEM_MANAGER)
# Who may ask for a withdrawal of their own payable (api/withdrawals.py; own driver only).
WITHDRAWAL_REQUESTERS = (DRIVER,)
# Who may ask for a day off (for themselves only: the driver linked to their user).
DAY_OFF_REQUESTERS = (DRIVER,)
# Who may approve or reject days off and read the roster.
DAY_OFF_APPROVERS = (MANAGER, SYSTEM_MANAGER)
