import type { TributaryError } from '../core/errors.ts';
import type { HttpClient, HttpResponse, ReadContext, StreamDef } from '../core/source.ts';

/**
 * A vendor's allowance as its answers report it (docs/architecture.md, "Vendor usage"): Salesforce's
 * `Sforce-Limit-Info: api-usage=18/5000` on every REST answer. The stream's checkpoints carry the latest
 * report under `key` (a short text such as "18/5000 at 2026-12-07T05:00:00.000Z"), so the collector page,
 * which shows each stream's position, shows it too; `warn` turns a report into a warning (an allowance
 * nearly spent), given once per run.
 */
export interface VendorUsage {
  key: string;
  /** The report in one answer's headers, or undefined when the answer has none. */
  read(headers: Headers): { text: string; warn?: TributaryError } | undefined;
}

/** `stream` with its checkpoints annotated by the vendor's latest usage report (see `VendorUsage`). */
export function withVendorUsage<S, A>(stream: StreamDef<S, A>, usage: VendorUsage): StreamDef<S, A> {
  return {
    ...stream,
    async *read(ctx) {
      let latest: string | undefined;
      let warned = false;
      const seen = (res: HttpResponse) => {
        const r = usage.read(res.headers);
        if (!r) return;
        latest = `${r.text} at ${new Date(ctx.now()).toISOString()}`;
        if (r.warn && !warned) {
          warned = true;
          ctx.warn(r.warn);
        }
      };
      const http: HttpClient = {
        request: async (req) => {
          const res = await ctx.http.request(req);
          seen(res);
          return res;
        },
        getJson: async (url, query, headers) => {
          const r = await ctx.http.getJson(url, query, headers);
          seen(r.response);
          return r;
        },
        requestJson: async (req, reader) => {
          const r = await ctx.http.requestJson(req, reader);
          seen(r.response);
          return r;
        },
        requestBytes: async (req, max) => {
          const r = await ctx.http.requestBytes(req, max);
          seen(r.response);
          return r;
        },
        authorizeConnection: (url, refresh) => ctx.http.authorizeConnection(url, refresh),
        httpsAgent: ctx.http.httpsAgent && ((url) => ctx.http.httpsAgent!(url)),
        checkConnection: ctx.http.checkConnection && ((url) => ctx.http.checkConnection!(url)),
      };
      const inner: ReadContext<S, A> = { ...ctx, http };
      for await (const batch of stream.read(inner)) {
        const cp = batch.checkpoint;
        yield latest !== undefined && cp && typeof cp === 'object' && !Array.isArray(cp)
          ? { ...batch, checkpoint: { ...(cp as object), [usage.key]: latest } }
          : batch;
      }
    },
  };
}
