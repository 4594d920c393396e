import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { StoreUnavailableError } from '../domain/errors';
import type { AlertEmail, AlertEmailSender } from '../ports';

/**
 * `AlertEmailSender` on an SNS topic: the topic's email subscriptions receive the alert. The subject is cut
 * to SNS's rule (ASCII, no line breaks, at most 100 characters).
 *
 * @example
 * const email = new SnsAlertEmailSender({ client: new SNSClient({}), topicArn: config.ALERT_TOPIC_ARN });
 * await email.send({ subject: '[critical] freezer warm', message: 'f1 at -12 °C' });
 */
export class SnsAlertEmailSender implements AlertEmailSender {
  constructor(private readonly options: { client: SNSClient; topicArn: string }) {
    if (!options.client) throw new TypeError('SnsAlertEmailSender needs an SNS client.');
    if (!/^arn:aws[\w-]*:sns:[\w-]+:\d{12}:[\w-]{1,256}$/.test(options.topicArn ?? '')) {
      throw new TypeError(`SnsAlertEmailSender needs a topic ARN, got ${JSON.stringify(options.topicArn)}.`);
    }
  }

  async send(message: AlertEmail): Promise<void> {
    try {
      await this.options.client.send(new PublishCommand({ TopicArn: this.options.topicArn, Subject: snsSubject(message.subject), Message: message.message }));
    } catch (err) {
      throw new StoreUnavailableError(`SNS Publish failed: ${(err as Error).name}.`, { cause: err });
    }
  }
}

/**
 * A subject SNS accepts: printable ASCII, no line breaks, 1-100 characters.
 *
 * @example
 * snsSubject('Température\nhaute'); // 'Temp?rature haute'
 */
export function snsSubject(subject: string): string {
  const clean = subject.replace(/[\r\n]+/g, ' ').replace(/[^\x20-\x7e]/g, '?').trim().slice(0, 100);
  return clean || 'Tributary alert';
}
