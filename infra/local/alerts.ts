import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Cron } from 'croner';
import { ALERT_TASK_STATES, loadAlertActionsDefinition } from '../../functions/alert-actions/definition';
import { makeAlertTasks } from '../../functions/alert-actions/tasks';
import { makeAlertsHandler } from '../../functions/alerts/app';
import { makeAlertEvaluator, shareTheEventLoop } from '../../functions/commons/alert-evaluator';
import type { HttpHandler, Logger } from '../../functions/commons/http';
import { makeSilenceCheck } from '../../functions/silence/app';
import { DynamoDbAlertStore } from '../../shared/aws/dynamodb-alert-store';
import { AedesAlertPublisher, type BrokerLike } from '../../shared/local/aedes-alert-publisher';
import { LocalStepFunctions } from '../../shared/local/local-step-functions';
import { LogEmailSender } from '../../shared/local/log-email-sender';
import { SmtpEmailSender } from '../../shared/local/smtp-email-sender';
import type { Stream } from '../../shared/domain/stream-definition';
import type { Datapoint } from '../../shared/domain/validate-record';
import type { AlertEvaluator, Clock, LiveFanout, PointStore, SecretSource, StreamRegistry } from '../../shared/ports';

/** Every minute, at second 0: EventBridge's `rate(1 minute)` for the silence check. */
export const SILENCE_SCHEDULE = '0 * * * * *';
/** The partition of the local stand-ins' ARNs. */
const LOCAL_PARTITION = 'aws';
/** The ARN the local ASL names for both tasks; aws-local-stepfunctions runs the task code instead. */
const LOCAL_FUNCTION_ARN = `arn:${LOCAL_PARTITION}:lambda:us-east-1:000000000000:function:tributary-alert-actions`;

export interface LocalAlertsOptions {
  /** Milliseconds between retries of an action instead of the ASL's backoff (tests pass a few). */
  retryIntervalMs?: number;
  /** croner pattern of the silence check (with seconds); `SILENCE_SCHEDULE` unless given. */
  silenceSchedule?: string;
  /** Where local alert emails are written (the log by default) when they are not sent through SMTP. */
  emailLog?: (line: string) => void;
  /** Alert email through an SMTP server (`TRIBUTARY_SMTP_URL`); logged unless given. */
  smtp?: { url: string; from: string; defaultTo: readonly string[] };
  /** Named ticket systems (`TRIBUTARY_TICKET_SYSTEM_<NAME>`): name → URL. */
  ticketSystems?: Readonly<Record<string, string>>;
  /**
   * Whether webhook and ticket actions may reach 127.0.0.0/8 and ::1 (receivers on this machine); true
   * unless given. Link-local, metadata, private and reserved addresses are refused either way.
   */
  allowLoopback?: boolean;
  /** The time budget of each expression rule on a batch; `expressionBudgetMs(records)` unless given. */
  expressionBudgetMs?: number;
}

export interface LocalAlerts {
  evaluator: AlertEvaluator;
  handler: HttpHandler;
  store: DynamoDbAlertStore;
  /** Hands the aedes broker to `mqtt_publish` actions once the MQTT gateway is up. */
  attachBroker(broker: BrokerLike): void;
  /** Starts the silence schedule. */
  start(): void;
  /** Runs one silence check now. */
  checkSilence(): Promise<unknown>;
  /** Resolves once no alert execution is running. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Alerts on one machine: the DynamoDB alert store on dynalite, the alert ASL in aws-local-stepfunctions
 * with the Lambda's own task code, `mqtt_publish` on the aedes broker, email to the log, and croner for
 * the silence check.
 *
 * @example
 * const alerts = createLocalAlerts({ client: dynamo.client, tableName, registry, store, clock, log });
 * const writeBatch = makeWriter({ registry, store, clock, log, alerts: alerts.evaluator });
 */
export function createLocalAlerts(
  deps: { client: DynamoDBClient; tableName: string; registry: StreamRegistry; store: PointStore; clock: Clock; log: Logger; live?: LiveFanout; secrets?: SecretSource },
  options: LocalAlertsOptions = {},
): LocalAlerts {
  const { clock, log } = deps;
  const alertStore = new DynamoDbAlertStore({ client: deps.client, tableName: deps.tableName });
  const publisher = new AedesAlertPublisher();
  const logged = new LogEmailSender(options.emailLog ?? ((line) => console.log(line)));
  const smtp = options.smtp && new SmtpEmailSender({ ...options.smtp, fallback: logged });
  const tasks = makeAlertTasks({
    alerts: alertStore,
    secrets: alertStore,
    email: smtp ?? logged,
    mqtt: publisher,
    clock,
    targets: { allowPrivate: false, allowLoopback: options.allowLoopback ?? true },
    ...(options.ticketSystems && { ticketSystems: options.ticketSystems }),
    ...(deps.secrets && { slackSecrets: deps.secrets }),
  });
  const retry = options.retryIntervalMs;
  const sfn = new LocalStepFunctions({
    definition: loadAlertActionsDefinition({ RunActionFunctionArn: LOCAL_FUNCTION_ARN, RecordOutcomesFunctionArn: LOCAL_FUNCTION_ARN }),
    tasks: { [ALERT_TASK_STATES.runAction]: tasks.runAction, [ALERT_TASK_STATES.recordOutcomes]: tasks.recordOutcomes },
    ...(retry !== undefined && { retryIntervalMs: { [ALERT_TASK_STATES.runAction]: retry, [ALERT_TASK_STATES.recordOutcomes]: retry } }),
    onExecutionError: (err, input) => log.error('alert execution failed', { alertId: input.alert.id, error: (err as Error)?.name, reason: (err as Error)?.message }),
    validate: false, // the bundled ASL, validated by its contract test; validating it would slow every restart
  });
  const budgetMs = options.expressionBudgetMs;
  const expressions = { pause: shareTheEventLoop, ...(budgetMs !== undefined && { budgetMs }) };
  const inline = makeAlertEvaluator({ store: deps.store, alerts: alertStore, starter: sfn, clock, log, expressions, stats: deps.registry, ...(deps.live && { live: deps.live }) });
  const checkSilence = makeSilenceCheck({ registry: deps.registry, evaluator: inline, log });
  const evaluator = alertLanes(inline, log);
  let cron: Cron | undefined;
  let running: Promise<unknown> | undefined;

  return {
    evaluator,
    store: alertStore,
    handler: makeAlertsHandler({ registry: deps.registry, alerts: alertStore, secrets: alertStore, clock, log }),
    attachBroker: (broker) => publisher.attach(broker),
    start() {
      cron = new Cron(options.silenceSchedule ?? SILENCE_SCHEDULE, { protect: true, catch: true }, async () => {
        await (running = checkSilence());
      });
    },
    checkSilence,
    async idle() {
      await evaluator.idle();
      await sfn.idle();
    },
    async close() {
      cron?.stop();
      // a check already running reads the alert store: let it end before the store closes
      await running?.catch(() => {});
      await evaluator.idle();
      await sfn.close();
      smtp?.close();
    },
  };
}

/** Batches of one stream waiting for their rules; past this, a batch's evaluation is dropped (and logged). */
const MAX_WAITING = 256;
/** Points of waiting batches evaluated as one (four of the queue's largest batches, `batchRecords`): a rule's reads cost about the same for them. */
export const MAX_COALESCED_POINTS = 200_000;

interface Waiting {
  stream: Stream;
  points: Datapoint[];
}

/**
 * The writer's alert hook on one machine: the queue hands over one batch at a time, so rules evaluated
 * inline would hold up every stream's next write. Here each stream's batches wait in a lane of their own,
 * evaluated in order (a series' transitions stay ordered), and the writer goes on at once. Batches that
 * arrive while the stream's rules are running wait together and are evaluated as one batch (up to
 * `MAX_COALESCED_POINTS` points, of one version of the stream), as if the queue had delivered them at once:
 * a rule's reads cost about the same for one batch as for ten, so under load the rules keep up instead of
 * queueing one evaluation per request. In AWS the writer evaluates inline: other batches run in other
 * invocations. An evaluation still waiting when the process dies is lost, as one that failed is (alert
 * evaluation is never retried).
 */
export function alertLanes(evaluator: AlertEvaluator, log: Logger): AlertEvaluator & { idle(): Promise<void> } {
  const lanes = new Map<string, { waiting: Waiting[]; done: Promise<void> }>();

  async function drain(streamId: string, lane: { waiting: Waiting[] }): Promise<void> {
    // let the writer hand over what it has before the first evaluation starts
    await Promise.resolve();
    for (let next = lane.waiting.shift(); next; next = lane.waiting.shift()) {
      try {
        await evaluator.evaluate(next.stream, next.points);
      } catch (err) {
        log.error('alert evaluation failed', { streamId, error: (err as Error)?.name, reason: (err as Error)?.message });
      }
    }
    lanes.delete(streamId);
  }

  return {
    evaluate(stream, points) {
      let lane = lanes.get(stream.id);
      if (!lane) {
        const created = { waiting: [] as Waiting[], done: Promise.resolve() };
        lanes.set(stream.id, created);
        created.done = drain(stream.id, created);
        lane = created;
      }
      const last = lane.waiting[lane.waiting.length - 1];
      if (last && last.stream.version === stream.version && last.points.length + points.length <= MAX_COALESCED_POINTS) {
        for (const p of points) last.points.push(p);
        return Promise.resolve();
      }
      if (lane.waiting.length >= MAX_WAITING) {
        log.error('alert evaluation dropped', { streamId: stream.id, reason: `${MAX_WAITING} batches of the stream are waiting for their rules` });
        return Promise.resolve();
      }
      lane.waiting.push({ stream, points: [...points] });
      return Promise.resolve();
    },
    async idle() {
      while (lanes.size > 0) await Promise.all([...lanes.values()].map((l) => l.done));
    },
  };
}
