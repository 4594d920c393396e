import { IoTDataPlaneClient, PublishCommand as IotPublishCommand, ThrottlingException as IotThrottling } from '@aws-sdk/client-iot-data-plane';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand, StateMachineDoesNotExist } from '@aws-sdk/client-sfn';
import { MailFromDomainNotVerifiedException, MessageRejected, SendEmailCommand, SESv2Client, TooManyRequestsException } from '@aws-sdk/client-sesv2';
import { PublishCommand as SnsPublishCommand, SNSClient, ThrottledException } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { IotDataAlertPublisher } from '../../shared/aws/iot-alert-publisher';
import { executionName, SfnAlertStarter } from '../../shared/aws/sfn-alert-starter';
import { SesAlertEmailSender } from '../../shared/aws/ses-alert-email';
import { SnsAlertEmailSender, snsSubject } from '../../shared/aws/sns-alert-email';
import type { Alert } from '../../shared/domain/alert-evaluation';
import { EmailRefusedError, StoreUnavailableError } from '../../shared/domain/errors';

// Shapes from the API references: StartExecution answers {executionArn, startDate} and fails with
// ExecutionAlreadyExists when a running or recent execution has the same name; SNS Publish answers
// {MessageId} and throttles with ThrottledException; IoT data plane Publish answers {} and throttles with
// ThrottlingException. SES v2 SendEmail answers {MessageId}; it refuses for good with MessageRejected (a
// bad address, or in the sandbox an unverified recipient) and MailFromDomainNotVerifiedException, and
// throttles with TooManyRequestsException.

const STATE_MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:TributaryAlertActions';
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:TributaryAlerts';
const meta = { $metadata: { httpStatusCode: 400 } };

const alert = {
  id: 'freezers.0mh5k2x1aabc123def',
  streamId: 'freezers',
  rule: 'warm',
  severity: 'critical',
  series: '["f1"]',
  dimensions: { deviceId: 'f1' },
  value: -12,
  time: '2026-03-01T12:00:00.000Z',
  firedAt: '2026-03-01T12:00:00.100Z',
  state: 'firing',
  acknowledged: false,
  actions: [{ type: 'webhook', status: 'pending', attempts: 0 }],
} satisfies Alert;
const actions = [{ index: 0, action: { type: 'webhook' as const, url: 'https://ops.example.com/hook' } }];

describe('SfnAlertStarter (StartExecution, mocked)', () => {
  const client = new SFNClient({ region: 'eu-west-1' });
  const sfn = mockClient(client);
  beforeEach(() => sfn.reset());

  it('starts one execution named after the alert with the alert and its actions as input', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${STATE_MACHINE.replace(':stateMachine:', ':execution:')}:x`, startDate: new Date() });
    await new SfnAlertStarter({ client, stateMachineArn: STATE_MACHINE }).start({ alert, actions });
    const [call] = sfn.commandCalls(StartExecutionCommand);
    expect(call!.args[0].input).toEqual({ stateMachineArn: STATE_MACHINE, name: 'freezers_0mh5k2x1aabc123def', input: JSON.stringify({ alert, actions }) });
  });

  it('treats an execution that already exists as started (a retried batch)', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', ...meta }));
    await expect(new SfnAlertStarter({ client, stateMachineArn: STATE_MACHINE }).start({ alert, actions })).resolves.toBeUndefined();
  });

  it('turns any other failure into a StoreUnavailableError that keeps the cause', async () => {
    const cause = new StateMachineDoesNotExist({ message: 'State Machine Does Not Exist', ...meta });
    sfn.on(StartExecutionCommand).rejects(cause);
    const err = await new SfnAlertStarter({ client, stateMachineArn: STATE_MACHINE }).start({ alert, actions }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).cause).toBe(cause);
  });

  it('names executions within the 80 characters Step Functions allows', () => {
    const long = `${'s'.repeat(64)}.0mh5k2x1aabc123def`;
    expect(executionName(long)).toHaveLength(80);
    expect(executionName(long)).toMatch(/^[A-Za-z0-9_-]+_0mh5k2x1aabc123def$/);
    expect(() => new SfnAlertStarter({ client, stateMachineArn: 'nope' })).toThrow(TypeError);
  });
});

describe('SnsAlertEmailSender (Publish, mocked)', () => {
  const client = new SNSClient({ region: 'eu-west-1' });
  const sns = mockClient(client);
  beforeEach(() => sns.reset());

  it('publishes the message to the topic with a subject SNS accepts', async () => {
    sns.on(SnsPublishCommand).resolves({ MessageId: 'm-1' });
    await new SnsAlertEmailSender({ client, topicArn: TOPIC }).send({ subject: '[critical] Température\nhaute', message: 'f1 at -12 °C' });
    expect(sns.commandCalls(SnsPublishCommand)[0]!.args[0].input).toEqual({ TopicArn: TOPIC, Subject: '[critical] Temp?rature haute', Message: 'f1 at -12 °C' });
    expect(snsSubject('x'.repeat(300))).toHaveLength(100);
  });

  it('turns throttling into a StoreUnavailableError (the state machine retries the action)', async () => {
    sns.on(SnsPublishCommand).rejects(new ThrottledException({ message: 'Rate exceeded', ...meta }));
    await expect(new SnsAlertEmailSender({ client, topicArn: TOPIC }).send({ subject: 's', message: 'm' })).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});

describe('SesAlertEmailSender (SES v2 SendEmail, mocked)', () => {
  const client = new SESv2Client({ region: 'eu-west-1' });
  const ses = mockClient(client);
  const snsClient = new SNSClient({ region: 'eu-west-1' });
  const sns = mockClient(snsClient);
  const topic = new SnsAlertEmailSender({ client: snsClient, topicArn: TOPIC });
  beforeEach(() => {
    ses.reset();
    sns.reset();
  });

  it('sends an email with recipients from the verified identity, as UTF-8 text', async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: '0100018c-ses' });
    await new SesAlertEmailSender({ client, from: 'alerts@example.com', topic }).send({ subject: '[critical] Température', message: 'f1 at -12 °C', to: ['ops@example.com', 'facilities@company.com'] });
    expect(ses.commandCalls(SendEmailCommand)[0]!.args[0].input).toEqual({
      FromEmailAddress: 'alerts@example.com',
      Destination: { ToAddresses: ['ops@example.com', 'facilities@company.com'] },
      Content: { Simple: { Subject: { Data: '[critical] Température', Charset: 'UTF-8' }, Body: { Text: { Data: 'f1 at -12 °C', Charset: 'UTF-8' } } } },
    });
    expect(sns.commandCalls(SnsPublishCommand)).toHaveLength(0);
  });

  it('hands an email without recipients to the alert topic', async () => {
    sns.on(SnsPublishCommand).resolves({ MessageId: 'm-1' });
    await new SesAlertEmailSender({ client, from: undefined, topic }).send({ subject: 's', message: 'm' });
    expect(sns.commandCalls(SnsPublishCommand)).toHaveLength(1);
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
  });

  it('fails for good on what a retry cannot mend, and for a retry on throttling', async () => {
    const sender = new SesAlertEmailSender({ client, from: 'alerts@example.com', topic });
    const email = { subject: 's', message: 'm', to: ['ops@example.com'] };
    ses
      .on(SendEmailCommand)
      .rejectsOnce(new MessageRejected({ message: 'Email address is not verified.', ...meta }))
      .rejectsOnce(new MailFromDomainNotVerifiedException({ message: 'not verified', ...meta }))
      .rejectsOnce(new TooManyRequestsException({ message: 'Maximum sending rate exceeded.', ...meta }));
    await expect(sender.send(email)).rejects.toThrow(EmailRefusedError);
    await expect(sender.send(email)).rejects.toThrow(EmailRefusedError);
    await expect(sender.send(email)).rejects.toThrow(StoreUnavailableError);
    await expect(new SesAlertEmailSender({ client, from: undefined, topic }).send(email)).rejects.toThrow(/set alerts.emailFrom/);
  });
});

describe('IotDataAlertPublisher (Publish, mocked)', () => {
  const client = new IoTDataPlaneClient({ region: 'eu-west-1' });
  const iot = mockClient(client);
  beforeEach(() => iot.reset());

  it('publishes the payload at QoS 1 to the topic', async () => {
    iot.on(IotPublishCommand).resolves({});
    await new IotDataAlertPublisher({ client }).publish('tributary/freezers/devices/f1/alerts', '{"a":1}');
    const input = iot.commandCalls(IotPublishCommand)[0]!.args[0].input;
    expect({ ...input, payload: new TextDecoder().decode(input.payload as Uint8Array) }).toEqual({
      topic: 'tributary/freezers/devices/f1/alerts',
      qos: 1,
      payload: '{"a":1}',
      contentType: 'application/json',
    });
  });

  it('turns throttling into a StoreUnavailableError', async () => {
    iot.on(IotPublishCommand).rejects(new IotThrottling({ message: 'Rate exceeded', ...meta }));
    await expect(new IotDataAlertPublisher({ client }).publish('t', 'p')).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
