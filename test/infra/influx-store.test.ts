import { describe, expect, it } from 'vitest';
import type { TributaryFunction } from '../../infra/aws/constructs/function';
import { INFLUX_INTERFACE_ENDPOINTS, INFLUX_PORT } from '../../infra/aws/constructs/influx-store';
import { STATEFUL_RESOURCE_TYPES } from '../../infra/aws/constructs/removal';
import { synthesizeTributary, useSynthesizedTributary } from '../fixtures/synth';

// `store: influxdb`, every InfluxDB setting given, so each reaches the template
const synth = useSynthesizedTributary({
  stackProps: {
    config: {
      store: 'influxdb',
      influxdb: { instanceType: 'db.influx.large', allocatedStorageGiB: 50, deploymentType: 'WITH_MULTIAZ_STANDBY', parameterGroupIdentifier: 'tributaryParams', cpuAlarmPercent: 75, diskAlarmPercent: 85 },
    },
  },
});

const countsOf = (resources: Record<string, { Type: string }>) => {
  const counts: Record<string, number> = {};
  for (const r of Object.values(resources)) counts[r.Type] = (counts[r.Type] ?? 0) + 1;
  return counts;
};

describe('store: influxdb', () => {
  const pointFunctions = () => [synth.stack.ingest.writerFunction, synth.stack.api.queryFunction, synth.stack.alerts.silenceFunction];
  const env = (fn: TributaryFunction) => synth.props(fn.fn).Environment.Variables as Record<string, unknown>;

  it('makes a Timestream for InfluxDB instance with the settings given, in the isolated subnets, not publicly accessible, and no Timestream for LiveAnalytics', () => {
    const [instance] = synth.ofType('AWS::Timestream::InfluxDBInstance');
    expect(synth.ofType('AWS::Timestream::InfluxDBInstance')).toHaveLength(1);
    expect(instance).toMatchObject({
      DbInstanceType: 'db.influx.large',
      AllocatedStorage: 50,
      DbStorageType: 'InfluxIOIncludedT1',
      DeploymentType: 'WITH_MULTIAZ_STANDBY',
      DbParameterGroupIdentifier: 'tributaryParams',
      PubliclyAccessible: false,
      Port: INFLUX_PORT,
      Organization: 'tributary',
      Bucket: 'tributary',
      Username: 'tributary',
      VpcSecurityGroupIds: [synth.getAtt(synth.stack.influx!.databaseSecurityGroup, 'GroupId')],
    });
    // the password is the generated secret's, by dynamic reference: never in the template
    expect(JSON.stringify(instance!.Password)).toContain('{{resolve:secretsmanager:');
    expect(JSON.stringify(instance!.Password)).toContain(':SecretString:password::}}');
    const isolated = synth.stack.influx!.vpc.isolatedSubnets.map((s) => ({ Ref: synth.logicalId(s.node.defaultChild!) }));
    expect(instance!.VpcSubnetIds).toEqual(isolated);
    expect(synth.ofType('AWS::Timestream::Database')).toEqual([]);
    expect(synth.ofType('AWS::Timestream::Table')).toEqual([]);
    expect(STATEFUL_RESOURCE_TYPES.has('AWS::Timestream::InfluxDBInstance')).toBe(true);
  });

  it('builds a VPC of isolated subnets only: no internet gateway, no NAT gateway, no public subnet', () => {
    expect(synth.ofType('AWS::EC2::VPC')).toHaveLength(1);
    expect(synth.ofType('AWS::EC2::NatGateway')).toEqual([]);
    expect(synth.ofType('AWS::EC2::InternetGateway')).toEqual([]);
    expect(synth.ofType('AWS::EC2::EIP')).toEqual([]);
    const subnets = synth.ofType('AWS::EC2::Subnet');
    expect(subnets).toHaveLength(2);
    for (const s of subnets) expect(s.MapPublicIpOnLaunch).toBe(false);
    // no route out of the VPC but the gateway endpoints' (routes carry no 0.0.0.0/0)
    expect(synth.ofType('AWS::EC2::Route')).toEqual([]);
    expect(synth.ofType('AWS::EC2::FlowLog')).toHaveLength(1);
  });

  it('has an interface endpoint for every service the functions in the VPC call, and gateway endpoints for DynamoDB and S3', () => {
    const endpoints = synth.ofType('AWS::EC2::VPCEndpoint');
    const interfaces = endpoints.filter((e) => e.VpcEndpointType === 'Interface');
    expect(interfaces.map((e) => e.PrivateDnsEnabled)).toEqual(interfaces.map(() => true));
    expect(interfaces.map((e) => JSON.stringify(e.ServiceName)).sort()).toEqual(
      Object.values(INFLUX_INTERFACE_ENDPOINTS).map((s) => JSON.stringify(synth.stack.resolve(s.name))).sort(),
    );
    const names = interfaces.map((e) => JSON.stringify(e.ServiceName)).join(' ');
    for (const service of ['sqs', 'secretsmanager', 'sts', 'logs', 'states', 'kms', 'xray']) expect(names).toContain(`.${service}"`);
    const gateways = endpoints.filter((e) => e.VpcEndpointType === 'Gateway').map((e) => JSON.stringify(e.ServiceName));
    expect(gateways.sort()).toEqual([expect.stringContaining('.dynamodb'), expect.stringContaining('.s3')]);
  });

  it('lets into the database only the functions’ security group, on 8086, and lets the functions out only to 8086 and HTTPS', () => {
    const influx = synth.stack.influx!;
    const db = synth.props(influx.databaseSecurityGroup);
    const fns = synth.props(influx.functionsSecurityGroup);
    const ingress = synth.ofType('AWS::EC2::SecurityGroupIngress').filter((r) => JSON.stringify(r.GroupId) === JSON.stringify(synth.getAtt(influx.databaseSecurityGroup, 'GroupId')));
    expect(db.SecurityGroupIngress ?? []).toEqual([]);
    expect(ingress).toEqual([expect.objectContaining({ IpProtocol: 'tcp', FromPort: 8086, ToPort: 8086, SourceSecurityGroupId: synth.getAtt(influx.functionsSecurityGroup, 'GroupId') })]);
    // the database opens no connection of its own (CDK's placeholder rule that matches no traffic)
    expect(db.SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '255.255.255.255/32' })]);
    const egress = [
      ...(fns.SecurityGroupEgress ?? []),
      ...synth.ofType('AWS::EC2::SecurityGroupEgress').filter((r) => JSON.stringify(r.GroupId) === JSON.stringify(synth.getAtt(influx.functionsSecurityGroup, 'GroupId'))),
    ].map((r) => [r.FromPort, r.ToPort, r.CidrIp ?? 'group']);
    expect(egress.sort()).toEqual([[443, 443, '0.0.0.0/0'], [8086, 8086, 'group']]);
    const endpointIngress = synth.ofType('AWS::EC2::SecurityGroupIngress').filter((r) => JSON.stringify(r.GroupId) === JSON.stringify(synth.getAtt(influx.endpointsSecurityGroup, 'GroupId')));
    expect(endpointIngress.map((r) => [r.FromPort, r.SourceSecurityGroupId])).toEqual([[443, synth.getAtt(influx.functionsSecurityGroup, 'GroupId')]]);
  });

  it('runs the writer, query and silence functions (and only they) in the VPC with the functions’ group, told where InfluxDB is and allowed to read its secret alone', () => {
    const influx = synth.stack.influx!;
    for (const fn of pointFunctions()) {
      expect(synth.props(fn.fn).VpcConfig, fn.node.path).toEqual({ SubnetIds: influx.vpc.isolatedSubnets.map((s) => ({ Ref: synth.logicalId(s.node.defaultChild!) })), SecurityGroupIds: [synth.getAtt(influx.functionsSecurityGroup, 'GroupId')] });
      expect(env(fn)).toMatchObject({ POINT_STORE: 'influxdb', INFLUX_DATABASE: 'tributary', INFLUX_SECRET_ARN: { Ref: synth.logicalId(influx.secret) } });
      expect(JSON.stringify(env(fn).INFLUX_URL)).toContain(':8086');
      expect(env(fn)).not.toHaveProperty('TIMESTREAM_DATABASE');
      expect(synth.resourcesFor(fn, 'secretsmanager:GetSecretValue')).toEqual([{ Ref: synth.logicalId(influx.secret) }]);
      expect(synth.actionsOf(fn).filter((a) => a.startsWith('timestream:'))).toEqual([]);
    }
    const others = synth.stack.node.findAll().filter((c): c is TributaryFunction => 'handler' in c && 'fn' in c && !pointFunctions().includes(c as TributaryFunction));
    expect(others.length).toBeGreaterThan(5);
    for (const fn of others) expect(synth.props(fn.fn).VpcConfig, fn.node.path).toBeUndefined();
  });

  it('keeps the credentials in a generated secret of the shape Timestream for InfluxDB documents', () => {
    expect(synth.props(synth.stack.influx!.secret).GenerateSecretString).toMatchObject({
      SecretStringTemplate: JSON.stringify({ engine: 'timestream-influxdb', username: 'tributary' }),
      GenerateStringKey: 'password',
      ExcludePunctuation: true,
    });
  });

  it('pages on the instance’s CPU and disk at the thresholds set, through the alarm topic', () => {
    const alarms = synth.ofType('AWS::CloudWatch::Alarm').filter((a) => a.Namespace === 'AWS/Timestream/InfluxDB');
    expect(alarms.map((a) => [a.MetricName, a.Threshold, a.Dimensions])).toEqual([
      ['CPUUtilization', 75, [{ Name: 'DbInstanceName', Value: { Ref: synth.logicalId(synth.stack.influx!.instance) } }]],
      ['DiskUtilization', 85, [{ Name: 'DbInstanceName', Value: { Ref: synth.logicalId(synth.stack.influx!.instance) } }]],
    ]);
    for (const a of alarms) expect(a.AlarmActions).toEqual([{ Ref: synth.logicalId(synth.stack.observability.alarmTopic) }]);
  });

  it('leaves no unacknowledged cdk-nag finding', () => {
    expect(synth.nagReport.violations.map((v) => `${v.ruleName}: ${v.description}`)).toEqual([]);
  });
});

describe('store: liveanalytics (the default)', () => {
  it('has no VPC, no InfluxDB and the same resources as store: timestream, its former name', () => {
    const byDefault = synthesizeTributary();
    const named = synthesizeTributary({ stackProps: { config: { store: 'liveanalytics' } } });
    const former = synthesizeTributary({ stackProps: { config: { store: 'timestream' } } });
    const counts = countsOf(byDefault.resources);
    expect(counts['AWS::EC2::VPC']).toBeUndefined();
    expect(counts['AWS::EC2::VPCEndpoint']).toBeUndefined();
    expect(counts['AWS::EC2::SecurityGroup']).toBeUndefined();
    expect(counts['AWS::Timestream::InfluxDBInstance']).toBeUndefined();
    expect(counts).toMatchObject({ 'AWS::Timestream::Database': 1, 'AWS::Timestream::Table': 1 });
    // the stack as it was before the influxdb store (319 resources at f7191fa), plus the stored rollups' table
    // and the dashboard's site (bucket, CloudFront, its deployment) that landed beside it: 338
    expect(Object.keys(byDefault.resources)).toHaveLength(338);
    expect(named.template.toJSON()).toEqual(byDefault.template.toJSON());
    expect(former.template.toJSON()).toEqual(byDefault.template.toJSON());
    for (const fn of [byDefault.stack.ingest.writerFunction, byDefault.stack.api.queryFunction, byDefault.stack.alerts.silenceFunction]) {
      expect(byDefault.props(fn.fn).VpcConfig).toBeUndefined();
      expect(byDefault.props(fn.fn).Environment.Variables).not.toHaveProperty('POINT_STORE');
    }
  });

  it('refuses a store it does not know and a bad InfluxDB setting, naming the key', () => {
    expect(() => synthesizeTributary({ stackProps: { config: { store: 'postgres' as never } } })).toThrow(/tributary:store/);
    expect(() => synthesizeTributary({ stackProps: { config: { store: 'influxdb', influxdb: { allocatedStorageGiB: 10 } } } })).toThrow(/tributary:influxdb\.allocatedStorageGiB/);
  });
});
