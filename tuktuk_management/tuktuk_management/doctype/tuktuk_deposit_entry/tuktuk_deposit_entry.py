# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import now_datetime

from tuktuk_management.controllers import add_composite_indexes
from tuktuk_management.ledger import deposits
from tuktuk_management.ledger.postings import CorrectionRefused


class TukTukDepositEntry(Document):
	"""A cash deposit, damage charge or other deduction on a driver's deposit: posted on submit,
	reversed on cancel (``ledger/deposits.py``). The core works inside the request's transaction
	(no commit here), so a failure rolls the submit back with its postings. ``flags.on_step`` is a
	test hook passed to the core."""

	def validate(self):
		self.check_against_deposit()

	def on_submit(self):
		self.call_core(deposits.post_deposit_entry, self.as_entry())
		self.reload()

	def on_cancel(self):
		self.call_core(deposits.reverse_deposit_entry, self.name)
		self.reload()

	def on_trash(self):
		if self.docstatus == 2:
			frappe.throw(
				_(
					"Deposit entry {0} has ledger postings (and their reversal); it is kept for the record."
				).format(self.name),
				title=_("Not Allowed"),
				exc=frappe.PermissionError,
			)

	def check_against_deposit(self):
		"""Fields and, for a deduction, the deposit held (under the driver's row lock)."""
		try:
			deposits.plan_deposit_entry(frappe.db, self.as_entry())
		except CorrectionRefused as exc:
			frappe.throw(str(exc), title=_("Deposit entry not possible"))

	def as_entry(self) -> deposits.DepositEntry:
		try:
			return deposits.DepositEntry.from_fields(self.name, self.as_dict())
		except CorrectionRefused as exc:
			frappe.throw(str(exc), title=_("Deposit entry not possible"))

	def call_core(self, function, subject):
		try:
			function(
				frappe.db, subject, now=now_datetime(), user=frappe.session.user, on_step=self.flags.on_step
			)
		except CorrectionRefused as exc:
			frappe.throw(str(exc), title=_("Deposit entry not possible"))


def on_doctype_update():
	add_composite_indexes("TukTuk Deposit Entry")
