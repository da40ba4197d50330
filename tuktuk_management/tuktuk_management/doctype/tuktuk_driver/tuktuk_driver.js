// Copyright (c) 2026, tuktuk_management developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("TukTuk Driver", {
	refresh(frm) {
		if (!frm.is_new()) {
			frm.set_intro(
				__(
					"Balances are maintained by the ledger (M-Pesa payments, payouts, daily close) and cannot be edited here."
				),
				"blue"
			);
		}
	},
});
