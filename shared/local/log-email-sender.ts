import type { AlertEmail, AlertEmailSender } from '../ports';

/**
 * `AlertEmailSender` on one machine: the email is written to the log (one JSON line), not sent. In AWS the
 * SNS adapter publishes it to the alert topic, whose subscriptions receive it.
 *
 * @example
 * const email = new LogEmailSender((line) => console.log(line));
 * await email.send({ subject: 'freezer warm', message: 'f1 at -12 °C' });
 */
export class LogEmailSender implements AlertEmailSender {
  constructor(private readonly write: (line: string) => void) {}

  async send(message: AlertEmail): Promise<void> {
    this.write(JSON.stringify({ level: 'info', message: 'alert email (local: logged, not sent)', ...(message.to && { to: message.to }), subject: message.subject, body: message.message }));
  }
}
