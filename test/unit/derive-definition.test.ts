import { describe, expect, it } from 'vitest';
import { derivedShape } from '../../shared/domain/derive-definition';
import { IncompatibleTypesError, InvalidOperatorArgumentsError, UnsupportedDeriveOperatorError, UnsupportedValueTypeError } from '../../shared/domain/errors';
import { parseStreamInput } from '../../shared/domain/stream-definition';

const base = { name: 'Rate', type: 'iot_sensor' as const };
const counter = { id: 'counter', schema: { host: { type: 'string' as const }, bytes: { type: 'integer' as const }, label: { type: 'string' as const } }, timeField: 'timestamp', dimensions: ['host'] };

describe('parseStreamInput for derived streams', () => {
  it('refuses an operator the document does not define with UnsupportedDeriveOperator at deriveOp', () => {
    const err = (() => {
      try {
        parseStreamInput({ ...base, deriveOp: 'integral', deriveFrom: [{ stream: 'a' }] });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UnsupportedDeriveOperatorError);
    expect((err as UnsupportedDeriveOperatorError).issues[0]!.path).toEqual(['deriveOp']);
  });

  it('refuses a value type the document does not define', () => {
    expect(() => parseStreamInput({ ...base, valueType: 'ordinal' })).toThrow(UnsupportedValueTypeError);
  });

  it.each([
    [{ deriveOp: 'derivative', deriveFrom: [{ stream: 'a' }, { stream: 'b' }] }, ['deriveFrom']],
    [{ deriveOp: 'counter_derivative', deriveFrom: [{ stream: 'r' }, { stream: 'c' }] }, ['deriveFrom', 0, 'name']],
    [{ deriveOp: 'counter_derivative', deriveFrom: [{ stream: 'r', name: 'reset' }, { stream: 'c' }], deriveArgs: { maxValue: -1 } }, ['deriveArgs', 'maxValue']],
    [{ deriveOp: 'sum', deriveFrom: [{ stream: 'a' }], deriveArgs: { maxValue: 3 } }, ['deriveArgs', 'maxValue']],
    [{ deriveOp: 'derivative' }, ['deriveFrom']],
  ])('refuses %j with InvalidOperatorArguments at %j', (body, path) => {
    try {
      parseStreamInput({ ...base, ...body });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidOperatorArgumentsError);
      expect((e as InvalidOperatorArgumentsError).issues.map((i) => i.path)).toContainEqual(path);
    }
  });

  it('takes a derived stream without a schema', () => {
    const input = parseStreamInput({ ...base, deriveOp: 'counter_derivative', deriveFrom: [{ stream: 'r', name: 'reset' }, { stream: 'c' }], deriveArgs: { maxValue: 40 } });
    expect(input.deriveArgs).toEqual({ maxValue: 40 });
  });
});

describe('derivedShape', () => {
  const input = (field: string | undefined, op: 'derivative' | 'counter_reset' = 'derivative') => ({ deriveOp: op, deriveFrom: [{ stream: 'counter', ...(field && { field }) }], schema: {}, timeField: 'timestamp', dimensions: [] });

  it('carries the source\'s dimensions over and keeps the value in a number field', () => {
    expect(derivedShape(input('bytes'), [counter])).toEqual({
      deriveFrom: [{ stream: 'counter', field: 'bytes' }],
      dimensions: ['host'],
      schema: { host: { type: 'string' }, value: { type: 'number' } },
    });
  });

  it('refuses a derivative of a string field with IncompatibleTypes', () => {
    expect(() => derivedShape(input('label'), [counter])).toThrow(IncompatibleTypesError);
  });

  it('asks for the field when the source has several measure fields', () => {
    expect(() => derivedShape(input(undefined), [counter])).toThrow(InvalidOperatorArgumentsError);
  });

  it('refuses sources whose dimensions differ', () => {
    const other = { ...counter, id: 'other', dimensions: [] };
    expect(() => derivedShape({ deriveOp: 'sum', deriveFrom: [{ stream: 'counter', field: 'bytes' }, { stream: 'other', field: 'bytes' }], schema: {}, timeField: 'timestamp', dimensions: [] }, [counter, other])).toThrow(InvalidOperatorArgumentsError);
  });
});
