import { Validations } from 'aws-cdk-lib';
import type { FunctionNetwork, TributaryFunction } from './function';
import type { InfluxStore } from './influx-store';

/** Where the writer writes datapoints in Timestream for LiveAnalytics. */
export interface TimestreamTarget {
  readonly databaseName: string;
  readonly tableName: string;
  readonly tableArn: string;
}

/**
 * The store the functions that read or write points use, as the `store` setting chose it: Timestream for
 * LiveAnalytics (its database and table) or Timestream for InfluxDB (`InfluxStore`: its VPC, URL and secret).
 *
 * @example
 * const pointStore: PointStoreTarget = { kind: 'liveanalytics', timestream: { databaseName, tableName, tableArn } };
 */
export type PointStoreTarget = { readonly kind: 'liveanalytics'; readonly timestream: TimestreamTarget } | { readonly kind: 'influxdb'; readonly influx: InfluxStore };

/**
 * The variables a function's `pointStoreOf` reads: `TIMESTREAM_DATABASE` and `TIMESTREAM_TABLE` (LiveAnalytics, the
 * default, so a LiveAnalytics stack's functions keep the variables they always had), or `POINT_STORE=influxdb` with
 * its URL, database and secret.
 *
 * @example
 * environment: { TABLE_NAME: table.tableName, ...pointStoreEnvironment(props.pointStore) }
 */
export function pointStoreEnvironment(target: PointStoreTarget): Record<string, string> {
  if (target.kind === 'influxdb') return target.influx.environment;
  return { TIMESTREAM_DATABASE: target.timestream.databaseName, TIMESTREAM_TABLE: target.timestream.tableName };
}

/** With InfluxDB, the network of the functions that read or write points (its VPC and security group); none otherwise. */
export function pointStoreNetwork(target: PointStoreTarget): { network?: FunctionNetwork } {
  return target.kind === 'influxdb' ? { network: target.influx.network } : {};
}

/**
 * With InfluxDB, lets a function (built with `pointStoreNetwork`) read the credentials, and acknowledges the VPC
 * policy Lambda adds to its role.
 *
 * @example
 * grantInfluxAccess(this.queryFunction, props.pointStore);
 */
export function grantInfluxAccess(fn: TributaryFunction, target: PointStoreTarget): void {
  if (target.kind !== 'influxdb') return;
  target.influx.grantRead(fn.role);
  Validations.of(fn.role).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
    reason:
      'Added by Lambda itself when a function that reads or writes points is put in the InfluxDB VPC: it only creates, describes and deletes the network ' +
      'interfaces the function needs in its subnets (ec2:*NetworkInterface*), which have no narrower resource at deploy time.',
  });
}
