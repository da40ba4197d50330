# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, getdate, now_datetime, nowdate

from tuktuk_management.tests.factories import apply_payment, make_driver, make_vehicle


def make_substitution(vehicle, regular, substitute, from_offset=0, to_offset=1, **values):
	return frappe.get_doc(
		{
			"doctype": "TukTuk Substitution",
			"vehicle": vehicle,
			"regular_driver": regular,
			"substitute": substitute,
			"from_date": add_days(nowdate(), from_offset),
			"to_date": add_days(nowdate(), to_offset),
			"reason": "Annual leave",
			**values,
		}
	).insert()


class TestTukTukSubstitution(FrappeTestCase):
	def setUp(self):
		self.vehicle = make_vehicle()
		self.regular = make_driver(self.vehicle.name)
		self.substitute = make_driver(driver_kind="Substitute", daily_target=500, fare_percentage=30)

	def test_a_substitution_is_saved_active_for_its_date_range(self):
		doc = make_substitution(self.vehicle.name, self.regular.name, self.substitute.name, 0, 2)
		saved = frappe.get_doc("TukTuk Substitution", doc.name)
		self.assertEqual(saved.status, "Active")
		self.assertEqual((getdate(saved.to_date) - getdate(saved.from_date)).days, 2)

	def test_a_valid_substitution_is_saved_and_routes_payments_to_the_substitute(self):
		substitution = make_substitution(self.vehicle.name, self.regular.name, self.substitute.name)
		self.assertEqual(substitution.status, "Active")
		outcome = apply_payment(self.vehicle.mpesa_account, "400")
		self.assertEqual((outcome.status, outcome.driver), ("Processed", self.substitute.name))
		self.assertEqual((outcome.split.target_contribution_kes, outcome.split.driver_share_kes), (280, 120))

	def test_vehicle_collections_show_the_substitute_paid_for_the_vehicle(self):
		from tuktuk_management.tuktuk_management.report.vehicle_collections.vehicle_collections import execute

		substitution = make_substitution(self.vehicle.name, self.regular.name, self.substitute.name)
		trans_time = now_datetime().strftime("%Y%m%d%H%M%S")
		apply_payment(self.vehicle.mpesa_account, "400", TransTime=trans_time)
		columns, data = execute({"from_date": nowdate(), "to_date": nowdate(), "tuktuk": self.vehicle.name})
		self.assertIn("paid_as", [column["fieldname"] for column in columns])
		self.assertEqual(
			[(row["driver"], row["substitution"], row["amount"], row["driver_share"]) for row in data],
			[(self.substitute.name, substitution.name, 400, 120)],
		)
		# Each Payment: the vehicle's statement, one row per payment with its TransID.
		filters = {
			"from_date": nowdate(),
			"to_date": nowdate(),
			"tuktuk": self.vehicle.name,
			"each_payment": 1,
		}
		columns, data = execute(filters)
		self.assertEqual([column["fieldname"] for column in columns][:2], ["paid_at", "transaction"])
		self.assertEqual(len(data), 1)
		self.assertEqual(
			(data[0]["driver"], data[0]["paid_as"], data[0]["amount"]),
			(self.substitute.name, "Substitute", 400),
		)
		self.assertTrue(frappe.db.exists("TukTuk Transaction", data[0]["transaction"]))
		with self.assertRaisesRegex(frappe.ValidationError, "Choose a vehicle"):
			execute({"from_date": nowdate(), "to_date": nowdate(), "each_payment": 1})

	def test_rules_are_enforced_with_a_message_for_the_manager(self):
		other_vehicle = make_vehicle()
		other_regular = make_driver(other_vehicle.name)
		inactive = make_driver(status="Inactive")
		cases = [
			({"from_offset": 2, "to_offset": 1}, "From date must be on or before"),
			({"substitute": self.regular.name}, "another driver than the regular driver"),
			({"substitute": inactive.name}, "only an Active driver can substitute"),
			({"regular": other_regular.name}, "is not assigned to vehicle"),
			({"substitute": other_regular.name}, "is assigned to vehicle"),
		]
		for case, message in cases:
			args = {"regular": self.regular.name, "substitute": self.substitute.name, **case}
			with self.assertRaisesRegex(frappe.ValidationError, message, msg=str(case)):
				make_substitution(self.vehicle.name, args.pop("regular"), args.pop("substitute"), **args)

	def test_overlapping_substitutions_are_refused_and_cancelling_frees_the_dates(self):
		first = make_substitution(self.vehicle.name, self.regular.name, self.substitute.name, 1, 3)
		second_substitute = make_driver(driver_kind="Substitute")
		with self.assertRaisesRegex(frappe.ValidationError, "must not overlap"):
			make_substitution(self.vehicle.name, self.regular.name, second_substitute.name, 3, 4)
		other_vehicle = make_vehicle()
		other_regular = make_driver(other_vehicle.name)
		with self.assertRaisesRegex(frappe.ValidationError, "must not overlap"):  # same substitute elsewhere
			make_substitution(other_vehicle.name, other_regular.name, self.substitute.name, 2, 2)
		first.status = "Cancelled"
		first.save()
		make_substitution(self.vehicle.name, self.regular.name, second_substitute.name, 3, 4)

	def test_a_started_substitution_cannot_be_moved_or_deleted_but_can_be_cancelled(self):
		substitution = make_substitution(self.vehicle.name, self.regular.name, self.substitute.name, 0, 2)
		substitution.substitute = make_driver(driver_kind="Substitute").name
		with self.assertRaisesRegex(frappe.ValidationError, "can no longer change"):
			substitution.save()
		substitution.reload()
		with self.assertRaises(frappe.ValidationError):
			substitution.delete()
		substitution.to_date = nowdate()
		substitution.save()
		substitution.status = "Cancelled"
		substitution.save()
		self.assertEqual(frappe.db.get_value("TukTuk Substitution", substitution.name, "status"), "Cancelled")

	def test_a_substitution_that_has_not_started_can_be_deleted(self):
		substitution = make_substitution(self.vehicle.name, self.regular.name, self.substitute.name, 5, 6)
		substitution.delete()
		self.assertFalse(frappe.db.exists("TukTuk Substitution", substitution.name))
