import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDbAlertStore } from '../../shared/aws/dynamodb-alert-store';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { SfnAlertStarter } from '../../shared/aws/sfn-alert-starter';
import { pointStoreOf } from '../../shared/aws/point-store-of';
import { systemClock } from '../../shared/ports';
import { makeAlertEvaluator } from '../commons/alert-evaluator';
import { powertools } from '../commons/powertools';
import { makeSilenceCheck } from './app';
import { silenceConfig } from './config';

const config = silenceConfig(process.env);
const { log, traced, observe } = powertools('silence');
const client = traced(new DynamoDBClient({}));
const registry = new DynamoDbRegistry({ client, tableName: config.TABLE_NAME });
const evaluator = makeAlertEvaluator({
  store: pointStoreOf(config, traced),
  alerts: new DynamoDbAlertStore({ client, tableName: config.TABLE_NAME }),
  starter: new SfnAlertStarter({ client: traced(new SFNClient({})), stateMachineArn: config.ALERT_STATE_MACHINE_ARN }),
  clock: systemClock,
  log,
  stats: registry,
});

/** EventBridge `rate(1 minute)` → one silence and health check over every stream with a `no data for …` or health-check rule. */
export const handler = observe(makeSilenceCheck({ registry, evaluator, log }));
