import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { EmailRefusedError, StoreUnavailableError } from '../domain/errors';
import type { AlertEmail, AlertEmailSender } from '../ports';

/** SES v2 errors that a retry cannot mend: a bad request, an unverified identity, a suspended account. */
const PERMANENT = new Set(['BadRequestException', 'MessageRejected', 'MailFromDomainNotVerifiedException', 'NotFoundException', 'AccountSuspendedException']);

/**
 * Alert email in AWS: an email that names its recipients goes out through SES v2 `SendEmail` from the
 * deployment's verified identity (`alerts.emailFrom`); one without recipients to the alert topic's
 * subscribers (`topic`, the SNS adapter).
 *
 * @example
 * const email = new SesAlertEmailSender({ client: new SESv2Client({}), from: 'alerts@example.com', topic: sns });
 * await email.send({ subject: '[critical] freezer warm', message: 'f1 at -12 °C', to: ['ops@example.com'] });
 */
export class SesAlertEmailSender implements AlertEmailSender {
  constructor(private readonly options: { client: SESv2Client; from: string | undefined; topic: AlertEmailSender }) {}

  async send(email: AlertEmail): Promise<void> {
    if (email.to === undefined) return this.options.topic.send(email);
    if (this.options.from === undefined) throw new EmailRefusedError('This deployment has no email sender for recipients: set alerts.emailFrom (an SES identity).');
    try {
      await this.options.client.send(
        new SendEmailCommand({
          FromEmailAddress: this.options.from,
          Destination: { ToAddresses: [...email.to] },
          Content: { Simple: { Subject: { Data: email.subject, Charset: 'UTF-8' }, Body: { Text: { Data: email.message, Charset: 'UTF-8' } } } },
        }),
      );
    } catch (err) {
      const name = (err as Error).name;
      if (PERMANENT.has(name)) throw new EmailRefusedError(`SES refused the email: ${name}: ${(err as Error).message}`, { cause: err });
      throw new StoreUnavailableError(`SES SendEmail failed: ${name}.`, { cause: err });
    }
  }
}
