/**
 * `Object.groupBy` for Node 20 (it arrived in Node 21); chevrotain 13 calls it when it analyses a grammar.
 * Import this module before building a chevrotain parser. A no-op where the runtime has it.
 *
 * @example
 * import './object-group-by';
 * import { EmbeddedActionsParser } from 'chevrotain';
 */
type GroupBy = <T, K extends PropertyKey>(items: Iterable<T>, key: (item: T, index: number) => K) => Partial<Record<K, T[]>>;

const O = Object as unknown as { groupBy?: GroupBy };
if (typeof O.groupBy !== 'function') {
  O.groupBy = <T, K extends PropertyKey>(items: Iterable<T>, key: (item: T, index: number) => K) => {
    const out = Object.create(null) as Partial<Record<K, T[]>>;
    let i = 0;
    for (const item of items) {
      const k = key(item, i++);
      (out[k] ??= []).push(item);
    }
    return out;
  };
}

export {};
