import { readFileSync } from 'node:fs';

/**
 * Samples a child process's peak RSS (the kernel's high-water mark, VmHWM in /proc, Linux) every 50 ms
 * until `stop`, which returns it in MB. `BENCH_TRACE=1` prints the RSS as it is sampled, to see where the
 * peak is.
 */
export function peakRss(pid: number | undefined, started: number): { stop(): number } {
  let peakKb = 0;
  const trace = process.env.BENCH_TRACE === '1';
  const sample = setInterval(() => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const m = /VmHWM:\s+(\d+) kB/.exec(status);
      if (m) peakKb = Math.max(peakKb, Number(m[1]));
      const rss = trace && /VmRSS:\s+(\d+) kB/.exec(status);
      if (rss)
        process.stderr.write(
          `${Math.round(performance.now() - started)} ms: RSS ${Math.round(Number(rss[1]) / 1024)} MB\n`,
        );
    } catch {
      /* exited */
    }
  }, 50);
  return {
    stop() {
      clearInterval(sample);
      return Math.round(peakKb / 1024);
    },
  };
}
