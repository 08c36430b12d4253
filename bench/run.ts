import { memory } from './memory.ts';
import { throughput } from './throughput.ts';

/** `npm run bench [throughput|memory]`: runs the benchmarks and prints their figures as JSON lines. */
const which = process.argv[2];
if (!which || which === 'throughput')
  console.log(JSON.stringify({ bench: 'throughput', ...(await throughput()) }));
if (!which || which === 'memory') console.log(JSON.stringify({ bench: 'memory', ...(await memory()) }));
