// Copyright (c) 2026, tuktuk_management developers and contributors
// For license information, please see license.txt

// Retry re-queues a Failed/Unknown payout (the payouts API checks the Transaction Status first,
// so a driver is never paid twice); Cancel stops it with a reason. Tick one payout first.
frappe.query_reports["Payout Monitor"] = {
	filters: [
		{
			fieldname: "status",
			label: __("Status"),
			fieldtype: "Select",
			options: ["Needs Attention", "Queued", "Sent", "Paid", "Failed", "Unknown", "Cancelled"],
			default: "Needs Attention",
		},
		{
			fieldname: "stuck_after_minutes",
			label: __("Stuck After (minutes)"),
			fieldtype: "Int",
			default: 30,
		},
	],
	get_datatable_options(options) {
		return Object.assign(options, { checkboxColumn: true });
	},
	formatter(value, row, column, data, default_formatter) {
		value = default_formatter(value, row, column, data);
		if (column.fieldname === "status" && data) {
			const colour = {
				Queued: "blue",
				Sent: "cyan",
				Paid: "green",
				Failed: "red",
				Unknown: "orange",
				Cancelled: "gray",
			}[data.status];
			value = `<span class="indicator-pill ${colour || "gray"}">${value}</span>`;
		}
		return value;
	},
	onload(report) {
		frappe.xcall("tuktuk_management.api.dashboard.desk_context").then((context) => {
			if (!context.can_move_money) return;
			if (context.actions.retry_payout) {
				report.page.add_inner_button(__("Retry"), () => tuktuk_payout_action(report, "retry"));
			}
			if (context.actions.cancel_payout) {
				report.page.add_inner_button(__("Cancel Payout"), () =>
					tuktuk_payout_action(report, "cancel")
				);
			}
		});
	},
};

function tuktuk_payout_action(report, action) {
	const datatable = report.datatable;
	const rows = datatable
		? datatable.rowmanager.getCheckedRows().map((index) => datatable.datamanager.data[index])
		: [];
	if (rows.length !== 1) {
		frappe.msgprint(__("Tick exactly one payout."));
		return;
	}
	const payout = rows[0].payout;
	const done = () => {
		frappe.show_alert({ message: __("Payout {0} updated", [payout]), indicator: "green" });
		report.refresh();
	};
	if (action === "retry") {
		frappe.confirm(__("Retry payout {0} of KES {1}?", [payout, rows[0].amount]), () =>
			frappe.xcall("tuktuk_management.api.payouts.retry_payout", { payout }).then(done)
		);
		return;
	}
	frappe.prompt(
		{ fieldname: "reason", label: __("Reason"), fieldtype: "Small Text", reqd: 1 },
		(values) =>
			frappe
				.xcall("tuktuk_management.api.payouts.cancel_payout", { payout, reason: values.reason })
				.then(done),
		__("Cancel payout {0}", [payout]),
		__("Cancel Payout")
	);
}
