// The Batch API (docs/batches.md) end to end through the official OpenAI Node SDK, against a running
// gateway (NodeSdkBatchesTest starts it and the simulator, and makes the key). What a service does
// with OpenAI's Batch API, done against Penstock: upload a JSONL file of chat lines, create a batch
// of it, poll it to a terminal status, download the output (and error) file and find every
// custom_id exactly once; list batches one per page through the SDK's cursor pagination; create a
// second batch and cancel it.
//
// usage: node batches.mjs
//   env PENSTOCK_BASE_URL   the gateway's /v1 base URL
//       PENSTOCK_KEY        the virtual key the batches belong to
//       BATCH_MODEL         the model the lines name (default gpt-4o-mini)
//       BATCH_LINES         lines of the first batch (default 50)
//       CANCEL_LINES        lines of the batch that is cancelled (default 2000: still running when
//                           the cancel arrives)
//
// Prints one JSON object on stdout,
//   {ok, node, sdk, ms, checks: [{name, ok, detail}], batchId, cancelBatchId, status, counts,
//    customIdsOk, listedIds, pages, cancelStatus, cancelFinalStatus}
// and exits 0 only when every check passed. Every request is bounded by the SDK's timeout, each
// poll by POLL_TIMEOUT_MS, and the whole run by a watchdog.

import OpenAI, { toFile } from 'openai';
import { VERSION } from 'openai/version';

const REQUEST_TIMEOUT_MS = 15_000;
const POLL_TIMEOUT_MS = 120_000;
const POLL_EVERY_MS = 250;
const RUN_TIMEOUT_MS = 300_000;
const MAX_PAGES = 100;
const TERMINAL = new Set(['completed', 'failed', 'expired', 'cancelled']);

const started = performance.now();
const checks = [];
const verdict = {
  batchId: null, cancelBatchId: null, status: null, counts: null, customIdsOk: false,
  listedIds: [], pages: 0, cancelStatus: null, cancelFinalStatus: null,
};
let reported = false;

function report() {
  if (reported) return;
  reported = true;
  const ok = checks.length > 0 && checks.every((c) => c.ok);
  process.stdout.write(`${JSON.stringify({
    ok, node: process.version, sdk: VERSION, ms: Math.round(performance.now() - started), checks, ...verdict,
  })}\n`);
  process.exitCode = ok ? 0 : 1;
}

setTimeout(() => {
  checks.push({ name: 'watchdog', ok: false, detail: `the checks did not finish within ${RUN_TIMEOUT_MS} ms` });
  report();
  process.exit(1);
}, RUN_TIMEOUT_MS).unref();

function env(name, fallback) {
  const value = process.env[name] ?? fallback;
  if (!value) throw new Error(`env ${name} is not set`);
  return value;
}

async function check(name, body) {
  try {
    const detail = await body();
    checks.push({ name, ok: true, detail: detail ?? '' });
    return true;
  } catch (e) {
    checks.push({ name, ok: false, detail: describe(e) });
    return false;
  }
}

function describe(e) {
  if (e instanceof OpenAI.APIError && e.status !== undefined) {
    return `${e.constructor.name} status=${e.status} type=${e.type} code=${e.code}: ${e.message}`;
  }
  if (e instanceof Error && e.cause instanceof Error) {
    return `${e.constructor.name}: ${e.message} (${e.cause.message})`;
  }
  return e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e);
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `count` chat lines, custom_ids `${prefix}-0`..., as a JSONL upload. */
async function jsonl(prefix, count, model) {
  const ids = [];
  const lines = [];
  for (let i = 0; i < count; i++) {
    const id = `${prefix}-${i}`;
    ids.push(id);
    lines.push(JSON.stringify({
      custom_id: id, method: 'POST', url: '/v1/chat/completions',
      body: { model, messages: [{ role: 'user', content: `Line ${i} of ${prefix}: say something.` }], max_tokens: 16 },
    }));
  }
  const text = `${lines.join('\n')}\n`;
  return { ids, bytes: Buffer.byteLength(text), file: await toFile(Buffer.from(text, 'utf8'), `${prefix}.jsonl`, { type: 'application/jsonl' }) };
}

/** Retrieves the batch until its status is terminal; throws after POLL_TIMEOUT_MS. */
async function untilTerminal(client, id) {
  const deadline = Date.now() + POLL_TIMEOUT_MS;
  const seen = [];
  for (;;) {
    const batch = await client.batches.retrieve(id);
    if (seen[seen.length - 1] !== batch.status) seen.push(batch.status);
    if (TERMINAL.has(batch.status)) return { batch, seen };
    if (Date.now() > deadline) {
      throw new Error(`batch ${id} still ${batch.status} after ${POLL_TIMEOUT_MS} ms (statuses ${seen.join(' > ')}, counts ${JSON.stringify(batch.request_counts)})`);
    }
    await sleep(POLL_EVERY_MS);
  }
}

/** The JSONL lines of a file, parsed. */
async function lines(client, fileId) {
  const response = await client.files.content(fileId);
  const text = await response.text();
  return text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line));
}

/** Each custom_id of `lines` counted; throws on one not submitted. */
function tally(lines, submitted, into = new Map()) {
  const known = new Set(submitted);
  for (const line of lines) {
    expect(known.has(line.custom_id), `a line for custom_id ${JSON.stringify(line.custom_id)}, never submitted`);
    into.set(line.custom_id, (into.get(line.custom_id) ?? 0) + 1);
  }
  return into;
}

async function main() {
  const client = new OpenAI({
    baseURL: env('PENSTOCK_BASE_URL'), apiKey: env('PENSTOCK_KEY'), timeout: REQUEST_TIMEOUT_MS, maxRetries: 0,
  });
  const model = env('BATCH_MODEL', 'gpt-4o-mini');
  const count = Number(env('BATCH_LINES', '50'));
  const cancelCount = Number(env('CANCEL_LINES', '2000'));

  // ---- one batch, start to finish
  const input = await jsonl('line', count, model);
  let file;
  if (!(await check('files.create uploads the JSONL with purpose batch', async () => {
    file = await client.files.create({ file: input.file, purpose: 'batch' });
    expect(/^file-/.test(file.id), `id ${file.id}`);
    expect(file.purpose === 'batch', `purpose ${file.purpose}`);
    expect(file.bytes === input.bytes, `bytes ${file.bytes}, sent ${input.bytes}`);
    return `${file.id}, ${file.bytes} bytes`;
  }))) return;

  let batch;
  if (!(await check('batches.create accepts it', async () => {
    batch = await client.batches.create({
      input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h',
      metadata: { run: 'node-sdk' },
    });
    verdict.batchId = batch.id;
    expect(/^batch_/.test(batch.id), `id ${batch.id}`);
    expect(batch.object === 'batch', `object ${batch.object}`);
    expect(['validating', 'in_progress'].includes(batch.status), `status ${batch.status}`);
    expect(batch.input_file_id === file.id, `input_file_id ${batch.input_file_id}`);
    expect(batch.endpoint === '/v1/chat/completions', `endpoint ${batch.endpoint}`);
    expect(batch.metadata?.run === 'node-sdk', `metadata ${JSON.stringify(batch.metadata)}`);
    return `${batch.id} ${batch.status}`;
  }))) return;

  let done;
  await check(`batches.retrieve polled until completed, all ${count} lines`, async () => {
    const { batch: finished, seen } = await untilTerminal(client, batch.id);
    done = finished;
    verdict.status = finished.status;
    verdict.counts = finished.request_counts;
    expect(finished.status === 'completed', `status ${finished.status} (${seen.join(' > ')}), errors ${JSON.stringify(finished.errors)}`);
    const c = finished.request_counts;
    expect(c?.total === count && c.completed + c.failed === count, `request_counts ${JSON.stringify(c)}`);
    expect(finished.output_file_id, 'no output_file_id');
    expect(finished.completed_at > 0 && finished.created_at > 0, `completed_at ${finished.completed_at}`);
    return `${seen.join(' > ')}, ${JSON.stringify(c)}`;
  });

  if (done?.output_file_id) {
    await check('the output and error files hold every custom_id exactly once', async () => {
      const output = await lines(client, done.output_file_id);
      const errors = done.error_file_id ? await lines(client, done.error_file_id) : [];
      const seen = tally(errors, input.ids, tally(output, input.ids));
      const missing = input.ids.filter((id) => !seen.has(id));
      const twice = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
      expect(missing.length === 0, `missing ${missing.slice(0, 5).join(', ')} (${missing.length})`);
      expect(twice.length === 0, `more than once: ${twice.slice(0, 5).join(', ')}`);
      for (const line of output) {
        expect(line.response?.status_code === 200, `${line.custom_id}: status_code ${line.response?.status_code}`);
        expect(line.response.body?.choices?.length > 0, `${line.custom_id}: no choices`);
        expect(line.error === null || line.error === undefined, `${line.custom_id}: error ${JSON.stringify(line.error)}`);
        expect(typeof line.id === 'string' && line.id.length > 0, `${line.custom_id}: no id`);
      }
      expect(output.length === done.request_counts.completed, `${output.length} output lines, ${done.request_counts.completed} completed`);
      verdict.customIdsOk = true;
      return `${output.length} output lines, ${errors.length} error lines`;
    });

    await check('files.retrieve describes the output file', async () => {
      const out = await client.files.retrieve(done.output_file_id);
      expect(out.id === done.output_file_id, `id ${out.id}`);
      expect(out.purpose === 'batch_output', `purpose ${out.purpose}`);
      return `${out.filename}, ${out.bytes} bytes`;
    });
  }

  // ---- a second batch, cancelled while it runs
  const second = await jsonl('cancel', cancelCount, model);
  let cancelBatch;
  await check('a second batch is cancelled: cancelling, then cancelled', async () => {
    const secondFile = await client.files.create({ file: second.file, purpose: 'batch' });
    cancelBatch = await client.batches.create({
      input_file_id: secondFile.id, endpoint: '/v1/chat/completions', completion_window: '24h',
    });
    verdict.cancelBatchId = cancelBatch.id;
    const cancelled = await client.batches.cancel(cancelBatch.id);
    verdict.cancelStatus = cancelled.status;
    expect(['cancelling', 'cancelled'].includes(cancelled.status), `cancel answered status ${cancelled.status}`);
    const { batch: final, seen } = await untilTerminal(client, cancelBatch.id);
    verdict.cancelFinalStatus = final.status;
    expect(final.status === 'cancelled', `final status ${final.status} (${seen.join(' > ')})`);
    expect(final.cancelled_at > 0, `cancelled_at ${final.cancelled_at}`);
    const c = final.request_counts;
    expect(c.completed + c.failed <= c.total, `request_counts ${JSON.stringify(c)}`);
    expect(c.completed < cancelCount, `all ${cancelCount} lines completed: the cancel came too late to judge`);
    const output = final.output_file_id ? await lines(client, final.output_file_id) : [];
    const errors = final.error_file_id ? await lines(client, final.error_file_id) : [];
    const twice = [...tally(errors, second.ids, tally(output, second.ids))].filter(([, n]) => n > 1);
    expect(twice.length === 0, `custom_ids more than once: ${twice.slice(0, 5).map(([id]) => id).join(', ')}`);
    expect(output.length === c.completed, `${output.length} output lines, ${c.completed} completed`);
    return `cancel answered ${cancelled.status}; then ${seen.join(' > ')}, ${JSON.stringify(c)}, `
      + `${errors.filter((l) => l.error?.code === 'batch_cancelled').length} lines batch_cancelled`;
  });

  // ---- listing, one batch a page
  await check('batches.list pages one by one through every batch, each once', async () => {
    let page = await client.batches.list({ limit: 1 });
    const ids = [];
    for (;;) {
      verdict.pages++;
      expect(page.data.length <= 1, `a page of ${page.data.length} with limit 1`);
      ids.push(...page.data.map((b) => b.id));
      if (!page.hasNextPage() || verdict.pages >= MAX_PAGES) break;
      page = await page.getNextPage();
    }
    verdict.listedIds = ids;
    expect(new Set(ids).size === ids.length, `an id listed twice: ${ids.join(', ')}`);
    for (const id of [verdict.batchId, verdict.cancelBatchId].filter(Boolean)) {
      expect(ids.includes(id), `${id} not listed (listed ${ids.join(', ')})`);
    }
    expect(verdict.pages >= 2, `${verdict.pages} page(s)`);
    return `${ids.length} batches over ${verdict.pages} pages`;
  });

  await check('an unknown batch is a NotFoundError', async () => {
    try {
      await client.batches.retrieve('batch_000000000000000000000000');
    } catch (e) {
      expect(e instanceof OpenAI.NotFoundError, `expected NotFoundError, got ${describe(e)}`);
      return e.message;
    }
    throw new Error('expected NotFoundError, got a batch');
  });
}

try {
  await main();
} catch (e) {
  checks.push({ name: 'setup', ok: false, detail: describe(e) });
}
report();
