import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../shared/domain/errors';
import { canonicalQueryParams } from '../../shared/domain/query-dialect';
import { parseDefinition, parseDefinitionPatch } from '../../shared/domain/seed-dialect';
import { newStream } from '../../shared/domain/stream-definition';
import { documentDefinition } from '../fixtures/data-streams';

/** Keys of the dialect and of the canonical form, and some that are neither: where translations can trip. */
const KEY = fc.constantFrom(
  'name', 'type', 'vaultId', 'source', 'schema', 'processing', 'eventTypes', 'alerts', 'rules', 'streamId', 'dimensions', 'timeField',
  'kind', 'endpoint', 'url', 'timeout', 'headers', 'schedule', 'connection', 'username', 'password', 'parameters', 'credentials', 'secret',
  'range', 'min', 'max', 'enum', 'required', 'unit', 'frequency', 'aggregation', 'transform', 'deduplicate', 'alerting', 'condition',
  'threshold', 'value', 'actions', 'payload', 'recipients', 'data', 'template', '__proto__', 'constructor', 'toString', 'temperature',
);
const TYPE = fc.constantFrom('iot_sensor', 'api_pull', 'event_stream', 'database', 'manufacturing');
const leaf = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant('0 */6 * * *'), fc.constant('${X}'), fc.constant([0, 1]));
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(KEY, tie('node'), { maxKeys: 4 })),
})).node;
/** A definition: a document's with parts replaced at random, or an object built from the key vocabulary. */
const definition = fc.oneof(
  fc
    .tuple(fc.constantFrom('temperature-monitoring', 'financial-data-feed', 'manufacturing-events', 'inventory-sync', 'environmental-monitoring'), KEY, value, TYPE, fc.boolean())
    .map(([name, key, v, type, retype]) => ({ ...documentDefinition(name), [key]: v, ...(retype && { type }) })),
  fc.dictionary(KEY, value, { maxKeys: 8 }),
);

function onlyBadRequest(run: () => unknown): void {
  try {
    run();
  } catch (err) {
    if (!(err instanceof BadRequestError)) throw err;
    for (const i of err.issues) expect(Array.isArray(i.path) && typeof i.message === 'string').toBe(true);
  }
}

describe('the documents\' dialect on arbitrary input', () => {
  const stream = newStream(parseDefinition(documentDefinition('financial-data-feed')), new Date('2026-01-01T00:00:00Z'), () => 'abc123');

  it('answers a create or a patch with the definition or a BadRequestError, never another error', () => {
    fc.assert(
      fc.property(definition, (body) => {
        onlyBadRequest(() => parseDefinition(JSON.parse(JSON.stringify(body))));
        onlyBadRequest(() => parseDefinitionPatch(JSON.parse(JSON.stringify(body)), stream));
      }),
      { numRuns: 400 },
    );
  });

  it('answers any query parameters with canonical ones or a BadRequestError', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('aggregation', 'timeRange', 'start', 'end', 'granularity', 'x', '__proto__'), fc.string({ maxLength: 20 })), (params) => {
        onlyBadRequest(() => canonicalQueryParams(stream, params, Date.now()));
      }),
    );
  });
});
