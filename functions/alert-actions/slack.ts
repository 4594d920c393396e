import type { Alert } from '../../shared/domain/alert-evaluation';

/** Block Kit's limits: a section's text up to 3000 characters, a header's plain text up to 150, a field's 2000. */
const SECTION_MAX = 3000;
const HEADER_MAX = 150;
const FIELD_MAX = 2000;

/** A Slack incoming-webhook message: `text` is the notification's fallback, `blocks` what the channel shows. */
export interface SlackMessage {
  text: string;
  blocks: Record<string, unknown>[];
}

/** Slack's mrkdwn treats `&`, `<` and `>` as control characters: record content is escaped, never markup. */
export const escapeMrkdwn = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const cut = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/**
 * The incoming-webhook payload of an alert (Slack's `{text, blocks}`): a header with the rule and its state,
 * the message (the action's rendered `text` or a default sentence), and fields for severity, stream, series,
 * value and time. Values from records are escaped for mrkdwn.
 *
 * @example
 * slackMessage(alert, undefined);
 * // { text: '[critical] freezer warm on freezers: value -12', blocks: [{ type: 'header', … }, { type: 'section', … }, …] }
 */
export function slackMessage(alert: Alert, text: string | undefined): SlackMessage {
  const value = alert.value === null ? '' : `: value ${JSON.stringify(alert.value)}`;
  const fallback = cut(text ?? `[${alert.severity}] ${alert.rule} on ${alert.streamId}${value}`, SECTION_MAX);
  const field = (label: string, v: string) => ({ type: 'mrkdwn', text: cut(`*${label}*\n${escapeMrkdwn(v)}`, FIELD_MAX) });
  return {
    text: fallback,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: cut(`${alert.state === 'firing' ? 'Alert firing' : 'Alert resolved'}: ${alert.rule}`, HEADER_MAX) } },
      { type: 'section', text: { type: 'mrkdwn', text: escapeMrkdwn(fallback) } },
      {
        type: 'section',
        fields: [
          field('Severity', alert.severity),
          field('Stream', alert.streamId),
          field('Series', alert.series),
          field('Value', alert.value === null ? '—' : JSON.stringify(alert.value)),
          field('Time', alert.time),
          field('Alert id', alert.id),
        ],
      },
    ],
  };
}
