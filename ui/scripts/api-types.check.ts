import type { z } from 'zod';
import type * as S from '../../src/control/schemas.ts';
import type { Control } from '../../src/control/service.ts';
import type * as Store from '../../src/core/store.ts';
import type * as Ui from '../src/api-types.ts';

/**
 * Type-level proof, checked by `npm run typecheck` (root tsconfig), that the console's wire types
 * (ui/src/api-types.ts) hold: every response type the server returns is assignable to what the console
 * reads, and every body the console sends is accepted by the request schema. A server change that
 * breaks the console fails here. No runtime code.
 */

type Returns<K extends keyof Control> = Control[K] extends (...args: never[]) => infer R ? Awaited<R> : never;
/** `true` when A is assignable to B. */
type Fits<A, B> = [A] extends [B] ? true : false;

export type ResponseChecks = [
  Fits<Returns<'listCollectors'>, Ui.CollectorSummary[]>,
  Fits<Returns<'getCollector'>, Ui.CollectorDetail>,
  Fits<Returns<'listAccounts'>, Ui.Account[]>,
  Fits<Returns<'catalog'>, Ui.SourceInfo[]>,
  Fits<Returns<'accountKinds'>, Ui.AccountKindInfo[]>,
  Fits<Returns<'listSites'>, Ui.Site[]>,
  Fits<Returns<'listDestinations'>, Ui.Destination[]>,
  Fits<Returns<'testCollector'>, Ui.TestResult>,
  Fits<Returns<'previewCollector'>, Ui.PreviewResult>,
  Fits<Returns<'testAccount'>, Ui.TestResult>,
  Fits<Returns<'testDestination'>, Ui.DestinationTestResult>,
  Fits<Returns<'settings'>, Ui.InstanceSettings>,
  Fits<Store.AuditRecord, Ui.AuditRecord>,
  Fits<Store.Role, Ui.Role>,
];

export type RequestChecks = [
  Fits<Ui.CollectorCreate, z.input<typeof S.collectorCreate>>,
  Fits<Ui.CollectorTest, z.input<typeof S.collectorTest>>,
  Fits<Ui.CollectorTest, z.input<typeof S.collectorPreview>>,
  Fits<Ui.CollectorDefinition, z.input<typeof S.collectorUpdate>>,
  Fits<Ui.AccountCreate, z.input<typeof S.accountCreate>>,
  Fits<Ui.AccountUpdate, z.input<typeof S.accountUpdate>>,
  Fits<Ui.InstanceSettings, z.input<typeof S.instanceSettings>>,
];

type AllTrue<T extends readonly boolean[]> = T[number] extends true ? true : false;
export const responsesFit: AllTrue<ResponseChecks> = true;
export const requestsFit: AllTrue<RequestChecks> = true;
