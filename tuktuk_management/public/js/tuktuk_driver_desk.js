// Copyright (c) 2026, tuktuk_management developers and contributors
// For license information, please see license.txt

// The desk's part of the TukTuk Driver form (loaded through hooks.doctype_js, after the DocType's
// own script, which keeps the ledger banner): today's target progress, balances, latest payments,
// the Driver Statement button and, for managers, a reconcile button unless the form has one.

frappe.ui.form.on("TukTuk Driver", {
	refresh(frm) {
		tuktuk_mark_ledger_fields(frm);
		if (frm.is_new()) return;
		frm.add_custom_button(__("Driver Statement"), () => {
			frappe.set_route("query-report", "Driver Statement", { driver: frm.doc.name });
		});
		frappe
			.xcall("tuktuk_management.api.dashboard.driver_overview", { driver: frm.doc.name })
			.then((overview) => tuktuk_show_overview(frm, overview));
	},
});

function tuktuk_mark_ledger_fields(frm) {
	// Fields the ledger maintains (payments, payouts, daily close); read-only on the form.
	[
		"current_balance",
		"left_to_target",
		"current_deposit_balance",
		"payout_pending",
		"consecutive_misses",
		"target_rollover",
		"last_close_date",
	].forEach((fieldname) => {
		if (!frm.fields_dict[fieldname]) return;
		frm.set_df_property(fieldname, "read_only", 1);
		frm.set_df_property(fieldname, "description", __("Maintained by the ledger; read-only."));
	});
}

function tuktuk_kes(amount) {
	return format_currency(amount, "KES", 0);
}

function tuktuk_show_overview(frm, overview) {
	const target = overview.target_kes;
	const collected = overview.collected_kes;
	const percent = target > 0 ? Math.min(100, (100 * collected) / target) : 100;
	let message = __("Collected {0} of {1} today", [tuktuk_kes(collected), tuktuk_kes(target)]);
	if (overview.rollover_kes) {
		message += " " + __("(base {0} + rollover {1})", [
			tuktuk_kes(overview.base_target_kes),
			tuktuk_kes(overview.rollover_kes),
		]);
	}
	frm.dashboard.add_progress(__("Today's Target"), percent, message);

	// 0 = no miss-limit alert (the core rule, ledger.settings.at_miss_limit)
	if (overview.miss_limit > 0 && overview.consecutive_misses >= overview.miss_limit) {
		frm.dashboard.set_headline_alert(
			__("{0} consecutive missed days: at the miss limit ({1}).", [
				overview.consecutive_misses,
				overview.miss_limit,
			]),
			"red"
		);
	} else if (overview.left_to_target_kes <= 0) {
		frm.dashboard.set_headline_alert(__("On target today."), "green");
	} else {
		frm.dashboard.set_headline_alert(
			__("{0} left to today's target.", [tuktuk_kes(overview.left_to_target_kes)]),
			"orange"
		);
	}

	const figures = [
		[__("Deposit"), tuktuk_kes(overview.deposit_kes)],
		[__("Payable (not yet paid out)"), tuktuk_kes(overview.payable_kes)],
		[
			__("Missed days in a row"),
			overview.miss_limit > 0
				? `${overview.consecutive_misses} / ${overview.miss_limit}`
				: `${overview.consecutive_misses}`,
		],
	]
		.map(
			([label, value]) =>
				`<div class="col-sm-4"><div class="text-muted small">${label}</div><div class="h5">${value}</div></div>`
		)
		.join("");
	const payments = overview.latest_payments
		.map(
			(p) => `<tr>
				<td><a href="/app/tuktuk-transaction/${encodeURIComponent(p.transaction)}">${frappe.utils.escape_html(p.transaction)}</a></td>
				<td>${frappe.datetime.str_to_user(p.timestamp)}</td>
				<td>${__(p.transaction_type)}</td>
				<td class="text-right">${tuktuk_kes(p.amount_kes)}</td>
				<td class="text-right">${tuktuk_kes(p.target_contribution_kes)}</td>
				<td class="text-right">${tuktuk_kes(p.driver_share_kes)}</td>
				<td class="text-right">${tuktuk_kes(p.deposit_contribution_kes)}</td>
			</tr>`
		)
		.join("");
	const table = payments
		? `<table class="table table-sm table-bordered small" style="margin-top: var(--margin-md)">
			<thead><tr><th>${__("Payment")}</th><th>${__("Paid At")}</th><th>${__("Type")}</th>
			<th class="text-right">${__("Amount")}</th><th class="text-right">${__("Target")}</th>
			<th class="text-right">${__("Driver Share")}</th><th class="text-right">${__("Deposit")}</th></tr></thead>
			<tbody>${payments}</tbody></table>`
		: `<p class="text-muted small">${__("No payments yet.")}</p>`;
	frm.dashboard.add_section(
		`<div class="row">${figures}</div>${table}`,
		__("Balances and Latest Payments")
	);
	frm.dashboard.show();

	const has_reconcile = frm.custom_buttons && frm.custom_buttons[__("Reconcile Balances")];
	if (overview.actions.run_reconciliation && overview.can_move_money && !has_reconcile) {
		frm.add_custom_button(__("Reconcile This Driver"), () => {
			frappe
				.xcall("tuktuk_management.api.reconciliation.run_reconciliation", {
					driver: frm.doc.name,
					fix: 0,
				})
				.then((result) => {
					frappe.msgprint({
						title: __("Reconciliation of {0}", [frm.doc.name]),
						message: `<pre>${frappe.utils.escape_html(JSON.stringify(result, null, 2))}</pre>`,
					});
					frm.reload_doc();
				});
		});
	}
}
