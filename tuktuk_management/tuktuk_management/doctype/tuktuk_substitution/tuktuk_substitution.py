"""TukTuk Substitution: a substitute drives a vehicle for a date range (from/to inclusive).

Payments to the vehicle's account in that range route to the substitute (ledger/c2b_routing.py);
the regular driver is not judged by the daily close on those dates (ledger/close.py). The rules a
substitution must meet live in the core (``ledger.substitutions.check_substitution``); cancelling
is setting the status to Cancelled (the row stays as history).
"""

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import getdate, nowdate

from tuktuk_management.ledger.substitutions import (
	CANCELLED,
	Substitution,
	SubstitutionRefused,
	check_substitution,
)


class TukTukSubstitution(Document):
	def validate(self):
		self.validate_substitution_rules()

	def on_trash(self):
		self.refuse_delete_once_started()

	def as_substitution(self, doc: Document | None = None) -> Substitution:
		doc = doc or self
		return Substitution(
			name=None if doc.is_new() else doc.name,
			vehicle=doc.vehicle,
			regular_driver=doc.regular_driver,
			substitute=doc.substitute,
			from_date=getdate(doc.from_date),
			to_date=getdate(doc.to_date),
			status=doc.status or "Active",
		)

	def validate_substitution_rules(self):
		"""The core's rules (dates, drivers, overlaps), under the vehicle and substitute locks."""
		before = self.get_doc_before_save()
		try:
			check_substitution(
				frappe.db,
				self.as_substitution(),
				today=getdate(nowdate()),
				before=self.as_substitution(before) if before else None,
			)
		except SubstitutionRefused as exc:
			frappe.throw(str(exc), title=_("Substitution Refused"))

	def refuse_delete_once_started(self):
		"""A substitution that has started decided where payments went: keep it, cancel it instead."""
		if self.status != CANCELLED and getdate(self.from_date) <= getdate(nowdate()):
			frappe.throw(
				_(
					"Substitution {0} has started and routed payments; set its status to Cancelled instead."
				).format(frappe.bold(self.name)),
				title=_("Not Allowed"),
			)
