// Browser check of the Driver Roster report: logs in as a manager, opens the report for the
// fixture's dates, compares every cell of the fixture's drivers with the roster the fixture
// computed (ledger/roster.py), and saves docs/screenshots/roster.png. Exits 1 on a mismatch.
//
//   bench --site SITE execute tuktuk_management.tests.roster_check.setup > /tmp/roster.json
//   NODE_PATH=.browser/node_modules node scripts/roster_screenshot.mjs \
//     --url http://SITE:8002 --fixtures /tmp/roster.json --out docs/screenshots
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

function option(name, fallback) {
	const index = process.argv.indexOf(`--${name}`);
	return index > 0 ? process.argv[index + 1] : fallback;
}

const base = option("url", "http://localhost:8000").replace(/\/$/, "");
const fixtures = JSON.parse(readFileSync(option("fixtures", "/tmp/roster.json"), "utf8").trim().split("\n").pop());
const out = option("out", "docs/screenshots");
const host = new URL(base).hostname;
mkdirSync(out, { recursive: true });
const browser = await chromium.launch({
	executablePath: option("chromium", "/usr/bin/chromium"),
	args: ["--no-sandbox", `--host-resolver-rules=MAP ${host} 127.0.0.1`],
});
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
await page.goto(`${base}/login`);
const status = await page.evaluate(
	async ([usr, pwd]) =>
		(
			await fetch("/api/method/login", {
				method: "POST",
				headers: { "Content-Type": "application/json", Accept: "application/json" },
				body: JSON.stringify({ usr, pwd }),
			})
		).status,
	[fixtures.user, fixtures.password]
);
if (status !== 200) throw new Error(`login failed: HTTP ${status}`);
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
