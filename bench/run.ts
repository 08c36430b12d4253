import { cluster } from './cluster.ts';
import { memory } from './memory.ts';
import { throughput } from './throughput.ts';
import { webhook } from './webhook.ts';

/** `npm run bench [throughput|memory|webhook]`: runs the benchmarks and prints their figures as JSON lines. */
const which = process.argv[2];
if (!which || which === 'throughput')
  console.log(JSON.stringify({ bench: 'throughput', ...(await throughput()) }));
if (!which || which === 'memory') console.log(JSON.stringify({ bench: 'memory', ...(await memory()) }));
if (!which || which === 'webhook') console.log(JSON.stringify({ bench: 'webhook', ...(await webhook()) }));
if (which === 'cluster') console.log(JSON.stringify({ bench: 'cluster', ...(await cluster()) }));
