#!/usr/bin/env bash
# Checks that the official OpenAI Node SDK raises the SSE error event Penstock sends when an
# upstream stream breaks after it began (docs/resilience.md#streams). Needs node and npm (Debian:
# nodejs, npm); installs the `openai` package into a temporary directory.
# Usage: scripts/node-sdk-stream-error.sh   (exit 0 = the SDK raised the error)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d)
PENSTOCK_NO_BUILD=0 "$root/bin/penstock" --version >/dev/null
export PENSTOCK_NO_BUILD=1
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT
command -v node >/dev/null || { apt-get install -y -q nodejs npm >/dev/null; }

(cd "$work" && npm init -y >/dev/null && npm install --silent openai@^5 >/dev/null)

"$root/bin/penstock" mock --port 18790 --key sk-node-000000000001 --rpm 10000 --tpm 10000000 \
  --ttft-ms 20 --ms-per-token 5 --fault cut=1.0 >"$work/mock.log" 2>&1 &
pids+=($!)
cat >"$work/gw.yaml" <<YAML
listen: 127.0.0.1:18791
models:
  gpt-4o-mini:
    deployments:
      - {name: cutter, base_url: "http://127.0.0.1:18790/v1", api_key: sk-node-000000000001, rpm: 10000, tpm: 10000000}
YAML
"$root/bin/penstock" serve --config "$work/gw.yaml" >"$work/gw.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 150); do
  grep -q "penstock mock:" "$work/mock.log" 2>/dev/null && grep -q "gateway at" "$work/gw.log" 2>/dev/null && break
  sleep 0.2
done

cat >"$work/check.mjs" <<'JS'
import OpenAI from "openai";
const client = new OpenAI({ baseURL: "http://127.0.0.1:18791/v1", apiKey: "sk-client", maxRetries: 0 });
let chunks = 0;
try {
  const stream = await client.chat.completions.create({
    model: "gpt-4o-mini", stream: true, max_tokens: 20,
    messages: [{ role: "user", content: "Hello" }],
  });
  for await (const chunk of stream) chunks++;
  console.error(`FAIL: the stream ended cleanly after ${chunks} chunks`);
  process.exit(1);
} catch (e) {
  if (chunks > 0 && /stream of deployment cutter/.test(String(e.message))) {
    console.log(`ok: the Node SDK raised ${e.constructor.name} after ${chunks} chunks: ${e.message}`);
  } else {
    console.error(`FAIL: unexpected error after ${chunks} chunks: ${e}`);
    process.exit(1);
  }
}
JS
node "$work/check.mjs"
