// Screenshots of the desk from a running site with headless Chromium (docs/screenshots/).
//
// Drives a browser only; it builds nothing. Needs the npm package playwright-core (no browser
// download: it uses the system Chromium) and a site seeded with the sample day
// (`bench --site SITE execute tuktuk_management.demo.load_sample_day`):
//
//   npm install --prefix /tmp/shots playwright-core
//   NODE_PATH=/tmp/shots/node_modules node scripts/desk_screenshots.mjs \
//     --url http://i7.localhost:8007 --password admin --driver D000001 --out docs/screenshots
//
// A *.localhost host name is mapped to 127.0.0.1 inside Chromium.
import { join } from "node:path";

import { launchChromium, login, option, siteAndOut } from "./browser.mjs";

const { base, out } = siteAndOut();
const user = option("user", "Administrator");
const password = option("password", "admin");
const driver = option("driver", "D000001");

const browser = await launchChromium(base);
const page = await browser.newPage({ viewport: { width: 1440, height: 1000 }, deviceScaleFactor: 1 });

// A tall window instead of a full-page capture: the desk's sticky header then stays on top.
async function tall(height) {
	await page.setViewportSize({ width: 1440, height });
}

await login(page, base, user, password);

async function settle(ms = 2500) {
	await page.waitForLoadState("networkidle").catch(() => {});
	await page.waitForTimeout(ms);
}

async function shot(name) {
	// Without the bench's nginx the desk renders no top navbar; the sticky page head would then
	// cover the first lines of the page, so it is laid out in the flow for the capture.
	await page.addStyleTag({ content: ".page-head { position: static !important; }" });
	await page.evaluate(() => window.scrollTo(0, 0));
	await page.waitForTimeout(500);
	const path = join(out, `${name}.png`);
	await page.screenshot({ path });
	console.log(path);
}

// Workspace: wait until every number card has its figure and the charts have drawn.
await tall(1800);
await page.goto(`${base}/app/tuktuk`);
await page.waitForSelector(".number-widget-box", { timeout: 60000 });
await page
	.waitForFunction(
		() =>
			[...document.querySelectorAll(".number-widget-box")].every(
				(card) => !card.querySelector(".number-card-loading")
			),
		null,
		{ timeout: 60000 }
	)
	.catch(() => {});
await page.waitForSelector(".widget.dashboard-widget-box .chart-container svg", { timeout: 60000 }).catch(() => {});
await settle();
await shot("workspace");

// Driver form: the target progress and the latest payments section.
await tall(1400);
await page.goto(`${base}/app/tuktuk-driver/${encodeURIComponent(driver)}`);
await page.waitForSelector(".form-dashboard .progress", { timeout: 60000 }).catch(() => {});
await settle();
await shot("driver_form");

// Driver Statement for that driver (last 30 days to today).
await tall(1300);
await page.goto(`${base}/app/query-report/Driver Statement?driver=${encodeURIComponent(driver)}`);
await settle(1500);
// The first run may start before the Link filter has taken the driver: run it again.
await page.evaluate(() => frappe.query_report.refresh());
await page.waitForSelector(".dt-row", { timeout: 60000 }).catch(() => {});
await settle(3500);
await shot("driver_statement");

// The driver list with its target indicators, and the two exception reports.
await tall(900);
await page.goto(`${base}/app/tuktuk-driver`);
await page.waitForSelector(".list-row-container .indicator-pill", { timeout: 60000 }).catch(() => {});
await settle();
await shot("driver_list");

await page.goto(`${base}/app/tuktuk-payout`);
await page.waitForSelector(".list-row-container .indicator-pill", { timeout: 60000 }).catch(() => {});
await settle();
await shot("payout_list");

for (const [name, report, query] of [
	["unallocated_payments", "Unallocated Payments", ""],
	["daily_collections", "Daily Collections", ""],
	["payout_monitor", "Payout Monitor", "?status=Queued"],
]) {
	await tall(1100);
	await page.goto(`${base}/app/query-report/${report}${query}`);
	await page.waitForSelector(".dt-row", { timeout: 60000 }).catch(() => {});
	await settle(3000);
	await shot(name);
}

await browser.close();
