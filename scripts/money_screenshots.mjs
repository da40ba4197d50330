// Screenshots of deposits and payouts on the desk (docs/deposits-and-payouts.md) from a running
// site, with headless Chromium: the driver form's Money menu and Pay Now dialog, a Deposit Entry,
// the Deposit report (who owes what, one driver's history), a waiting withdrawal request.
//
//   bash scripts/setup_browser.sh
//   NODE_PATH=.browser/node_modules node scripts/money_screenshots.mjs \
//     --url http://money.localhost:8004 --password admin --driver D000001 --out docs/screenshots
//
// The site is seeded with the sample day (tuktuk_management.demo.load_sample_day), a few Deposit
// Entries, some cancelled payouts (so there is money to pay now) and one waiting request.
import { join } from "node:path";

import { launchChromium, login, option, siteAndOut } from "./browser.mjs";

const { base, out } = siteAndOut();
const password = option("password", "admin");
const driver = option("driver", "D000001");

const browser = await launchChromium(base);
const page = await browser.newPage({ viewport: { width: 1440, height: 1000 }, deviceScaleFactor: 1 });

await login(page, base, "Administrator", password);

async function settle(ms = 2500) {
	await page.waitForLoadState("networkidle").catch(() => {});
	await page.waitForTimeout(ms);
}

async function shot(name, height) {
	if (height) await page.setViewportSize({ width: 1440, height });
	await page.addStyleTag({ content: ".page-head { position: static !important; }" });
	await page.waitForTimeout(500);
	const path = join(out, `${name}.png`);
	await page.screenshot({ path });
	console.log(path);
}

// Driver form: the Money menu open, then the Pay Now dialog with payable and available.
await page.setViewportSize({ width: 1440, height: 900 });
await page.goto(`${base}/app/tuktuk-driver/${encodeURIComponent(driver)}`);
await settle();
await page.click('.inner-group-button[data-label="Money"] button');
await page.waitForTimeout(800);
await shot("driver_money_menu");
await page.click('.inner-group-button[data-label="Money"] .dropdown-item[data-label="Pay%20Now"]');
await page.waitForSelector(".modal.show .modal-dialog", { timeout: 30000 });
await settle(1500);
await shot("pay_now_dialog");

// A submitted damage charge.
const entries = await page.evaluate(() =>
	frappe.xcall("frappe.client.get_list", {
		doctype: "TukTuk Deposit Entry",
		filters: { kind: "Damage Charge", docstatus: 1 },
		limit_page_length: 1,
	})
);
if (entries.length) {
	await page.goto(`${base}/app/tuktuk-deposit-entry/${encodeURIComponent(entries[0].name)}`);
	await settle();
	await shot("deposit_entry", 800);
}

// The Deposit report: who owes what, then one driver's deposit history.
await page.goto(`${base}/app/query-report/Deposit`);
await page.waitForSelector(".dt-row", { timeout: 60000 }).catch(() => {});
await settle(3000);
await shot("deposit_report", 900);
await page.goto(`${base}/app/query-report/Deposit?driver=D000002`);
await settle(1500);
await page.evaluate(() => frappe.query_report.refresh());
await page.waitForSelector(".dt-row", { timeout: 60000 }).catch(() => {});
await settle(3000);
await shot("deposit_history", 700);

// A withdrawal request waiting for a manager: Approve and Pay, Reject.
const waiting = await page.evaluate(() =>
	frappe.xcall("frappe.client.get_list", {
		doctype: "TukTuk Withdrawal Request",
		filters: { status: "Requested" },
		limit_page_length: 1,
	})
);
if (waiting.length) {
	await page.goto(`${base}/app/tuktuk-withdrawal-request/${encodeURIComponent(waiting[0].name)}`);
	await settle();
	await shot("withdrawal_request", 800);
}

await browser.close();
