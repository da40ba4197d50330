// Copyright (c) 2026, tuktuk_management developers and contributors
// For license information, please see license.txt

// Allocate: tick a payment, choose the driver (or the vehicle whose active driver gets it), and
// the payment is re-posted from suspense in one atomic voucher by the corrections API.
frappe.query_reports["Unallocated Payments"] = {
	filters: [],
	get_datatable_options(options) {
		return Object.assign(options, { checkboxColumn: true });
	},
	onload(report) {
		frappe.xcall("tuktuk_management.api.dashboard.desk_context").then((context) => {
			if (!context.actions.allocate_payment || !context.can_move_money) return;
			report.page.add_inner_button(__("Allocate"), () => tuktuk_allocate(report));
		});
	},
};

function tuktuk_checked_rows(report) {
	const datatable = report.datatable;
	if (!datatable) return [];
	return datatable.rowmanager.getCheckedRows().map((index) => datatable.datamanager.data[index]);
}

function tuktuk_allocate(report) {
	const rows = tuktuk_checked_rows(report);
	if (rows.length !== 1) {
		frappe.msgprint(__("Tick exactly one payment to allocate."));
		return;
	}
	const row = rows[0];
	const dialog = new frappe.ui.Dialog({
		title: __("Allocate {0} (KES {1})", [row.transaction, format_number(row.amount, null, 0)]),
		fields: [
			{ fieldname: "driver", label: __("Driver"), fieldtype: "Link", options: "TukTuk Driver" },
			{
				fieldname: "vehicle",
				label: __("Or Vehicle (its active driver)"),
				fieldtype: "Link",
				options: "TukTuk Vehicle",
				default: row.tuktuk,
			},
		],
		primary_action_label: __("Allocate"),
		primary_action(values) {
			if (!values.driver && !values.vehicle) {
				frappe.msgprint(__("Choose a driver or a vehicle."));
				return;
			}
			frappe
				.xcall("tuktuk_management.api.corrections.allocate_payment", {
					transaction: row.transaction,
					driver: values.driver || null,
					vehicle: values.driver ? null : values.vehicle || null,
				})
				.then(() => {
					dialog.hide();
					frappe.show_alert({ message: __("Payment allocated"), indicator: "green" });
					report.refresh();
				});
		},
	});
	dialog.show();
}
