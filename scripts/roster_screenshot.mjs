// Browser check of the Driver Roster report: logs in as a manager, opens the report for the
// fixture's dates, compares every cell of the fixture's drivers with the roster the fixture
// computed (ledger/roster.py), and saves docs/screenshots/roster.png. Exits 1 on a mismatch.
//
//   bench --site SITE execute tuktuk_management.tests.roster_check.setup > /tmp/roster.json
//   NODE_PATH=.browser/node_modules node scripts/roster_screenshot.mjs \
//     --url http://SITE:8002 --fixtures /tmp/roster.json --out docs/screenshots
import { join } from "node:path";

import { launchChromium, login, readFixtures, siteAndOut } from "./browser.mjs";

const { base, out } = siteAndOut();
const fixtures = readFixtures("/tmp/roster.json");
const browser = await launchChromium(base);
const context = await browser.newContext({ viewport: { width: 1800, height: 600 }, deviceScaleFactor: 1 });
// Full width (the desk's own toggle), set before the report lays out its table.
await context.addInitScript(() =>
	document.addEventListener("DOMContentLoaded", () => {
		const style = document.createElement("style");
		style.textContent = ".container { max-width: 100% !important; }";
		document.head.appendChild(style);
	})
);
const page = await context.newPage();
await login(page, base, fixtures.user, fixtures.password);
await page.goto(`${base}/app/query-report/Driver Roster?from_date=${fixtures.from_date}&days=7`);
await page.waitForSelector(".dt-scrollable .dt-row", { timeout: 90000 });
await page.waitForTimeout(1500);
const shown = await page.$$eval(".dt-scrollable .dt-row", (rows) =>
	rows.map((row) => [...row.querySelectorAll(".dt-cell__content")].map((cell) => cell.textContent.trim()))
);
const failures = [];
for (const [name, cells] of Object.entries(fixtures.cells)) {
	const row = shown.find((r) => r.includes(name));
	if (!row) {
		failures.push(`${name}: not shown`);
		continue;
	}
	const tail = row.slice(-cells.length);
	if (JSON.stringify(tail) !== JSON.stringify(cells)) failures.push(`${name}: ${tail} != ${cells}`);
}
await page.screenshot({ path: join(out, "roster.png") });
console.log(join(out, "roster.png"), failures.length ? failures : "cells match");
await browser.close();
process.exit(failures.length ? 1 : 0);
