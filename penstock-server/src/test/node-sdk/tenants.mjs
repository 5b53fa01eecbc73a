// The tenants feature (docs/tenants.md) end to end through the official OpenAI Node SDK, against a
// running gateway whose keys the caller made (NodeSdkTenantsTest does, through the admin API).
// What a service sees: its key works, streamed or not; no key, an unknown or a revoked key is an
// AuthenticationError; a model the key may not use is a PermissionDeniedError; over budget is a
// RateLimitError of type budget_exceeded that the SDK does not retry; over the key's RPM is a
// RateLimitError whose headers let the SDK's own retry succeed.
//
// usage: node tenants.mjs
//   env PENSTOCK_BASE_URL   the gateway's /v1 base URL
//       KEY_OK              a live key with no limits
//       KEY_REVOKED         a revoked key
//       KEY_SLOW            a key of 1 request per window (the test's window is 2 s)
//       KEY_BROKE           a key whose budget is already spent
//       KEY_MINI_ONLY       a key allowed gpt-4o-mini only
//
// Prints one JSON object on stdout, {ok, node, sdk, ms, checks: [{name, ok, detail}]}, and exits 0
// only when every check passed. Every request is bounded by the SDK's timeout, and the whole run
// by a watchdog. Nothing here sleeps: the only wait is the SDK's own before it retries a 429.

import OpenAI from 'openai';
import { VERSION } from 'openai/version';

const REQUEST_TIMEOUT_MS = 15_000;
const RUN_TIMEOUT_MS = 60_000;
const MINI = 'gpt-4o-mini';
const BIG = 'gpt-4o';
const MESSAGES = [{ role: 'user', content: 'Hello there' }];

const started = performance.now();
const checks = [];
let reported = false;

function report() {
  if (reported) return;
  reported = true;
  const ok = checks.length > 0 && checks.every((c) => c.ok);
  process.stdout.write(`${JSON.stringify({ ok, node: process.version, sdk: VERSION, ms: Math.round(performance.now() - started), checks })}\n`);
  process.exitCode = ok ? 0 : 1;
}

// Should a request hang past every SDK timeout, say so and stop rather than be killed silently.
setTimeout(() => {
  checks.push({ name: 'watchdog', ok: false, detail: `the checks did not finish within ${RUN_TIMEOUT_MS} ms` });
  report();
  process.exit(1);
}, RUN_TIMEOUT_MS).unref();

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`env ${name} is not set`);
  return value;
}

/** A fetch that records every attempt the SDK makes: its Authorization header and the status. */
function countingFetch() {
  const attempts = [];
  const fetch = async (url, init) => {
    const attempt = { authorization: new Headers(init?.headers).has('authorization'), status: null };
    attempts.push(attempt);
    const response = await globalThis.fetch(url, init);
    attempt.status = response.status;
    return response;
  };
  return { fetch, attempts };
}

/** A client of the gateway; no retries unless `maxRetries` says, 'sdk-default' leaving the SDK's own (2). */
function client(apiKey, { maxRetries = 0, fetch, defaultHeaders } = {}) {
  const options = { baseURL: env('PENSTOCK_BASE_URL'), apiKey, timeout: REQUEST_TIMEOUT_MS, fetch, defaultHeaders };
  if (maxRetries !== 'sdk-default') options.maxRetries = maxRetries;
  return new OpenAI(options);
}

function chat(sdk, model = MINI) {
  return sdk.chat.completions.create({ model, messages: MESSAGES });
}

/** Runs one check: `body` returns a detail string, or throws (a failed expectation or what the SDK raised). */
async function check(name, body) {
  try {
    const detail = await body();
    checks.push({ name, ok: true, detail: detail ?? '' });
  } catch (e) {
    checks.push({ name, ok: false, detail: describe(e) });
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

/** Awaits `promise`, expecting it to reject with `errorClass`; returns the error. */
async function refusal(promise, errorClass, status) {
  let result;
  try {
    result = await promise;
  } catch (e) {
    expect(e instanceof errorClass, `expected ${errorClass.name}, got ${describe(e)}`);
    expect(e.status === status, `expected status ${status}, got ${e.status}`);
    return e;
  }
  throw new Error(`expected ${errorClass.name}, got a success: ${JSON.stringify(result).slice(0, 200)}`);
}

function statuses(attempts) {
  return JSON.stringify(attempts.map((a) => a.status));
}

async function main() {
  const ok = env('KEY_OK');

  await check('a live key gets a chat completion', async () => {
    const completion = await chat(client(ok));
    const text = completion.choices[0]?.message?.content;
    expect(typeof text === 'string' && text.length > 0, `no text in ${JSON.stringify(completion)}`);
    expect(completion.usage?.prompt_tokens > 0, `no usage in ${JSON.stringify(completion)}`);
    return `${completion.usage.completion_tokens} tokens: ${JSON.stringify(text.slice(0, 40))}`;
  });

  await check('a live key gets a streamed chat completion, without usage it did not ask for', async () => {
    const stream = await client(ok).chat.completions.create({ model: MINI, messages: MESSAGES, stream: true });
    let text = '';
    let chunks = 0;
    const withUsage = [];
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage != null) withUsage.push(chunk.usage);
    }
    expect(text.length > 0, `${chunks} chunks and no text`);
    expect(withUsage.length === 0, `usage the client did not ask for: ${JSON.stringify(withUsage)}`);
    return `${chunks} chunks, ${JSON.stringify(text.slice(0, 40))}`;
  });

  await check('a streamed chat completion with stream_options.include_usage ends with its usage', async () => {
    const stream = await client(ok).chat.completions.create({
      model: MINI, messages: MESSAGES, stream: true, stream_options: { include_usage: true },
    });
    let last;
    for await (const chunk of stream) last = chunk;
    expect(last?.usage?.completion_tokens > 0, `last chunk: ${JSON.stringify(last)}`);
    return `usage ${JSON.stringify(last.usage)}`;
  });

  await check('no key: AuthenticationError (401), sent without Authorization', async () => {
    // The SDK insists on a key; a null header is its documented way to send none.
    const { fetch, attempts } = countingFetch();
    const sdk = client('unused', { fetch, defaultHeaders: { Authorization: null } });
    const e = await refusal(chat(sdk), OpenAI.AuthenticationError, 401);
    expect(attempts.length === 1 && !attempts[0].authorization, `attempts ${JSON.stringify(attempts)}`);
    expect(e.code === 'invalid_api_key', `code ${e.code}`);
    return e.message;
  });

  await check('an unknown key: AuthenticationError (401)', async () => {
    const e = await refusal(chat(client('pk-not-a-real-key-00000000000000000000000000000')), OpenAI.AuthenticationError, 401);
    expect(e.code === 'invalid_api_key', `code ${e.code}`);
    return e.message;
  });

  await check('a revoked key: AuthenticationError (401)', async () => {
    const e = await refusal(chat(client(env('KEY_REVOKED'))), OpenAI.AuthenticationError, 401);
    expect(e.code === 'invalid_api_key', `code ${e.code}`);
    return e.message;
  });

  const miniOnly = env('KEY_MINI_ONLY');
  await check('a key limited to gpt-4o-mini: PermissionDeniedError (403) on gpt-4o, served on gpt-4o-mini', async () => {
    const e = await refusal(chat(client(miniOnly), BIG), OpenAI.PermissionDeniedError, 403);
    expect(e.param === 'model' && e.code === 'model_not_allowed', `param ${e.param}, code ${e.code}`);
    const allowed = await chat(client(miniOnly), MINI);
    expect(allowed.choices.length > 0, `no choices on ${MINI}`);
    return e.message;
  });

  await check('a key over budget: RateLimitError budget_exceeded, not retried by the SDK', async () => {
    // The SDK's default retries (2): x-should-retry: false must stop it after the first attempt.
    const { fetch, attempts } = countingFetch();
    const e = await refusal(chat(client(env('KEY_BROKE'), { maxRetries: 'sdk-default', fetch })), OpenAI.RateLimitError, 429);
    expect(e.type === 'budget_exceeded' && e.error?.type === 'budget_exceeded', `type ${e.type}`);
    expect(e.headers.get('x-should-retry') === 'false', `x-should-retry ${e.headers.get('x-should-retry')}`);
    expect(attempts.length === 1, `${attempts.length} attempts, statuses ${statuses(attempts)}`);
    return `1 attempt: ${e.message}`;
  });

  const slow = env('KEY_SLOW');
  await check('a key of 1 RPM: the first request is served, with its rate-limit headers', async () => {
    const { data, response } = await chat(client(slow)).withResponse();
    expect(data.choices.length > 0, 'no choices');
    const limit = response.headers.get('x-ratelimit-limit-requests');
    const remaining = response.headers.get('x-ratelimit-remaining-requests');
    expect(limit === '1' && remaining === '0', `limit ${limit}, remaining ${remaining}`);
    return `x-ratelimit-limit-requests ${limit}, -remaining-requests ${remaining}`;
  });

  await check('a key of 1 RPM: the second request, without retries, is a RateLimitError saying when to retry', async () => {
    const e = await refusal(chat(client(slow, { maxRetries: 0 })), OpenAI.RateLimitError, 429);
    expect(e.code === 'rate_limit_exceeded', `code ${e.code}`);
    const retryMs = Number(e.headers.get('retry-after-ms'));
    expect(retryMs > 0 && retryMs <= 2_000, `retry-after-ms ${e.headers.get('retry-after-ms')}`);
    const remaining = e.headers.get('x-ratelimit-remaining-requests');
    expect(remaining === '0', `x-ratelimit-remaining-requests ${remaining}`);
    expect(e.headers.get('retry-after') !== null, 'no Retry-After');
    return `retry-after-ms ${retryMs}, x-ratelimit-remaining-requests ${remaining}`;
  });

  await check("a key of 1 RPM: with retries the SDK's own wait gets the third request through", async () => {
    const { fetch, attempts } = countingFetch();
    const completion = await chat(client(slow, { maxRetries: 3, fetch }));
    expect(completion.choices.length > 0, 'no choices');
    expect(attempts.length === 2 && attempts[0].status === 429 && attempts[1].status === 200,
      `${attempts.length} attempts, statuses ${statuses(attempts)} (expected [429,200])`);
    return `attempts ${statuses(attempts)}`;
  });
}

try {
  await main();
} catch (e) {
  checks.push({ name: 'setup', ok: false, detail: describe(e) });
}
report();
