/**
 * The counters a function keeps while it handles one invocation; `powertools()` publishes them as
 * CloudWatch metrics (namespace `Tributary`), per stream where a stream is named.
 */

/** The CloudWatch namespace of every Tributary metric; the stack's alarms and dashboard read it. */
export const METRICS_NAMESPACE = 'Tributary';

/** The `service` dimension (and log field) of a function's metrics: `tributary-writer`. */
export const serviceName = (handler: string) => `tributary-${handler}`;

export type MetricName =
  | 'AcceptedRecords'
  | 'RefusedRecords'
  | 'WrittenRecords'
  | 'InvalidRecords'
  | 'RejectedRecords'
  | 'IngestLatency'
  | 'PullRuns'
  | 'PullFailures'
  | 'AlertActionsSucceeded'
  | 'AlertActionsFailed';

export interface Meter {
  /** Adds `n` to a count, for one stream or (without `streamId`) for the function as a whole. */
  count(name: MetricName, n: number, streamId?: string): void;
  /** Records a duration in milliseconds. */
  milliseconds(name: MetricName, ms: number, streamId?: string): void;
}

/** A meter that keeps nothing: the default of apps run outside Lambda (tests, the local runtime). */
export const noMeter: Meter = { count: () => {}, milliseconds: () => {} };
