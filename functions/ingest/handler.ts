import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbIdempotencyStore } from '../../shared/aws/dynamodb-idempotency-store';
import { DynamoDbRegistry } from '../../shared/aws/dynamodb-registry';
import { SecretsManagerSecretSource } from '../../shared/aws/secrets-manager-source';
import { SqsIngestQueue } from '../../shared/aws/sqs-ingest-queue';
import { systemClock } from '../../shared/ports';
import { powertools } from '../commons/powertools';
import { S3Client } from '@aws-sdk/client-s3';
import { S3PartStore } from '../../shared/aws/s3-part-store';
import { S3UploadStore } from '../../shared/aws/s3-upload-store';
import { makeIngestHandler } from './app';
import { ingestConfig } from './config';

const config = ingestConfig(process.env);
const { log, meter, traced, observe } = powertools('ingest');
const dynamodb = traced(new DynamoDBClient({}));
const registry = new DynamoDbRegistry({ client: dynamodb, tableName: config.TABLE_NAME });
const s3 = traced(new S3Client({}));

export const handler = observe(
  makeIngestHandler({
    registry,
    queue: new SqsIngestQueue({ client: traced(new SQSClient({})), queueUrl: config.QUEUE_URL }),
    idempotency: new DynamoDbIdempotencyStore({ client: dynamodb, tableName: config.IDEMPOTENCY_TABLE_NAME, windowSeconds: config.IDEMPOTENCY_WINDOW_SECONDS }),
    clock: systemClock,
    log,
    meter,
    // the webhook URLs: ingest tokens from the table, signing secrets from Secrets Manager (cached 5 minutes)
    tokens: registry,
    secrets: new SecretsManagerSecretSource({ client: traced(new SecretsManagerClient({})), prefix: config.SECRET_PREFIX }),
    parts: new S3PartStore({ s3, bucket: config.EVENTS_BUCKET }),
    // files over a request's size: intents and files under uploads/, PUT by clients through presigned URLs
    uploads: new S3UploadStore({ s3, bucket: config.EVENTS_BUCKET }),
  }),
);
