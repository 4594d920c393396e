import { describe, expect, it } from 'vitest';
import { loadLocalConfig } from '../../infra/local/config';

describe("the local runtime's alert email and ticket settings", () => {
  it('sends through the SMTP server named, from the address given, to the default recipients listed', () => {
    const config = loadLocalConfig({
      TRIBUTARY_SMTP_URL: 'smtp://relay:secret@mail.example.com:587',
      TRIBUTARY_EMAIL_FROM: 'alerts@example.com',
      TRIBUTARY_ALERT_EMAIL_TO: 'ops@example.com, oncall@example.com',
    });
    expect(config.smtp).toEqual({ url: 'smtp://relay:secret@mail.example.com:587', from: 'alerts@example.com', defaultTo: ['ops@example.com', 'oncall@example.com'] });
    expect(loadLocalConfig({}).smtp).toBeUndefined();
  });

  it('names a ticket system per TRIBUTARY_TICKET_SYSTEM_<NAME>, the name in lower case', () => {
    const config = loadLocalConfig({ TRIBUTARY_TICKET_SYSTEM_MAINTENANCE_SYSTEM: 'https://tickets.example.com/api/tickets', TRIBUTARY_TICKET_SYSTEM_EMPTY: '' });
    expect(config.ticketSystems).toEqual({ maintenance_system: 'https://tickets.example.com/api/tickets' });
  });

  it('names every bad one at once', () => {
    expect(() =>
      loadLocalConfig({
        TRIBUTARY_SMTP_URL: 'https://mail.example.com',
        TRIBUTARY_ALERT_EMAIL_TO: 'ops at example',
        TRIBUTARY_TICKET_SYSTEM_HELPDESK: 'ftp://tickets.example.com',
      }),
    ).toThrow(/TRIBUTARY_SMTP_URL: must be smtp:\/\/[\s\S]*TRIBUTARY_ALERT_EMAIL_TO[\s\S]*TRIBUTARY_TICKET_SYSTEM_HELPDESK: must be an http\(s\) URL/);
    expect(() => loadLocalConfig({ 'TRIBUTARY_TICKET_SYSTEM_9X': 'https://t.example.com' })).toThrow(/TRIBUTARY_TICKET_SYSTEM_9X: the name must be/);
  });
});
