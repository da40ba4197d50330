# Copyright (c) 2026, tuktuk_management developers and contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase

from tuktuk_management.tests.factories import make_driver, make_vehicle


def history(driver: str) -> list[tuple]:
	return [
		(row.vehicle, bool(row.to_datetime))
		for row in frappe.get_all(
			"TukTuk Vehicle Assignment",
			filters={"driver": driver},
			fields=["vehicle", "to_datetime"],
			order_by="from_datetime asc, creation asc",
		)
	]


class TestTukTukVehicleAssignment(FrappeTestCase):
	def test_every_change_of_vehicle_is_recorded_once(self):
		first, second = make_vehicle(), make_vehicle()
		driver = make_driver(first.name)
		self.assertEqual(history(driver.name), [(first.name, False)])
		driver.daily_target = 1000
		driver.save()  # not a change of vehicle: nothing written
		self.assertEqual(history(driver.name), [(first.name, False)])
		driver.assigned_tuktuk = second.name
		driver.save()
		self.assertEqual(history(driver.name), [(first.name, True), (second.name, False)])
		driver.assigned_tuktuk = None
		driver.save()
		self.assertEqual(history(driver.name), [(first.name, True), (second.name, True)])

	def test_the_history_cannot_be_written_by_hand(self):
		vehicle = make_vehicle()
		driver = make_driver(vehicle.name)
		with self.assertRaises(frappe.PermissionError):
			frappe.get_doc(
				{
					"doctype": "TukTuk Vehicle Assignment",
					"vehicle": vehicle.name,
					"driver": driver.name,
					"from_datetime": frappe.utils.now_datetime(),
				}
			).insert()
