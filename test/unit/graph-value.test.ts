import { describe, expect, it } from 'vitest';
import { checkGraph } from '../../shared/domain/graph-value';
import { compileStream } from '../../shared/domain/validate-record';
import { newStream, parseStreamInput } from '../../shared/domain/stream-definition';

describe('checkGraph', () => {
  it('takes the document\'s example graph, vertex ids of any type and extra members', () => {
    expect(checkGraph({ v: [{ i: 'foo' }, { i: 'bar' }], e: [{ f: 'foo', t: 'bar' }] })).toBeUndefined();
    expect(checkGraph({ v: [{ i: 1, label: 'a' }, { i: { x: 2 } }], e: [{ f: 1, t: { x: 2 }, w: 3 }] })).toBeUndefined();
  });

  it('refuses a vertex id given twice and names its path', () => {
    expect(checkGraph({ v: [{ i: 'a' }, { i: 'a' }], e: [] })).toEqual({ path: ['v', 1, 'i'], message: 'vertex id "a" is given twice' });
  });

  it('refuses an edge naming a vertex that is not there, at the edge end\'s path', () => {
    expect(checkGraph({ v: [{ i: 'a' }], e: [{ f: 'a', t: 'b' }] })?.path).toEqual(['e', 0, 't']);
  });

  it('tells the id 1 from the id "1"', () => {
    expect(checkGraph({ v: [{ i: 1 }], e: [{ f: '1', t: 1 }] })?.path).toEqual(['e', 0, 'f']);
  });

  it('refuses a vertex without an id and members other than v and e', () => {
    expect(checkGraph({ v: [{ x: 1 }] })?.path).toEqual(['v', 0, 'i']);
    expect(checkGraph({ v: [], edges: [] })?.path).toEqual(['edges']);
  });
});

describe('a graph field', () => {
  const stream = newStream(parseStreamInput({ id: 'topo', name: 'Topology', type: 'iot_sensor', valueType: 'graph' }), new Date(0), () => 'x');

  it('is the one value field of a stream declared by valueType graph alone', () => {
    expect(stream.schema).toEqual({ value: { type: 'graph' } });
    expect(stream.valueType).toBe('graph');
  });

  it('is stored as JSON text, and a bad graph is refused with the path inside the value', () => {
    const compiled = compileStream(stream);
    const ok = compiled.validate([{ timestamp: 1000, value: { v: [{ i: 'a' }], e: [] } }], { now: 2000 });
    expect(ok.points[0]!.values.value).toBe('{"v":[{"i":"a"}],"e":[]}');
    const bad = compiled.validate([{ timestamp: 1000, value: { v: [{ i: 'a' }], e: [{ f: 'a', t: 'z' }] } }], { now: 2000 });
    expect(bad.issues[0]).toMatchObject({ index: 0, path: ['value', 'e', 0, 't'] });
  });
});
