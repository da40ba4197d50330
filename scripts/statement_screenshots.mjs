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
import { join } from "node:path";

import { launchChromium, login, option, siteAndOut } from "./browser.mjs";

const { base, out } = siteAndOut();
const password = option("password", "admin");
const statementImport = option("import", "");

const browser = await launchChromium(base);
const page = await browser.newPage({ viewport: { width: 1440, height: 1000 }, deviceScaleFactor: 1 });
await login(page, base, "Administrator", password);

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
