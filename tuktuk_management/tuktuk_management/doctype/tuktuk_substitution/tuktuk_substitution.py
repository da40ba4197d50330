"""TukTuk Substitution: a substitute drives a vehicle for a date range (from/to inclusive).

Payments to the vehicle's account in that range route to the substitute (ledger/c2b_routing.py);
the regular driver is not judged by the daily close on those dates (ledger/close.py).
"""

from frappe.model.document import Document


class TukTukSubstitution(Document):
	pass
