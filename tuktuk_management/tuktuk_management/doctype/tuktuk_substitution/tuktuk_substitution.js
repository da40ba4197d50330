// TukTuk Substitution: pick the vehicle, its regular driver is filled in; only Active drivers can
// substitute. Cancelling sets the status to Cancelled (the record stays as history).
frappe.ui.form.on("TukTuk Substitution", {
	setup(frm) {
		frm.set_query("regular_driver", () => ({
			filters: frm.doc.vehicle ? { assigned_tuktuk: frm.doc.vehicle } : {},
		}));
		frm.set_query("substitute", () => ({
			filters: { status: "Active", name: ["!=", frm.doc.regular_driver || ""] },
		}));
	},

	async vehicle(frm) {
		if (!frm.doc.vehicle) return;
		const { message } = await frappe.db.get_value(
			"TukTuk Driver",
			{ assigned_tuktuk: frm.doc.vehicle, status: "Active" },
			"name"
		);
		frm.set_value("regular_driver", (message && message.name) || "");
	},

	refresh(frm) {
		if (frm.is_new() || frm.doc.status !== "Active") return;
		frm.add_custom_button(__("Cancel Substitution"), () => {
			frappe.confirm(
				__("Cancel this substitution? From now on payments to {0} go to its assigned driver.", [
					frm.doc.vehicle,
				]),
				async () => {
					await frm.set_value("status", "Cancelled");
					await frm.save();
				}
			);
		});
	},
});
