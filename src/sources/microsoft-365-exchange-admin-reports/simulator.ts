/**
 * Graph message trace simulator: `GET /v1.0/admin/exchange/tracing/messageTraces` behind an Entra ID token
 * endpoint (sim/microsoft.ts), following Microsoft's docs:
 *
 * - learn.microsoft.com/graph/api/messagetracingroot-list-messagetraces: `$filter`, `$top` 1–5000 (default
 *   1000), `$skiptoken` in `@odata.nextLink`; application permission ExchangeMessageTrace.Read.All.
 * - learn.microsoft.com/graph/api/resources/exchangemessagetrace: record shape (id, messageId,
 *   receivedDateTime, senderAddress, recipientAddress, subject, size, status, fromIP, toIP); receivedDateTime
 *   supports `ge` and `le`.
 *
 * Assumed (not documented), decided here: newest first; other comparison operators on receivedDateTime are
 * refused (400); a missing permission answers 403 `Forbidden`; 100 requests per 5 minutes (the
 * Get-MessageTraceV2 limit) answered 429 with Retry-After.
 */
import { Rng, seedOf, stableUuid } from '../../sim/kit.ts';
import {
  formatODataTime,
  GraphSim,
  type GraphSimOptions,
  graphError,
  type Indexed,
  msToTicks,
  TimeIndex,
} from '../../sim/microsoft.ts';

interface Trace extends Indexed {
  visibleAt: number;
}

export interface MessageTraceSimulatorOptions extends GraphSimOptions {
  events?: number;
  spacingMs?: number;
  eventBytes?: number;
}

export class MessageTraceSimulator extends GraphSim {
  private readonly index = new TimeIndex<Trace>();
  private readonly all: Trace[] = [];
  private seq = 0;
  private readonly eventBytes?: number;

  constructor(o: MessageTraceSimulatorOptions = {}) {
    super(o, {
      permissions: ['ExchangeMessageTrace.Read.All'],
      rateLimit: { requests: 100, windowMs: 300_000 },
    });
    this.eventBytes = o.eventBytes;
    const n = o.events ?? 40;
    const spacing = o.spacingMs ?? 60_000;
    this.add(n, { from: this.clock() - 30 * 60_000 - n * spacing, spacingMs: spacing });
    this.get(
      '/v1.0/admin/exchange/tracing/messageTraces',
      ['ExchangeMessageTrace.Read.All'],
      (req) =>
        this.list(req, {
          context: 'admin/exchange/tracing/messageTraces',
          property: 'receivedDateTime',
          ops: ['ge', 'le'],
          orderBy: false,
          defaultOrder: 'desc',
          maxTop: 5000,
          defaultTop: 1000,
          index: this.index,
          visible: (t, now) => t.visibleAt <= now,
          render: (t) => this.render(t),
        }),
      (req) =>
        graphError(
          req,
          403,
          'Forbidden',
          'Missing application roles. API required roles: ExchangeMessageTrace.Read.All.',
        ),
    );
  }

  /** Adds `n` message traces received `spacingMs` apart from `from`. */
  add(n: number, o: { from?: number; spacingMs?: number; visibleDelayMs?: number } = {}): void {
    const now = this.clock();
    const spacing = o.spacingMs ?? 1000;
    const from = o.from ?? now - n * spacing;
    for (let i = 0; i < n; i++) {
      const ms = from + i * spacing;
      const seq = this.seq++;
      const t: Trace = {
        t: msToTicks(ms) + BigInt(seedOf(this.seed, seq) % 10_000),
        seq,
        visibleAt: Math.max(ms + (o.visibleDelayMs ?? 0), now),
      };
      this.all.push(t);
      this.index.add(t);
    }
  }

  eventIds(): string[] {
    return this.all.map((t) => {
      const r = JSON.parse(this.render(t));
      return `${r.id}:${r.recipientAddress}`;
    });
  }

  private render(t: Trace): string {
    const rng = new Rng(seedOf(this.seed, 'trace', t.seq));
    const record = {
      id: stableUuid(12, seedOf(this.seed, 'mt', t.seq)),
      messageId: `<${rng.hex(24)}@${rng.pick(['contoso.com', 'fabrikam.com', 'mail.example.org'])}>`,
      receivedDateTime: formatODataTime(t.t),
      senderAddress: rng.pick(['alerts@fabrikam.com', 'kai@contoso.com', 'newsletter@example.org']),
      recipientAddress: rng.pick(['sam@contoso.com', 'ops@contoso.com', 'kai@contoso.com']),
      subject: rng.pick(['Quarterly report', 'Invoice 4471', 'Password reset requested']),
      size: rng.int(2_000, 900_000),
      status: rng.pick(['delivered', 'delivered', 'filteredAsSpam', 'quarantined', 'failed']),
      fromIP: `198.51.100.${rng.int(1, 254)}`,
      toIP: null as string | null,
    };
    let text = JSON.stringify(record);
    if (this.eventBytes && text.length < this.eventBytes) {
      record.subject = `${record.subject} ${'x'.repeat(this.eventBytes - text.length)}`;
      text = JSON.stringify(record);
    }
    return text;
  }
}
