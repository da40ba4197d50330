// Copyright (c) 2026, tuktuk_management developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("TukTuk Transaction", {
	refresh(frm) {
		// A payment in suspense: a manager allocates it to a driver or a vehicle's current driver.
		const may_allocate = frappe.user.has_role("TukTuk Manager") || frappe.user.has_role("System Manager");
		if (frm.doc.payment_status !== "Unallocated" || !may_allocate) return;
		frm.add_custom_button(__("Allocate"), () => {
			frappe.prompt(
				[
					{ fieldname: "driver", fieldtype: "Link", options: "TukTuk Driver", label: __("Driver") },
					{
						fieldname: "vehicle",
						fieldtype: "Link",
						options: "TukTuk Vehicle",
						label: __("Or the vehicle's current driver"),
					},
				],
				(values) => {
					frappe.call({
						method: "tuktuk_management.api.corrections.allocate_payment",
						args: { transaction: frm.doc.name, driver: values.driver, vehicle: values.vehicle },
						freeze: true,
						callback: (r) => {
							if (!r.exc) {
								frappe.show_alert({
									message: __("Allocated to {0}", [r.message.driver]),
									indicator: "green",
								});
								frm.reload_doc();
							}
						},
					});
				},
				__("Allocate payment {0}", [frm.doc.name]),
				__("Allocate")
			);
		});
	},
});
