import { open } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';

/**
 * The webhook's bare floor (bench/webhook.ts): a receiver that does only what an acknowledgement needs —
 * read the body, append it to a file, fsync, answer 200 — with the group commit Tributary's receiver
 * uses (what arrives while a write and fsync run goes out together in the next one). No parsing, no
 * envelope, no store, no authentication. Its latency at a rate is the floor the machine's disk and
 * scheduler set for any receiver that answers only once the events are on disk.
 *
 * `node bench/bare-receiver.ts FILE`: appends to FILE; prints `{"url":…}` once listening.
 */
const file = await open(process.argv[2]!, 'a');
let queue: Array<{ body: Buffer; res: ServerResponse }> = [];
let running = false;

async function pump(): Promise<void> {
  running = true;
  while (queue.length) {
    const batch = queue;
    queue = [];
    const data = Buffer.concat(batch.map((p) => p.body));
    for (let off = 0; off < data.length; ) off += (await file.write(data, off)).bytesWritten;
    await file.sync();
    for (const p of batch) p.res.end();
  }
  running = false;
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    queue.push({ body: Buffer.concat(chunks), res });
    if (!running) void pump();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});
