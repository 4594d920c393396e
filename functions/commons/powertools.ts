import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { Logger } from './http';
import { redactFields } from './log-redaction';
import { METRICS_NAMESPACE, serviceName as serviceOf, type Meter, type MetricName } from './meter';

const UNITS: Record<MetricName, (typeof MetricUnit)[keyof typeof MetricUnit]> = {
  AcceptedRecords: MetricUnit.Count,
  RefusedRecords: MetricUnit.Count,
  WrittenRecords: MetricUnit.Count,
  InvalidRecords: MetricUnit.Count,
  RejectedRecords: MetricUnit.Count,
  IngestLatency: MetricUnit.Milliseconds,
  PullRuns: MetricUnit.Count,
  PullFailures: MetricUnit.Count,
  AlertActionsSucceeded: MetricUnit.Count,
  AlertActionsFailed: MetricUnit.Count,
};

export interface Powertools {
  /** JSON lines with the request id and cold start; fields pass through `redactFields`. */
  log: Logger;
  /** Counts kept for the invocation and published when it ends, one EMF line per stream. */
  meter: Meter;
  tracer: Tracer;
  /** An AWS SDK v3 client whose calls appear as X-Ray subsegments. */
  traced<T>(client: T): T;
  /** Wraps a handler: X-Ray segment, Lambda context in the log, cold-start metric, metrics flushed. */
  observe<E, R>(handler: (event: E, context: Context) => Promise<R>): middy.MiddyfiedHandler<E, R, Error, Context>;
}

type Totals = Map<MetricName, number>;

/**
 * Powertools for AWS Lambda set up for one function: service `tributary-<name>`, namespace `Tributary`,
 * log level from Lambda's `AWS_LAMBDA_LOG_LEVEL` (the stack's `logLevel` setting).
 *
 * @example
 * const { log, meter, traced, observe } = powertools('writer');
 * export const handler = observe(async (event: SQSEvent) => …);
 */
export function powertools(name: string): Powertools {
  const serviceName = serviceOf(name);
  const logger = new PowertoolsLogger({ serviceName });
  const tracer = new Tracer({ serviceName });
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName });
  const perStream = new Map<string, Totals>();
  const overall: Totals = new Map();

  const add = (name: MetricName, n: number, streamId?: string) => {
    let totals = overall;
    if (streamId !== undefined) {
      totals = perStream.get(streamId) ?? new Map();
      perStream.set(streamId, totals);
    }
    totals.set(name, (totals.get(name) ?? 0) + n);
  };

  const flush = () => {
    for (const [metric, value] of overall) metrics.addMetric(metric, UNITS[metric], value);
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    for (const [streamId, totals] of perStream) {
      const one = new Metrics({ namespace: METRICS_NAMESPACE, serviceName, defaultDimensions: { streamId } });
      for (const [metric, value] of totals) one.addMetric(metric, UNITS[metric], value);
      one.publishStoredMetrics();
    }
    overall.clear();
    perStream.clear();
  };

  const log: Logger = {
    error: (message, fields) => logger.error(message, redactFields(fields)),
    info: (message, fields) => logger.info(message, redactFields(fields)),
  };

  return {
    log,
    meter: { count: add, milliseconds: add },
    tracer,
    traced: (client) => tracer.captureAWSv3Client(client),
    observe: (handler) =>
      middy(handler)
        .use(captureLambdaHandler(tracer, { captureResponse: false }))
        .use(injectLambdaContext(logger, { resetKeys: true }))
        .use({
          before: () => metrics.captureColdStartMetric(),
          after: flush,
          onError: flush,
        }),
  };
}
