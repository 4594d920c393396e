/**
 * How a stream maps onto DuckDB: its two tables, a column per field (names kept distinct under DuckDB's
 * case-insensitive identifiers), each field's kind of column, and the in-memory index of its series.
 */
import { BIGINT, BOOLEAN, DOUBLE, VARCHAR, type DuckDBType } from '@duckdb/node-api';
import type { FieldType, Stream } from '../../domain/stream-definition';

/** The four kinds of measure column; every field type is stored as one of them. */
export type Kind = 'double' | 'bigint' | 'varchar' | 'boolean';

const KIND_OF_TYPE: Record<FieldType, Kind> = {
  number: 'double',
  integer: 'bigint',
  datetime: 'bigint',
  string: 'varchar',
  object: 'varchar',
  array: 'varchar',
  graph: 'varchar',
  boolean: 'boolean',
};
/** Each kind's column type, as SQL text and as the appender's vector type. */
export const SQL_TYPE: Record<Kind, string> = { double: 'DOUBLE', bigint: 'BIGINT', varchar: 'VARCHAR', boolean: 'BOOLEAN' };
export const CHUNK_TYPE: Record<Kind, DuckDBType> = { double: DOUBLE, bigint: BIGINT, varchar: VARCHAR, boolean: BOOLEAN };
const KIND_OF_SQL: Record<string, Kind> = { DOUBLE: 'double', BIGINT: 'bigint', VARCHAR: 'varchar', BOOLEAN: 'boolean' };
/** What a kind's value must be in JavaScript, and how a refusal names it. */
export const JS_TYPE: Record<Kind, 'number' | 'string' | 'boolean'> = { double: 'number', bigint: 'number', varchar: 'string', boolean: 'boolean' };
export const DESCRIBE_KIND: Record<Kind, string> = { double: 'a finite number', bigint: 'a safe integer', varchar: 'a string', boolean: 'a boolean' };

/** A stream's tables as the store knows them. */
export interface Table {
  /** Quoted names, and the bare names the appender takes. */
  points: string;
  series: string;
  stage: string;
  pointsName: string;
  seriesName: string;
  stageName: string;
  /** Measure columns in table order: field → kind. */
  measures: Map<string, Kind>;
  /** Dimension columns of the series table, in table order (field names). */
  dims: string[];
  /** The stream version whose fields all have a column (0: not checked since open). */
  version: number;
  stageReady: boolean;
  /** The stream's rollup tables exist and every bin not pending is up to date with its points (`rollup-store.ts`). */
  rollups?: boolean;
  /** The span of the stream's pending bins (`rollup-compactor.ts`), undefined when none is. */
  pending?: { lo: number; hi: number };
  /** The stream's definition as last written or queried: what the compactor needs (levels, fields). */
  definition?: Stream;
  /** The stream's series, loaded on first write or `latest()`. */
  index?: SeriesIndex;
}

/** A node of the series trie: one dimension value deeper per level. */
export interface SeriesNode {
  sid?: number;
  next?: Map<string, SeriesNode>;
}

/**
 * A stream's series: a trie from dimension values to the series number (during a write it also holds the
 * series that write creates), and per committed series its dimension values and newest stored time.
 */
export interface SeriesIndex {
  root: SeriesNode;
  dimensions: string[][];
  newest: number[];
  count: number;
}

/** A stream's `Table` from the columns DuckDB lists for its points and series tables. */
export function tableOf(id: string, points: [string, string][], series: string[], version: number): Table {
  const measures = new Map<string, Kind>();
  for (const [column, type] of points) {
    if (column === '$series' || column === 'time') continue;
    measures.set(fieldOf(column), KIND_OF_SQL[type] ?? 'varchar');
  }
  return {
    points: pointsTable(id),
    series: seriesTable(id),
    stage: stageTable(id),
    pointsName: `points/${id}`,
    seriesName: `series/${id}`,
    stageName: `stage/${id}`,
    measures,
    dims: series.filter((c) => c !== '$series').map(fieldOf),
    version,
    stageReady: false,
  };
}

/** The quoted names of a stream's tables (the staging table is a temporary one). */
export const pointsTable = (id: string) => `"points/${id}"`;
export const seriesTable = (id: string) => `"series/${id}"`;
export const stageTable = (id: string) => `temp.main."stage/${id}"`;

/** A field's column: DuckDB matches identifiers case-insensitively, so capitals are marked to keep names distinct. */
export function columnOf(field: string): string {
  return field.replace(/[A-Z]/g, '^$&');
}

function fieldOf(column: string): string {
  return column.replaceAll('^', '');
}

const SAFE_IDENT = /^[A-Za-z_^][A-Za-z0-9_^]*$/;

/** A column name quoted for SQL; throws for anything but the names `columnOf` makes. */
export function ident(name: string): string {
  if (!SAFE_IDENT.test(name)) throw new Error(`'${name}' cannot be a column name.`);
  return `"${name}"`;
}

/** The stream's measure fields (neither time nor dimension) and the kind of each one's column. */
export function measureKinds(stream: Stream): Map<string, Kind> {
  const kinds = new Map<string, Kind>();
  for (const [name, spec] of Object.entries(stream.schema)) {
    if (name === stream.timeField || stream.dimensions.includes(name)) continue;
    kinds.set(name, KIND_OF_TYPE[spec.type]);
  }
  return kinds;
}

/** The kind of a field's column (`varchar` for a field the schema no longer has). */
export function kindOf(stream: Stream, field: string): Kind {
  const type = stream.schema[field]?.type;
  return type ? KIND_OF_TYPE[type] : 'varchar';
}

/** The trie node of the series with these dimension values, created on the way. */
export function nodeOf(root: SeriesNode, values: string[]): SeriesNode {
  let node = root;
  for (const v of values) {
    const next = (node.next ??= new Map());
    let child = next.get(v);
    if (!child) next.set(v, (child = {}));
    node = child;
  }
  return node;
}

/** Whether a series (its dimension values, in `dims` order) passes the `dim.` filters. */
export function matches(dims: string[], values: string[], filters: Record<string, string[]>): boolean {
  for (const [d, accepted] of Object.entries(filters)) {
    const i = dims.indexOf(d);
    if (!accepted.includes(i < 0 ? '' : values[i]!)) return false;
  }
  return true;
}
