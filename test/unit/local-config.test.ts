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

describe("the local runtime's point store settings", () => {
  it('keep points in DuckDB unless TRIBUTARY_STORE=influxdb names an InfluxDB, with a user or a token', () => {
    expect(loadLocalConfig({}).influx).toBeUndefined();
    expect(loadLocalConfig({ TRIBUTARY_INFLUX_URL: 'http://127.0.0.1:8086' }).influx).toBeUndefined();
    expect(loadLocalConfig({ TRIBUTARY_STORE: 'influxdb', TRIBUTARY_INFLUX_URL: 'http://127.0.0.1:8086' }).influx).toEqual({ url: 'http://127.0.0.1:8086', database: 'tributary', createDatabase: true });
    const user = loadLocalConfig({ TRIBUTARY_STORE: 'influxdb', TRIBUTARY_INFLUX_URL: 'https://db.example.com:8086', TRIBUTARY_INFLUX_DATABASE: 'plant', TRIBUTARY_INFLUX_USERNAME: 'u', TRIBUTARY_INFLUX_PASSWORD: 'p' });
    expect(user.influx).toEqual({ url: 'https://db.example.com:8086', database: 'plant', credentials: { username: 'u', password: 'p' }, createDatabase: true });
    expect(loadLocalConfig({ TRIBUTARY_STORE: 'influxdb', TRIBUTARY_INFLUX_URL: 'http://h:8086', TRIBUTARY_INFLUX_TOKEN: 't' }).influx?.credentials).toEqual({ token: 't' });
  });

  it('name a missing URL, half a user and an unknown store', () => {
    expect(() => loadLocalConfig({ TRIBUTARY_STORE: 'influxdb', TRIBUTARY_INFLUX_USERNAME: 'u' })).toThrow(/TRIBUTARY_INFLUX_URL: required[\s\S]*TRIBUTARY_INFLUX_PASSWORD: give both/);
    expect(() => loadLocalConfig({ TRIBUTARY_STORE: 'timescale' })).toThrow(/TRIBUTARY_STORE/);
  });
});
