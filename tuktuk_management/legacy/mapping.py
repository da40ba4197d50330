"""How the original app's names map onto this app's: roles, select options, settings fields."""

from __future__ import annotations

from tuktuk_management import roles

# A column the original's TukTuk Driver has and this app's never adds: its presence marks a site
# whose data comes from the original app.
LEGACY_MARKER = ("TukTuk Driver", "is_rollover_target")

# Role names that differ from ours only in case. MariaDB compares Role names case-insensitively
# (so ``TukTuk Manager`` can never be created next to ``Tuktuk Manager``) while Python compares
# them exactly (``frappe.only_for``, DocPerm): the role itself is renamed, with every link to it.
ROLE_RENAMES = {"Tuktuk Manager": roles.MANAGER}

# Every user holding one of the original's roles also gets this app's nearest role; the
# original's roles stay assigned (they still open the original's DocTypes' data).
# - Fleet Supervisor and Tuktuk Executive edited drivers and vehicles: only TukTuk Manager may.
# - Finance Officer created adjustment transactions: the accountant's manual journal.
# - Operations Viewer read drivers, vehicles and transactions: TukTuk Accountant reads them
#   (it may also post manual journals: the upgrade check lists these users for review).
ROLE_GRANTS = {
	"Tuktuk Manager": roles.MANAGER,
	"Tuktuk Executive": roles.MANAGER,
	"Fleet Supervisor": roles.MANAGER,
	"Finance Officer": roles.ACCOUNTANT,
	"Operations Viewer": roles.ACCOUNTANT,
	"TukTuk Driver": roles.DRIVER,
	"Driver": roles.DRIVER,
}

# TukTuk Vehicle.status: the original tracked what the vehicle was doing; this app only whether
# payments to it route to its driver (Active) or to suspense (Maintenance, Retired).
VEHICLE_STATUS = {
	"Available": "Active",
	"Assigned": "Active",
	"Subbed": "Active",
	"Charging": "Active",
	"Offline": "Active",  # telematics offline: the vehicle still works and its driver is paid
	"Maintenance": "Maintenance",
}
VEHICLE_STATUS_DEFAULT = "Active"

# TukTuk Transaction.transaction_type and payment_status of pre-ledger rows (the original values
# are kept in legacy_transaction_type / legacy_payment_status).
TRANSACTION_TYPE = {
	"Payment": "Payment",
	"Driver Repayment": "Repayment",
	"Target Reduction/Deposit": "Repayment",
	"Adjustment": "Payment",
}
TRANSACTION_TYPE_DEFAULT = "Payment"
# Pending and Failed rows were never credited to a balance the original showed: "Not Applied".
PAYMENT_STATUS = {"Completed": "Completed", "Pending": "Not Applied", "Failed": "Not Applied"}
PAYMENT_STATUS_DEFAULT = "Not Applied"

# TukTuk Settings. Fields with the same name and meaning stay where they are (global_daily_target,
# global_fare_percentage, mpesa_paybill, operating_hours_start/end, instant_payouts_enabled).
PASSWORD_COPIES = {  # Password -> Password: the encrypted value is copied as it is
	"mpesa_api_key": "daraja_consumer_key",
	"mpesa_api_secret": "daraja_consumer_secret",
	"mpesa_security_credential": "b2c_security_credential",
}
DECRYPTED_COPIES = {"mpesa_initiator_name": "b2c_initiator_name"}  # Password -> Data
DATA_COPIES = {"mpesa_paybill": "b2c_shortcode"}  # the original paid B2C from the paybill
# The original called Daraja's production hosts only.
SET_IF_MISSING = {"daraja_environment": "Production"}

# The original's DocTypes this app does not have: their tables and rows stay untouched.
KEPT_TABLES = (
	"Driver Deposit Transaction",
	"Failed Transaction Log",
	"Terminated TukTuk Driver",
	"TukTuk Daily Report",
	"TukTuk Day Off Schedule",
	"TukTuk Petty Cash",
	"TukTuk Rental",
	"TukTuk Roster Period",
	"TukTuk Substitute Assignment",
	"TukTuk Substitute Driver",
	"TukTuk Weekly Report",
)

# Tables with a Link to Role (the Frappe patch adds every other it finds in the DocType meta).
ROLE_LINK_COLUMNS = (
	("Has Role", "role"),
	("DocPerm", "role"),
	("Custom DocPerm", "role"),
)
