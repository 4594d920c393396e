/**
 * The InfluxQL subset Tributary answers, as a tree: what the Grafana InfluxDB data source sends (its query
 * editor's metadata lists, template variables, time-series panels). Produced only by `parseInfluxQL`;
 * identifiers and literals here are values, never text to splice anywhere.
 *
 * @example
 * const [stmt] = parseInfluxQL('SHOW MEASUREMENTS'); // { kind: 'show_measurements' }
 */
export type Statement = ShowMeasurements | ShowTagKeys | ShowTagValues | ShowFieldKeys | ShowRetentionPolicies | Select;

/** `SHOW RETENTION POLICIES [ON db]`: the query editor asks; Tributary has one, `autogen`. */
export interface ShowRetentionPolicies {
  kind: 'show_retention_policies';
}

export interface ShowMeasurements {
  kind: 'show_measurements';
  /** `WITH MEASUREMENT =~ /re/` or `= "name"`. */
  match?: Match;
  /** Only measurements with a series whose tags match. */
  where?: Condition;
  limit?: number;
}
export interface ShowTagKeys {
  kind: 'show_tag_keys';
  from?: string;
  where?: Condition;
  limit?: number;
}
export interface ShowTagValues {
  kind: 'show_tag_values';
  from?: string;
  /** `WITH KEY = "k"` or `IN ("a", "b")`. */
  keys: string[];
  where?: Condition;
  limit?: number;
}
export interface ShowFieldKeys {
  kind: 'show_field_keys';
  from?: string;
}

export interface Select {
  kind: 'select';
  fields: FieldExpr[];
  from: string;
  where?: Condition;
  /** `GROUP BY time(10s)`, in ms. */
  interval?: number;
  groupBy: string[];
  fill: Fill;
  order: 'asc' | 'desc';
  limit?: number;
}

/** `mean("value") AS "m"`, or a bare field (`"value"`) with `fn` undefined. */
export interface FieldExpr {
  fn?: string;
  field: string;
  /** `percentile("f", 95)`'s 95. */
  arg?: number;
  alias?: string;
}

export type Fill = { kind: 'null' } | { kind: 'none' } | { kind: 'previous' } | { kind: 'linear' } | { kind: 'value'; value: number };

export type Match = { op: '='; value: string } | { op: '=~'; regex: string };

export type Condition =
  | { kind: 'and' | 'or'; left: Condition; right: Condition }
  | { kind: 'compare'; left: Operand; op: CompareOp; right: Operand };

export type CompareOp = '=' | '!=' | '<>' | '=~' | '!~' | '<' | '<=' | '>' | '>=';

export type Operand =
  | { kind: 'ident'; name: string }
  | { kind: 'time' }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  /** A duration literal (`1700000000000ms`, `6h`), in ms. */
  | { kind: 'duration'; ms: number }
  | { kind: 'regex'; source: string }
  | { kind: 'bool'; value: boolean }
  /** `now()`, plus an offset in ms (`now() - 6h` is −21 600 000). */
  | { kind: 'now'; offsetMs: number };
