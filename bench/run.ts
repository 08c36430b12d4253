import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buffer } from './buffer.ts';
import { cluster } from './cluster.ts';
import { currentState } from './current-state.ts';
import { destinations } from './destinations.ts';
import { eventhub } from './eventhub.ts';
import { memory } from './memory.ts';
import { moduleCosts, runFloor } from './modules.ts';
import { objects } from './objects.ts';
import { parseFloor } from './parse-floor.ts';
import { salesforceEventlog } from './salesforce-eventlog.ts';
import { throughput } from './throughput.ts';
import { webhook, webhookWorstCase } from './webhook.ts';

/**
 * `npm run bench [throughput|memory|webhook|destinations|cluster|buffer|objects|salesforce-eventlog|eventhub|current-state|modules|parse-floor]`: runs the benchmarks and prints their
 * figures as JSON lines (`webhook` also prints one `webhook-worst-case` line per worst-case body).
 */
const which = process.argv[2];

// Benchmarks that run the engine in this process do so with the V8 flags `bin/tributary` gives the
// CLI (bin/node-flags; BENCH_NODE_FLAGS to try others): this process re-runs itself with them.
const flags = (
  process.env.BENCH_NODE_FLAGS ?? readFileSync(join(import.meta.dirname, '../bin/node-flags'), 'utf8')
)
  .split(/\s+/)
  .filter(Boolean);
if (process.env.TRIBUTARY_BENCH_FLAGS_SET !== '1' && flags.length) {
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, ...flags, import.meta.filename, ...process.argv.slice(2)],
    {
      stdio: 'inherit',
      env: { ...process.env, TRIBUTARY_BENCH_FLAGS_SET: '1' },
    },
  );
  process.exit(child.status ?? 1);
}
if (!which || which === 'throughput')
  console.log(JSON.stringify({ bench: 'throughput', ...(await throughput()) }));
if (!which || which === 'memory') console.log(JSON.stringify({ bench: 'memory', ...(await memory()) }));
if (!which || which === 'webhook') {
  console.log(JSON.stringify({ bench: 'webhook', ...(await webhook()) }));
  for (const row of await webhookWorstCase())
    console.log(JSON.stringify({ bench: 'webhook-worst-case', ...row }));
}
if (which === 'destinations')
  for (const row of (await destinations()).rows)
    console.log(JSON.stringify({ bench: 'destinations', ...row }));
if (which === 'cluster') console.log(JSON.stringify({ bench: 'cluster', ...(await cluster()) }));
if (which === 'buffer') console.log(JSON.stringify({ bench: 'buffer', ...(await buffer()) }));
if (which === 'parse-floor') console.log(JSON.stringify({ bench: 'parse-floor', ...(await parseFloor()) }));
if (which === 'objects') console.log(JSON.stringify({ bench: 'objects', ...(await objects()) }));
if (which === 'salesforce-eventlog')
  console.log(JSON.stringify({ bench: 'salesforce-eventlog', ...(await salesforceEventlog()) }));
if (which === 'eventhub') console.log(JSON.stringify({ bench: 'eventhub', ...(await eventhub()) }));
if (which === 'current-state')
  for (const row of await currentState()) console.log(JSON.stringify({ bench: 'current-state', ...row }));
if (which === 'modules') {
  const specs = process.argv.slice(3);
  for (const row of moduleCosts(specs.length ? specs : undefined))
    console.log(JSON.stringify({ bench: 'modules', ...row }));
  if (!specs.length) for (const row of runFloor()) console.log(JSON.stringify({ bench: 'modules', ...row }));
}
