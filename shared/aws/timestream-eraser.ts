import type { PointEraser } from '../ports';

/**
 * `PointEraser` for Timestream, which has no way to delete records (`WriteRecords` and queries only): a
 * deleted stream's points stay until the table's retention drops them (memory store hours, then magnetic
 * store days, `timestream.*RetentionDays`), billed as storage meanwhile and never served, since the
 * registry's tombstone answers every read of the stream with a 404 and its id is never given again. No
 * SDK client: the streams function, which deletes streams, needs no Timestream permission for it.
 *
 * @example
 * await timestreamEraser.eraseStream('freezers'); // 'retained'
 */
export const timestreamEraser: PointEraser = {
  eraseStream: async () => 'retained',
};
