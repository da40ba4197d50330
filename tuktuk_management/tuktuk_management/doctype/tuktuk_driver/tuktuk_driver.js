// Copyright (c) 2026, tuktuk_management developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("TukTuk Driver", {
	refresh(frm) {
		if (frm.is_new()) {
			return;
		}
		frm.set_intro(
			__(
				"Balances are maintained by the ledger (M-Pesa payments, payouts, daily close) and cannot be edited here."
			),
			"blue"
		);
		const target = (frm.doc.__onload || {}).target_today_kes;
		if (target !== undefined) {
			frm.dashboard.add_indicator(
				__("Target today: {0} (rollover {1}), missed days in a row: {2}", [
					format_currency(target, "KES", 0),
					format_currency(frm.doc.target_rollover || 0, "KES", 0),
					frm.doc.consecutive_misses || 0,
				]),
				(frm.doc.consecutive_misses || 0) > 0 ? "orange" : "blue"
			);
		}
		if (frappe.user.has_role(["TukTuk Manager", "System Manager"])) {
			add_lifecycle_buttons(frm);
			frm.add_custom_button(__("Reconcile Balances"), () => run_reconciliation(frm, 0), __("Ledger"));
			frm.add_custom_button(
				__("Fix Balances From Ledger"),
				() =>
					frappe.confirm(
						__("Set this driver's cached balances to their ledger sums? The change is recorded."),
						() => run_reconciliation(frm, 1)
					),
				__("Ledger")
			);
		}
	},
});

function run_reconciliation(frm, fix) {
	frappe
		.call({
			method: "tuktuk_management.api.reconciliation.run_reconciliation",
			args: { fix: fix, driver: frm.doc.name },
			freeze: true,
		})
		.then((r) => {
			const run = r.message;
			frappe.msgprint({
				title: __("Reconciliation: {0}", [__(run.status)]),
				message: __("Run {0}: {1} discrepancy(ies), {2} KES.", [
					`<a href="/app/tuktuk-reconciliation-run/${run.run}">${run.run}</a>`,
					run.discrepancies.length,
					run.total_discrepancy_kes,
				]),
				indicator: run.status === "Clean" ? "green" : "orange",
			});
			frm.reload_doc();
		});
}

// Onboarding and leaving (tuktuk_management/api/lifecycle.py, docs/onboarding-and-leaving.md).
function add_lifecycle_buttons(frm) {
	if (frm.doc.status === "Terminated") {
		frm.dashboard.set_headline(
			__("Terminated on {0}: {1}", [
				frappe.datetime.str_to_user(frm.doc.terminated_on),
				frappe.utils.escape_html(frm.doc.termination_reason || ""),
			]),
			"red"
		);
		frm.add_custom_button(__("Reinstate"), () => reinstate(frm), __("Driver"));
		return;
	}
	if (!frm.doc.user) {
		frm.add_custom_button(__("Create User"), () => create_user(frm), __("Driver"));
	}
	// A day off or a substitute for this driver: the new document, filled in, to save (and approve).
	frm.add_custom_button(
		__("Day Off"),
		() => frappe.new_doc("TukTuk Day Off", { driver: frm.doc.name }),
		__("Driver")
	);
	if (frm.doc.assigned_tuktuk) {
		frm.add_custom_button(
			__("Substitute"),
			() =>
				frappe.new_doc("TukTuk Substitution", {
					vehicle: frm.doc.assigned_tuktuk,
					regular_driver: frm.doc.name,
				}),
			__("Driver")
		);
	}
	frm.add_custom_button(__("Terminate"), () => preview_termination(frm), __("Driver"));
}

function create_user(frm) {
	const dialog = new frappe.ui.Dialog({
		title: __("Create a login for {0}", [frm.doc.driver_name]),
		fields: [
			{
				fieldname: "email",
				fieldtype: "Data",
				options: "Email",
				label: __("Driver's Email"),
				reqd: 1,
				description: __(
					"Frappe sends a welcome email there with a link to set the password. The user gets the TukTuk Driver role (the driver portal, no desk)."
				),
			},
		],
		primary_action_label: __("Create User"),
		primary_action(values) {
			frappe
				.call({
					method: "tuktuk_management.api.lifecycle.create_driver_user",
					args: { driver: frm.doc.name, email: values.email },
					freeze: true,
				})
				.then((r) => {
					dialog.hide();
					frappe.msgprint({
						title: __("Driver's User"),
						message: r.message.message,
						indicator: r.message.created ? "green" : "blue",
					});
					frm.reload_doc();
				});
		},
	});
	dialog.show();
}

function kes(amount) {
	return format_currency(amount || 0, "KES", 0);
}

function close_outcome(close) {
	if (close.status === "Already Closed") {
		return __("Today is already closed.");
	}
	if (close.status !== "Closed") {
		return __("Not judged (the driver is not Active).");
	}
	const result = close.target_met
		? __("met")
		: __("missed by {0}", [kes(close.shortfall_kes)]);
	let text = __("Target {0}, collected {1}: {2}", [kes(close.target_kes), kes(close.collected_kes), result]);
	if (close.deposit_deducted_kes) {
		text += " " + __("({0} taken from the deposit)", [kes(close.deposit_deducted_kes)]);
	}
	return text;
}

function deductions_html(deposit) {
	const escape = frappe.utils.escape_html;
	const rows = deposit.deductions.map((d) => {
		const link = `/app/${frappe.router.slug(d.voucher_type)}/${encodeURIComponent(d.voucher_no)}`;
		return (
			`<tr><td>${escape(d.posting_datetime.slice(0, 10))}</td>` +
			`<td>${escape(__(d.voucher_type))} <a href="${link}">${escape(d.voucher_no)}</a></td>` +
			`<td class="text-right">${kes(d.amount_kes)}</td></tr>`
		);
	});
	const body = rows.length ? rows.join("") : `<tr><td class="text-muted">${__("No deductions.")}</td></tr>`;
	const summary = __("Deposit paid in {0}, taken out {1}. Deductions on record:", [
		kes(deposit.paid_in_kes),
		kes(deposit.taken_out_kes),
	]);
	return `<p class="text-muted small">${summary}</p><table class="table table-bordered table-condensed small">${body}</table>`;
}

function preview_html(preview) {
	const s = preview.settlement || {};
	const escape = frappe.utils.escape_html;
	const rows = [
		[__("Final daily close ({0})", [preview.close.business_date]), escape(close_outcome(preview.close))],
		[__("Payout pending"), kes(s.payable_kes)],
		[__("Deposit balance (after deductions)"), kes(s.deposit_kes)],
		[__("Deposit refund (never below zero)"), `<b>${kes(s.refund_kes)}</b>`],
		[__("Already with M-Pesa (settles by itself)"), kes(s.in_flight_kes)],
		[__("Final payout to the driver's M-Pesa"), `<b>${kes(s.payout_kes)}</b>`],
		[__("Vehicle freed"), escape(preview.vehicle || __("none"))],
		[__("Login"), escape(preview.user_action || "")],
	];
	if ((preview.cancelled_payouts || []).length) {
		rows.splice(6, 0, [__("Payouts replaced by the final payout"), preview.cancelled_payouts.length]);
	}
	const table = rows.map(([label, value]) => `<tr><td>${label}</td><td class="text-right">${value}</td></tr>`);
	return (
		`<table class="table table-bordered table-condensed">${table.join("")}</table>` +
		deductions_html(preview.deposit || { deductions: [] })
	);
}

function preview_termination(frm) {
	frappe
		.call({
			method: "tuktuk_management.api.lifecycle.preview_termination",
			args: { driver: frm.doc.name },
			freeze: true,
		})
		.then((r) => {
			const preview = r.message;
			if (preview.status === "Already Terminated") {
				frappe.msgprint(__("Driver {0} is already terminated.", [frm.doc.name]));
				return;
			}
			const dialog = new frappe.ui.Dialog({
				title: __("Terminate {0} ({1})", [frm.doc.driver_name, frm.doc.name]),
				size: "large",
				fields: [
					{ fieldname: "preview", fieldtype: "HTML", options: preview_html(preview) },
					{ fieldname: "reason", fieldtype: "Small Text", label: __("Reason"), reqd: 1 },
				],
				primary_action_label: __("Terminate"),
				primary_action(values) {
					terminate(frm, dialog, values.reason);
				},
			});
			dialog.get_primary_btn().removeClass("btn-primary").addClass("btn-danger");
			dialog.show();
		});
}

function terminate(frm, dialog, reason) {
	frappe
		.call({
			method: "tuktuk_management.api.lifecycle.terminate_driver",
			args: { driver: frm.doc.name, reason: reason },
			freeze: true,
		})
		.then((r) => {
			dialog.hide();
			frappe.msgprint({ title: __("Terminated"), message: r.message.message, indicator: "red" });
			frm.reload_doc();
		});
}

function reinstate(frm) {
	frappe.confirm(
		__(
			"Reinstate {0}? The driver becomes Inactive (not Active: a deposit may be required first) and the login is enabled again.",
			[frm.doc.name]
		),
		() =>
			frappe
				.call({
					method: "tuktuk_management.api.lifecycle.reinstate_driver",
					args: { driver: frm.doc.name },
					freeze: true,
				})
				.then((r) => {
					frappe.show_alert({ message: r.message.message, indicator: "green" });
					frm.reload_doc();
				})
	);
}
