import * as z from 'zod';

/**
 * The datastream document's value downsamplers by name, with their one-letter keys, and a stream's declaration
 * of the ones it keeps (`valueDownsamplers`). Computing them is `value-downsamplers.ts`.
 *
 * @example
 * ValueDownsamplersSchema.parse(['mean', 'most_often']);
 */

/** Each value downsampler and its one-letter key, as the document lists them. */
export const VALUE_DOWNSAMPLER_KEYS = {
  mean: 'm',
  sum: 's',
  min: 'l',
  max: 'u',
  sum_squares: 'q',
  std_dev: 'd',
  count: 'c',
  most_often: 'o',
  least_often: 'r',
  frequencies: 'f',
} as const;
export type ValueDownsampler = keyof typeof VALUE_DOWNSAMPLER_KEYS;
export const VALUE_DOWNSAMPLERS = Object.keys(VALUE_DOWNSAMPLER_KEYS) as [ValueDownsampler, ...ValueDownsampler[]];
/** A stream's declared value downsamplers (the document's `value_downsamplers`): the only ones a query may ask of it. */
export const ValueDownsamplersSchema = z.array(z.enum(VALUE_DOWNSAMPLERS)).min(1).max(VALUE_DOWNSAMPLERS.length);

