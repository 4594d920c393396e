import { describe, expect, it } from 'vitest';
import { admitBatch } from '../../shared/domain/admission';
import { newStream, parseStreamInput, type ValidationMode } from '../../shared/domain/stream-definition';
import { compileStream } from '../../shared/domain/validate-record';

const NOW = Date.parse('2026-03-01T12:00:00Z');

function check(mode: ValidationMode, records: unknown[]) {
  const stream = newStream(
    parseStreamInput({ name: 'Freezers', type: 'iot_sensor', validation: mode, schema: { deviceId: { type: 'string', required: true }, temperature: { type: 'number' } }, dimensions: ['deviceId'] }),
    new Date(NOW),
    () => 'k3x9qa',
  );
  return admitBatch(stream.validation, records, compileStream(stream).validate(records, { now: NOW, receivedAt: NOW }));
}

const good = (n: number) => ({ deviceId: `f${n}`, temperature: n });
const bad = { deviceId: 'f9', temperature: 'warm' };

describe('admitBatch', () => {
  it('admits a batch whose records are all valid, as it came, in either mode', () => {
    for (const mode of ['strict', 'lenient'] as const) {
      const records = [good(1), good(2)];
      const admission = check(mode, records);
      expect(admission).toEqual({ admitted: true, records, whole: true, issues: [] });
      expect(admission.admitted && admission.records).toBe(records);
    }
  });

  it('refuses a strict batch with one invalid record, listing its issue with index and path', () => {
    expect(check('strict', [good(1), bad, good(2)])).toEqual({
      admitted: false,
      issues: [{ index: 1, path: ['temperature'], message: expect.any(String) }],
    });
  });

  it('admits the valid records of a lenient batch, in order, and lists the invalid ones', () => {
    const admission = check('lenient', [good(1), bad, good(2)]);
    expect(admission).toEqual({ admitted: true, records: [good(1), good(2)], whole: false, issues: [{ index: 1, path: ['temperature'], message: expect.any(String) }] });
  });

  it('refuses a lenient batch in which no record is valid: accepting nothing is no acceptance', () => {
    const admission = check('lenient', [bad, { temperature: 1 }]);
    expect(admission.admitted).toBe(false);
    expect(admission.issues.map((i) => i.index)).toEqual([0, 1]);
  });

  it('admits an empty batch in either mode, with nothing to queue', () => {
    expect(check('strict', [])).toEqual({ admitted: true, records: [], whole: true, issues: [] });
    expect(check('lenient', [])).toEqual({ admitted: true, records: [], whole: true, issues: [] });
  });
});
