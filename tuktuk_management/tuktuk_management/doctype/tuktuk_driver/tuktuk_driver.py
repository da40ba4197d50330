# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import getdate, now_datetime, nowdate

from tuktuk_management import roles
from tuktuk_management.ledger import deposits, driver_rules
from tuktuk_management.ledger.drivers import (
	LEDGER_MAINTAINED_FIELDS,
	normalize_sunny_id,
	refresh_left_to_target,
)
from tuktuk_management.ledger.money import is_non_negative_kes, to_kes
from tuktuk_management.ledger.owed.settings import load_money_settings
from tuktuk_management.ledger.settings import load_settings
from tuktuk_management.ledger.split import effective_target_kes
from tuktuk_management.ledger.status import DriverStatus
from tuktuk_management.ledger.substitutions import record_assignment

PERCENT_MAX = 100


# refresh_left_to_target writes the row in SQL, then only shows the stored value on the form:
# nosemgrep: frappe-modifying-but-not-comitting-other-method
class TukTukDriver(Document):
	"""A driver. Balances are caches of ledger sums: the ledger core moves them with relative SQL
	under the row lock; a form save never writes them (see ``load_ledger_maintained_fields``)."""

	def before_insert(self):
		# Runs before naming (autoname field:sunny_id), so the name is the normalized Sunny ID.
		self.normalize_sunny_id()

	def validate(self):
		self.normalize_sunny_id()
		self.validate_sunny_id_unchanged()
		self.validate_daily_target()
		self.validate_fare_percentage()
		self.validate_one_active_driver_per_vehicle()
		self.validate_user_linked_once()
		self.validate_termination_by_its_actions()
		self.validate_personal_details()
		self.validate_national_id_unique()
		self.load_ledger_maintained_fields()
		self.validate_deposit_for_activation()

	def after_insert(self):
		self.notify_managers_of_new_driver()

	def onload(self):
		self.set_onload("target_today_kes", self.target_today_kes())

	def on_update(self):
		self.refresh_left_to_target()
		self.record_vehicle_assignment()

	def target_today_kes(self) -> int:
		"""Today's effective target: base (own daily target or the global one) + rollover."""
		settings = load_settings(frappe.db)
		return effective_target_kes(
			to_kes(self.daily_target), settings.global_daily_target_kes, to_kes(self.target_rollover)
		)

	def on_trash(self):
		self.refuse_delete_with_ledger_lines()

	def normalize_sunny_id(self):
		try:
			self.sunny_id = normalize_sunny_id(self.sunny_id)
		except ValueError as exc:
			frappe.throw(str(exc), title=_("Invalid Sunny ID"))

	def validate_sunny_id_unchanged(self):
		"""The Sunny ID is the driver's name and repayment account: fixed once created."""
		if not self.is_new() and self.has_value_changed("sunny_id"):
			frappe.throw(
				_("The Sunny ID of a driver cannot be changed (it is the driver's repayment account)."),
				title=_("Invalid Sunny ID"),
			)

	def validate_daily_target(self):
		if not is_non_negative_kes(self.daily_target):
			frappe.throw(
				_("Daily Target must be a whole number of shillings, 0 or more (0 uses the global target)."),
				title=_("Invalid Daily Target"),
			)

	def validate_fare_percentage(self):
		if not 0 <= (self.fare_percentage or 0) <= PERCENT_MAX:
			frappe.throw(
				_("Fare Percentage must be between 0 and 100 (0 uses the global percentage)."),
				title=_("Invalid Fare Percentage"),
			)

	def validate_one_active_driver_per_vehicle(self):
		"""At most one Active driver per vehicle: the vehicle row lock serializes concurrent saves,
		and the check is a locking read (a plain SELECT could see a snapshot from before the
		other save committed, under REPEATABLE READ)."""
		if self.status != "Active" or not self.assigned_tuktuk:
			return
		frappe.db.get_value("TukTuk Vehicle", self.assigned_tuktuk, "name", for_update=True)
		other = frappe.db.get_value(
			"TukTuk Driver",
			{"assigned_tuktuk": self.assigned_tuktuk, "status": "Active", "name": ("!=", self.name)},
			"name",
			for_update=True,
		)
		if other:
			frappe.throw(
				_("TukTuk {0} already has an Active driver ({1}). Make that driver Inactive first.").format(
					frappe.bold(self.assigned_tuktuk), frappe.bold(other)
				),
				title=_("Vehicle Already Assigned"),
			)

	def validate_termination_by_its_actions(self):
		"""Terminated is set and left only by Driver > Terminate / Reinstate (api/lifecycle.py): a
		termination settles the driver's money in the same transaction; a status typed on the form
		would skip that."""
		before = None if self.is_new() else frappe.db.get_value("TukTuk Driver", self.name, "status")
		if self.status == DriverStatus.TERMINATED and before != DriverStatus.TERMINATED:
			frappe.throw(
				_(
					"Use Driver > Terminate: it runs the final close, refunds the deposit and pays the driver out."
				),
				title=_("Not Allowed"),
			)
		if before == DriverStatus.TERMINATED and self.status != DriverStatus.TERMINATED:
			frappe.throw(
				_("Use Driver > Reinstate to bring a terminated driver back (as Inactive)."),
				title=_("Not Allowed"),
			)

	def validate_personal_details(self):
		"""Onboarding rules (``ledger/driver_rules.py``): Kenyan phone numbers stored as 2547.../2541...,
		the national ID compacted, an adult's date of birth, an Active driver's licence not expired."""
		today = getdate(nowdate())  # the site's date
		try:
			self.mpesa_number = driver_rules.normalize_kenyan_phone(self.mpesa_number, "M-Pesa Number")
			self.emergency_contact_phone = driver_rules.normalize_kenyan_phone(
				self.emergency_contact_phone, "Emergency Contact Phone"
			)
			self.national_id_number = driver_rules.normalize_national_id(self.national_id_number) or None
			driver_rules.check_date_of_birth(
				getdate(self.date_of_birth) if self.date_of_birth else None, today
			)
			driver_rules.check_licence_expiry(
				getdate(self.licence_expiry) if self.licence_expiry else None,
				today,
				active=self.status == DriverStatus.ACTIVE,
			)
		except driver_rules.DriverDetailsInvalid as exc:
			frappe.throw(str(exc), title=_("Invalid Driver Details"))

	def validate_national_id_unique(self):
		"""One driver per national ID, said plainly (the unique index would say "Duplicate entry")."""
		if not self.national_id_number:
			return
		other = frappe.db.get_value(
			"TukTuk Driver",
			{"national_id_number": self.national_id_number, "name": ("!=", self.name)},
			"name",
		)
		if other:
			frappe.throw(
				_("This National ID Number is already recorded for driver {0}.").format(frappe.bold(other)),
				title=_("Duplicate National ID"),
			)

	def notify_managers_of_new_driver(self):
		"""A desk notification and email to managers: Sunny ID and name only. Not for bulk loads
		(data import, install, patches)."""
		if frappe.flags.in_import or frappe.flags.in_install or frappe.flags.in_patch:
			return
		from tuktuk_management.alerts import send_new_driver_alert

		send_new_driver_alert(self.name, self.driver_name)

	def validate_user_linked_once(self):
		"""A login belongs to one driver: it decides which records the driver may see."""
		if not self.user:
			return
		other = frappe.db.get_value("TukTuk Driver", {"user": self.user, "name": ("!=", self.name)}, "name")
		if other:
			frappe.throw(
				_("User {0} is already linked to driver {1}.").format(
					frappe.bold(self.user), frappe.bold(other)
				),
				title=_("User Already Linked"),
			)

	def load_ledger_maintained_fields(self):
		"""Never write back balances from the form: 0 for a new driver (opening balances come
		from the standalone loader or journals), else the current values read under the row lock.

		A relative SQL update by the ledger does not change ``modified``, so the timestamp check
		alone would let a form opened before a payment write its stale balance back.
		"""
		if self.is_new():
			for fieldname in LEDGER_MAINTAINED_FIELDS:
				self.set(fieldname, None if fieldname == "last_close_date" else 0)
			return
		current = frappe.db.get_value(
			"TukTuk Driver", self.name, list(LEDGER_MAINTAINED_FIELDS), as_dict=True, for_update=True
		)
		for fieldname in LEDGER_MAINTAINED_FIELDS:
			self.set(fieldname, current[fieldname])

	def validate_deposit_for_activation(self):
		"""A driver set Active must hold the required deposit unless a manager gives a Deposit
		Override Reason (the rule: ``ledger.deposits.activation_refusal``)."""
		becoming_active = self.status == "Active" and (self.is_new() or self.has_value_changed("status"))
		required_kes = deposits.required_deposit_kes(
			self.deposit_required, load_money_settings(frappe.db).default_deposit_required_kes
		)
		held_kes = to_kes(self.current_deposit_balance)
		refusal = deposits.activation_refusal(
			becoming_active=becoming_active,
			held_kes=held_kes,
			required_kes=required_kes,
			override_reason=self.deposit_override_reason,
		)
		if refusal:
			frappe.throw(refusal, title=_("Deposit Required"))
		if (
			becoming_active
			and held_kes < required_kes
			and not set(frappe.get_roles()) & set(roles.MONEY_MOVERS)
		):
			frappe.throw(
				_("Only a TukTuk Manager may activate a driver without the required deposit."),
				title=_("Deposit Required"),
				exc=frappe.PermissionError,
			)

	def refresh_left_to_target(self):
		"""The target may have changed: recompute left_to_target in SQL and show the new value."""
		refresh_left_to_target(frappe.db, load_settings(frappe.db), self.name)
		self.left_to_target = frappe.db.get_value("TukTuk Driver", self.name, "left_to_target")

	def record_vehicle_assignment(self):
		"""Keep the assignment history (TukTuk Vehicle Assignment) in step with the vehicle."""
		record_assignment(
			frappe.db, self.name, self.assigned_tuktuk or None, now=now_datetime(), user=frappe.session.user
		)

	def refuse_delete_with_ledger_lines(self):
		if frappe.db.exists("TukTuk Ledger Entry", {"party_type": "TukTuk Driver", "party": self.name}):
			frappe.throw(
				_("Driver {0} has ledger postings and cannot be deleted. Set the status to Inactive.").format(
					frappe.bold(self.name)
				),
				title=_("Not Allowed"),
			)
