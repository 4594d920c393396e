import { createTransport, type Transporter } from 'nodemailer';
import { EmailRefusedError, StoreUnavailableError } from '../domain/errors';
import type { AlertEmail, AlertEmailSender } from '../ports';

/**
 * `AlertEmailSender` on one machine through an SMTP server (`TRIBUTARY_SMTP_URL`, e.g. a company relay or
 * a local Postfix): an email goes to its own recipients, or else to the deployment's (`defaultTo`). An
 * email with neither is written to the log, as without SMTP. A 5xx answer of the server (a refused
 * address) fails the action for good; a connection failure or a 4xx is retried.
 *
 * @example
 * const email = new SmtpEmailSender({ url: 'smtp://127.0.0.1:2525', from: 'tributary@localhost', defaultTo: [], fallback });
 * await email.send({ subject: '[critical] freezer warm', message: 'f1 at -12 °C', to: ['ops@example.com'] });
 */
export class SmtpEmailSender implements AlertEmailSender {
  private readonly transport: Transporter;

  constructor(
    private readonly options: { url: string; from: string; defaultTo: readonly string[]; fallback: AlertEmailSender; timeoutMs?: number },
  ) {
    const timeout = options.timeoutMs ?? 10_000;
    const url = new URL(options.url);
    this.transport = createTransport({
      host: url.hostname,
      port: url.port ? Number(url.port) : url.protocol === 'smtps:' ? 465 : 25,
      secure: url.protocol === 'smtps:',
      ...(url.username && { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } }),
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    });
  }

  async send(email: AlertEmail): Promise<void> {
    const to = email.to ?? this.options.defaultTo;
    if (to.length === 0) return this.options.fallback.send(email);
    try {
      await this.transport.sendMail({ from: this.options.from, to: [...to], subject: email.subject, text: email.message });
    } catch (err) {
      const code = (err as { responseCode?: number }).responseCode;
      if (code !== undefined && code >= 500) throw new EmailRefusedError(`The SMTP server refused the email (${code}): ${firstLine(err)}`, { cause: err });
      throw new StoreUnavailableError(`SMTP send failed: ${(err as NodeJS.ErrnoException).code ?? firstLine(err)}`, { cause: err });
    }
  }

  close(): void {
    this.transport.close();
  }
}

function firstLine(err: unknown): string {
  return String((err as Error).message ?? err).split('\n')[0]!.slice(0, 200);
}
