import type { PushVendor } from '../../src/sim/push-sender.ts';
import { criblWebhook } from '../../src/sources/cribl/simulator.ts';
import { databahnHttp } from '../../src/sources/databahn/simulator.ts';
import { cortexHttpsForwarding } from '../../src/sources/palo-alto-cortex-data-lake/simulator.ts';
import { genericSender } from '../../src/sources/webhook/simulator.ts';
import { zscalerNssFeed } from '../../src/sources/zscaler-zia/simulator.ts';

/** A push source in the push-source conformance suite (push.test.ts): its vendor's sender. */
export interface PushSuite {
  sourceId: string;
  /** The vendor's sender (src/sources/<id>/simulator.ts): body format, compression, auth, what it does with an answer. */
  sender(): PushVendor;
}

/** Every push source Tributary ships (coverage.test.ts fails when one is missing). */
export const pushSuites: PushSuite[] = [
  { sourceId: 'webhook', sender: () => genericSender({ gzip: true }) },
  { sourceId: 'zscaler-zia', sender: () => zscalerNssFeed() },
  { sourceId: 'palo-alto-cortex-data-lake', sender: () => cortexHttpsForwarding() },
  { sourceId: 'cribl', sender: () => criblWebhook() },
  { sourceId: 'databahn', sender: () => databahnHttp() },
];
