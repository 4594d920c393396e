import * as z from 'zod';
import { SEVERITIES } from './alert-rules';

const Title = z.string().trim().min(1).max(128);
const StreamRef = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a stream id');
const FieldRef = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,59}$/, 'must be a field name');
/** The document's `24h`, `30s`: a count and s, m, h, d or w. */
const Span = z.string().regex(/^[1-9][0-9]{0,4}(s|m|h|d|w)$/, 'must be a count and s, m, h, d or w (24h, 30s)');
/** A CSS colour a gauge band is drawn in: a name, #rgb(a) hex, or rgb()/hsl() — nothing that could close a style. */
const Colour = z.string().regex(/^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20}|(rgb|rgba|hsl|hsla)\([0-9., %]{1,40}\))$/, 'must be a colour name, #hex, rgb() or hsl()');

const LineChartWidget = z.strictObject({
  type: z.literal('line_chart'),
  title: Title,
  streamId: StreamRef.optional(),
  field: FieldRef,
  timeWindow: Span.optional(),
  refreshInterval: Span.optional(),
});

const GaugeWidget = z.strictObject({
  type: z.literal('gauge'),
  title: Title,
  streamId: StreamRef.optional(),
  field: FieldRef,
  ranges: z
    .array(z.strictObject({ min: z.number().finite(), max: z.number().finite(), color: Colour, label: z.string().max(64).optional() }))
    .max(12)
    .optional(),
});

const AlertPanelWidget = z.strictObject({
  type: z.literal('alert_panel'),
  title: Title,
  streamIds: z.array(StreamRef).max(50).optional(),
  severities: z.array(z.enum(SEVERITIES)).max(SEVERITIES.length).optional(),
});

/** One widget of a dashboard, as the Data Streams document writes them. */
export const DashboardWidgetSchema = z.discriminatedUnion('type', [LineChartWidget, GaugeWidget, AlertPanelWidget]);
export type DashboardWidget = z.infer<typeof DashboardWidgetSchema>;

/**
 * A saved dashboard of a stream, in the Data Streams document's shape: `{name, streamIds?, widgets: [line_chart |
 * gauge | alert_panel], layout?: {columns, responsive}}`. The web dashboard renders its widgets as panels.
 *
 * @example
 * DashboardSchema.parse({ name: 'Facility', widgets: [{ type: 'gauge', title: 'Humidity', field: 'humidity' }], layout: { columns: 3 } });
 */
export const DashboardSchema = z.strictObject({
  name: Title,
  streamIds: z.array(StreamRef).max(50).optional(),
  widgets: z.array(DashboardWidgetSchema).min(1).max(24),
  layout: z.strictObject({ columns: z.number().int().min(1).max(6), responsive: z.boolean().optional() }).optional(),
});
export type Dashboard = z.infer<typeof DashboardSchema>;

/** A stream's saved dashboards: at most 20, names unique. */
export const DashboardsSchema = z.array(DashboardSchema).max(20);

/**
 * Checks dashboards against the stream they are saved on: names are unique, a widget of this stream (no
 * `streamId`, or this stream's) names one of its numeric fields, and a gauge band's `min` is below its `max`.
 * Widgets of other streams are checked when the page reads those streams.
 *
 * @example
 * checkDashboards(dashboards, { id: 'freezers', schema }, (path, message) => issues.push({ path, message }));
 */
export function checkDashboards(dashboards: Dashboard[], stream: { id?: string; schema: Record<string, { type: string }> }, report: (path: (string | number)[], message: string) => void): void {
  const names = new Set<string>();
  dashboards.forEach((d, i) => {
    if (names.has(d.name)) report(['dashboards', i, 'name'], `'${d.name}' is named twice`);
    names.add(d.name);
    d.widgets.forEach((w, j) => {
      if (w.type === 'alert_panel') return;
      if (w.streamId === undefined || w.streamId === stream.id) {
        const spec = Object.hasOwn(stream.schema, w.field) ? stream.schema[w.field] : undefined;
        if (!spec) report(['dashboards', i, 'widgets', j, 'field'], `'${w.field}' is not a field of the schema`);
        else if (spec.type !== 'number' && spec.type !== 'integer') report(['dashboards', i, 'widgets', j, 'field'], `'${w.field}' is a ${spec.type} field: a ${w.type} needs numbers`);
      }
      if (w.type === 'gauge') {
        w.ranges?.forEach((r, k) => {
          if (!(r.min < r.max)) report(['dashboards', i, 'widgets', j, 'ranges', k, 'min'], 'must be below max');
        });
      }
    });
  });
}
