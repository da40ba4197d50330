// Screenshots of the statement reconciliation in the desk (docs/screenshots/), headless Chromium.
//
// Needs playwright-core (npm, no browser download: the system Chromium) and a site with the
// sample day and its statement:
//
//   bench --site SITE execute tuktuk_management.demo.load_sample_day --kwargs '{"as_today": 0}'
//   bench --site SITE execute tuktuk_management.demo.load_sample_statement   # prints the import
//   npm install --prefix /tmp/shots playwright-core
//   NODE_PATH=/tmp/shots/node_modules node scripts/statement_screenshots.mjs \
//     --url http://i15.localhost:8004 --password admin --import IMPORT_NAME --out docs/screenshots
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

function option(name, fallback) {
	const index = process.argv.indexOf(`--${name}`);
	return index > 0 ? process.argv[index + 1] : fallback;
}

const base = option("url", "http://localhost:8000").replace(/\/$/, "");
const password = option("password", "admin");
const statementImport = option("import", "");
const out = option("out", "docs/screenshots");
const executablePath = option("chromium", "/usr/bin/chromium");
const host = new URL(base).hostname;

mkdirSync(out, { recursive: true });
const browser = await chromium.launch({
	executablePath,
	args: ["--no-sandbox", `--host-resolver-rules=MAP ${host} 127.0.0.1`],
});
const page = await browser.newPage({ viewport: { width: 1440, height: 1000 }, deviceScaleFactor: 1 });
await page.goto(`${base}/login`);
const login = await page.evaluate(async (pwd) => {
	const response = await fetch("/api/method/login", {
		method: "POST",
		headers: { "Content-Type": "application/json", Accept: "application/json" },
		body: JSON.stringify({ usr: "Administrator", pwd }),
	});
	return response.status;
}, password);
if (login !== 200) throw new Error(`login failed: HTTP ${login}`);

async function shot(name, height) {
	await page.setViewportSize({ width: 1440, height });
	await page.waitForLoadState("networkidle").catch(() => {});
	await page.waitForTimeout(3000);
	await page.addStyleTag({ content: ".page-head { position: static !important; }" });
	await page.evaluate(() => window.scrollTo(0, 0));
	await page.waitForTimeout(500);
	const path = join(out, `${name}.png`);
	await page.screenshot({ path });
	console.log(path);
}

await page.goto(
	`${base}/app/query-report/Statement Reconciliation?statement_import=${encodeURIComponent(statementImport)}`
);
await page.waitForSelector(".dt-row", { timeout: 60000 }).catch(() => {});
await shot("statement_reconciliation", 900);

await page.goto(`${base}/app/tuktuk-statement-import/${encodeURIComponent(statementImport)}`);
await page.waitForSelector(".form-layout", { timeout: 60000 }).catch(() => {});
await shot("statement_import", 1000);

await browser.close();
