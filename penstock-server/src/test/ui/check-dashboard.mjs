// Opens the Penstock /ui dashboard in headless Chromium, waits until it shows live traffic, and
// leaves screenshots plus a result.json for the Java test to judge. This script only observes:
// it exits 0 whenever it could load the page and wait for data, even if the page logged errors.
//
// usage: node check-dashboard.mjs <dashboardUrl> <outDir> [adminKey]
//   env PENSTOCK_CHROMIUM: the Chromium binary (default /usr/bin/chromium)
//   env PENSTOCK_UI_BATCHES: a JSON array put into every state the page receives as its "batches"
//     field (the gateway's own state passes through otherwise untouched), so that the Batches panel
//     has rows to render without batches running
//
// outDir receives dashboard.png (full page), chart-throughput.png, chart-latency.png,
// chart-queue.png, chart-tokens.png (one per canvas) and result.json:
//   { ok, consoleErrors: [text], failedRequests: [{url, status?, failure?}],
//     deployments: [names rendered], errorsTableRows: n, charts: { id: { width, height } },
//     batches: [{ id, cells: [text of each cell], done, failed, pending }] (the Batches panel's
//     rows, the bar's shares in percent), batchesHidden: whether the panel is hidden }
// On failure: a message on stderr, exit code 1, and (as far as it got) result.json with ok=false
// and an error field, plus dashboard.png for a look at what the page showed.

import { chromium } from 'playwright-core';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const CHART_IDS = ['chart-throughput', 'chart-latency', 'chart-queue', 'chart-tokens'];
const READY_TIMEOUT_MS = 20_000;
const TRAFFIC_TIMEOUT_MS = 30_000;
const TRAFFIC_SECONDS = 5;
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

async function main(argv) {
  if (argv.length < 2 || argv.length > 3) {
    throw new Error('usage: node check-dashboard.mjs <dashboardUrl> <outDir> [adminKey]');
  }
  const [dashboardUrl, outDir, adminKey] = argv;
  await mkdir(outDir, { recursive: true });
  const url = adminKey ? `${dashboardUrl.replace(/#.*$/, '')}#key=${encodeURIComponent(adminKey)}` : dashboardUrl;

  const userDataDir = await mkdtemp(path.join(tmpdir(), 'penstock-chromium-'));
  const result = { ok: false, consoleErrors: [], failedRequests: [], deployments: [], errorsTableRows: 0, charts: {} };
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: process.env.PENSTOCK_CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 1000 },
      deviceScaleFactor: 1,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    watch(page, result);
    if (process.env.PENSTOCK_UI_BATCHES) await stubBatches(page, JSON.parse(process.env.PENSTOCK_UI_BATCHES));
    try {
      await run(page, url, outDir, result);
    } catch (e) {
      result.error = firstLine(e);
      await page.screenshot({ path: path.join(outDir, 'dashboard.png'), fullPage: true }).catch(() => {});
      throw e;
    }
  } finally {
    await writeFile(path.join(outDir, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
    await context?.close().catch(() => {});
    await rm(userDataDir, { recursive: true, force: true }).catch(() => {});
  }
}

/** Collects console errors, uncaught exceptions, and requests that failed or answered >= 400. */
function watch(page, result) {
  page.on('console', (message) => {
    if (message.type() === 'error') result.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => result.consoleErrors.push(`uncaught: ${error.message}`));
  page.on('requestfailed', (request) => {
    result.failedRequests.push({ url: request.url(), failure: request.failure()?.errorText ?? 'unknown' });
  });
  page.on('response', (response) => {
    if (response.status() >= 400) result.failedRequests.push({ url: response.url(), status: response.status() });
  });
}

async function run(page, url, outDir, result) {
  const response = await page.goto(url, { waitUntil: 'load', timeout: READY_TIMEOUT_MS });
  if (!response || !response.ok()) {
    throw new Error(`could not load ${url}: ${response ? `HTTP ${response.status()}` : 'no response'}`);
  }
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: READY_TIMEOUT_MS })
    .catch(async (e) => {
      throw new Error(`the dashboard did not render a state within ${READY_TIMEOUT_MS / 1000} s `
        + `(${await pageStatus(page)}): ${firstLine(e)}`);
    });
  await page.waitForFunction((seconds) => {
    const series = window.__penstockState?.series;
    return Array.isArray(series) && series.filter((p) => p && p.requests > 0).length >= seconds;
  }, TRAFFIC_SECONDS, { timeout: TRAFFIC_TIMEOUT_MS, polling: 250 }).catch(async (e) => {
    throw new Error(`the throughput series did not reach ${TRAFFIC_SECONDS} s with requests within `
      + `${TRAFFIC_TIMEOUT_MS / 1000} s (${await pageStatus(page)}): ${firstLine(e)}`);
  });
  // Let the render of the state that satisfied the wait reach the screen.
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));

  await page.screenshot({ path: path.join(outDir, 'dashboard.png'), fullPage: true });
  for (const id of CHART_IDS) {
    const canvas = page.locator(`#${id}`);
    await canvas.screenshot({ path: path.join(outDir, `${id}.png`) });
    const box = await canvas.boundingBox();
    result.charts[id] = { width: Math.round(box?.width ?? 0), height: Math.round(box?.height ?? 0) };
  }
  result.deployments = await page.$$eval('[data-deployment]', (rows) => rows.map((r) => r.dataset.deployment));
  result.errorsTableRows = await page.locator('#errors tr[data-error-row]').count();
  result.batchesHidden = await page.locator('#batches-card').isHidden();
  result.batches = await page.$$eval('#batches tr[data-batch]', (rows) => rows.map((r) => {
    const bar = r.querySelector('.stack');
    return {
      id: r.dataset.batch,
      cells: [...r.cells].map((c) => c.textContent.trim()),
      done: Number(bar?.dataset.done), failed: Number(bar?.dataset.failed), pending: Number(bar?.dataset.pending),
    };
  }));
  result.ok = true;
}

/** Answers the page's state polls with the gateway's state, its "batches" field replaced. */
async function stubBatches(page, batches) {
  await page.route('**/ui/api/state', async (route) => {
    const response = await route.fetch();
    if (!response.ok()) return route.fulfill({ response });
    const state = await response.json();
    return route.fulfill({ response, json: { ...state, batches } });
  });
}

/** What the page says about itself: its live indicator, and whether it is asking for the key. */
async function pageStatus(page) {
  return page.evaluate(() => {
    const live = document.getElementById('live-text')?.textContent ?? 'no live indicator';
    const asking = document.getElementById('auth')?.hidden === false;
    return `page shows "${live}"${asking ? ', asking for the admin key' : ''}`;
  }).catch((e) => `page state unreadable: ${firstLine(e)}`);
}

/** Playwright's messages continue with a coloured call log; the first line says what failed. */
function firstLine(error) {
  return String(error?.message ?? error).split('\n')[0];
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`check-dashboard: ${firstLine(e)}\n`);
    process.exit(1);
  });
