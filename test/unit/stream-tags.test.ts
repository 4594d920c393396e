import { describe, expect, it } from 'vitest';
import { BadRequestError, ReservedTagNameError } from '../../shared/domain/errors';
import { parseStreamInput, parseStreamPatch } from '../../shared/domain/stream-definition';
import { matchesTags, mergeTags, parseTagQuery, parseTags, removeTags, reservedTagIssues, type Tags } from '../../shared/domain/stream-tags';

/** The document's own `test_find_streams` stream: query tags plus tags. */
const documentStream: Tags = {
  title: 'Stream 1',
  visualization: { time_downsamplers: ['mean'], hidden: false, minimum: 0, type: 'line', value_downsamplers: ['mean', 'min', 'max'] },
  stream_number: 9,
};

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('mergeTags', () => {
  it('merges objects member by member at every depth, as update_tags overrides existing ones', () => {
    const merged = mergeTags(documentStream, { visualization: { hidden: true }, stream_number: 10 });
    expect(merged).toEqual({ ...documentStream, visualization: { ...(documentStream.visualization as object), hidden: true }, stream_number: 10 });
  });

  it('replaces arrays and scalars whole, and sets an object over a scalar', () => {
    expect(mergeTags({ a: [1, 2], b: 'x', c: { d: 1 } }, { a: [3], b: { e: 1 }, c: null })).toEqual({ a: [3], b: { e: 1 }, c: null });
  });

  it('changes neither argument', () => {
    const current: Tags = { v: { x: 1 } };
    const update: Tags = { v: { y: 2 } };
    mergeTags(current, update);
    expect(current).toEqual({ v: { x: 1 } });
    expect(update).toEqual({ v: { y: 2 } });
  });
});

describe('removeTags', () => {
  it('removes a top-level tag, as the document removes andmore', () => {
    const tags = { name: 'foobar', andmore: 'bar', andcomplex: { foo: ['bar', 'foo'] } };
    expect(removeTags(tags, [['andmore']])).toEqual({ name: 'foobar', andcomplex: { foo: ['bar', 'foo'] } });
  });

  it('removes a nested member and keeps its parent, and ignores paths that name nothing', () => {
    expect(removeTags({ v: { x: 1, y: 2 }, s: 'a' }, [['v', 'y'], ['nope'], ['s', 'deeper']])).toEqual({ v: { x: 1 }, s: 'a' });
  });

  it('leaves the tags it was given as they were', () => {
    const tags: Tags = { v: { x: 1 } };
    removeTags(tags, [['v', 'x']]);
    expect(tags).toEqual({ v: { x: 1 } });
  });
});

describe('matchesTags', () => {
  it.each<[string, Tags, boolean]>([
    ['the query tag by equality', { title: 'Stream 1' }, true],
    ['a nested value', { visualization: { type: 'line' } }, true],
    ['an element of an array tag', { visualization: { value_downsamplers: 'mean' } }, true],
    ['an equal array', { visualization: { value_downsamplers: ['mean', 'min', 'max'] } }, true],
    ['a number as a number', { stream_number: 9 }, true],
    ['an empty object as anything', { visualization: {} }, true],
    ['no query at all', {}, true],
    ['another value', { stream_number: 1 }, false],
    ['a number written as text', { stream_number: '9' }, false],
    ['false against a missing tag', { hidden: false }, false],
    ['a nested value that differs', { visualization: { hidden: true } }, false],
    ['an element no array holds', { visualization: { value_downsamplers: 'foobar' } }, false],
    ['an array in another order', { visualization: { value_downsamplers: ['min', 'mean', 'max'] } }, false],
    ['a setting name, which tags never hold', { value_type: 'numeric' }, false],
  ])('matches %s as the document does: %j → %s', (_what, query, expected) => {
    expect(matchesTags(documentStream, query)).toBe(expected);
  });

  it('matches an array of objects when one element matches', () => {
    expect(matchesTags({ sensors: [{ id: 'a', kind: 'temp' }, { id: 'b', kind: 'door' }] }, { sensors: { kind: 'door' } })).toBe(true);
    expect(matchesTags({ sensors: [{ id: 'a', kind: 'temp' }] }, { sensors: { kind: 'door' } })).toBe(false);
  });
});

describe('reserved tag names', () => {
  it.each(['stream_id', 'value_downsamplers', 'highest_granularity', 'derived_from', 'value_type_options', 'latestDatapoint', 'highestGranularity'])(
    'refuses %s as a tag name with a ReservedTagNameError naming its path',
    (name) => {
      const err = thrown(() => parseTags({ ok: 1, [name]: 'x' }, 'tags', ['tags']));
      expect(err).toBeInstanceOf(ReservedTagNameError);
      expect((err as ReservedTagNameError).issues.map((i) => i.path)).toEqual([['tags', name]]);
    },
  );

  it("refuses a key with '__' at any depth, and allows a setting name below the top", () => {
    expect(reservedTagIssues({ a__b: 1, v: { c__d: 2, stream_id: 3 } }, ['tags']).map((i) => i.path)).toEqual([
      ['tags', 'a__b'],
      ['tags', 'v', 'c__d'],
    ]);
  });

  it('refuses them in a definition and in a patch before any other check', () => {
    expect(thrown(() => parseStreamInput({ name: 'x', type: 'iot_sensor', schema: {}, tags: { value_type: 'numeric' } }))).toBeInstanceOf(ReservedTagNameError);
    expect(thrown(() => parseStreamPatch({ tags: { stream_id: 'x' } }))).toBeInstanceOf(ReservedTagNameError);
  });
});

describe('tags of any JSON value', () => {
  it('keeps numbers, booleans, null, arrays and nested objects in a definition', () => {
    const input = parseStreamInput({ name: 'x', type: 'iot_sensor', schema: { v: { type: 'number' } }, tags: documentStream });
    expect(input.tags).toEqual(documentStream);
  });

  it('reports bad keys at their nested path, too deep values and oversized tags', () => {
    const err = thrown(() => parseTags({ v: { 'has space': 1 }, deep: [[[[[[[[[1]]]]]]]]] }, 'tags')) as BadRequestError;
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.issues.map((i) => i.path[0])).toEqual(['v', 'deep']);
    expect(err.issues[0]!.path).toEqual(['v', 'has space']);
    const big = thrown(() => parseTags({ a: 'x'.repeat(20_000) }, 'tags')) as BadRequestError;
    expect(big.issues[0]!.message).toMatch(/at most 16384/);
  });

  it('refuses a body that is not an object', () => {
    expect((thrown(() => parseTags(['a'], 'tags')) as BadRequestError).issues[0]!.message).toBe('must be an object of tags');
  });
});

describe('parseTagQuery', () => {
  it('reads a nested query from its JSON text', () => {
    expect(parseTagQuery('{"visualization":{"value_downsamplers":"mean"}}', ['tags'])).toEqual({ visualization: { value_downsamplers: 'mean' } });
  });

  it("refuses a key with '__' as the document does (andmore__bar), and text that is not a JSON object", () => {
    expect(thrown(() => parseTagQuery('{"andmore__bar":"value"}', ['tags']))).toBeInstanceOf(ReservedTagNameError);
    expect((thrown(() => parseTagQuery('{nope', ['tags'])) as BadRequestError).issues[0]!.path).toEqual(['tags']);
    expect((thrown(() => parseTagQuery('[1]', ['tags'])) as BadRequestError).issues[0]!.path).toEqual(['tags']);
  });

  it('lets a setting name through: it matches no stream', () => {
    expect(matchesTags(documentStream, parseTagQuery('{"stream_id":"x"}', ['tags']))).toBe(false);
  });
});
