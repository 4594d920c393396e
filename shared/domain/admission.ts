import type { Issue } from './errors';
import type { ValidationMode } from './stream-definition';
import type { ValidationResult } from './validate-record';

/**
 * What a batch's validation lets in: the records to queue, or why nothing is queued.
 * `whole` is true when every record passed (the batch's own text can be kept as it came).
 */
export type Admission<T> = { admitted: true; records: T[]; whole: boolean; issues: Issue[] } | { admitted: false; issues: Issue[] };

/**
 * The strict/lenient rule, the same for every way records come in (HTTP, MQTT, pulls). A strict stream
 * admits a batch only when every record is valid. A lenient one admits its valid records, listing the
 * others, but refuses a batch in which no record is valid: accepting nothing is not an acceptance.
 * An empty batch has nothing invalid and is admitted (with nothing to queue).
 *
 * @example
 * const checked = compiled.for(stream).validate(records, { now, receivedAt: now });
 * const admission = admitBatch(stream.validation, records, checked);
 * if (!admission.admitted) throw new RecordValidationError(admission.issues);
 * await queue.send([{ streamId: stream.id, receivedAt: now, source: 'http', records: admission.records }]);
 */
export function admitBatch<T>(mode: ValidationMode, records: T[], result: ValidationResult): Admission<T> {
  const { invalid, issues } = result;
  if (invalid > 0 && (mode === 'strict' || result.points.length === 0)) return { admitted: false, issues };
  const whole = invalid === 0;
  return { admitted: true, records: whole ? records : result.indexes.map((i) => records[i] as T), whole, issues };
}
