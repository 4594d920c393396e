/**
 * The stream id inside an alert id (`<stream>.<suffix>`); `undefined` if it is not one. A module of its own
 * so that routes checking an alert id do not bundle the alert evaluator (JSONata).
 *
 * @example
 * streamOfAlert('freezers.k3j9x0a1b2c3'); // 'freezers'
 */
export function streamOfAlert(id: string): string | undefined {
  const m = /^([a-z0-9][a-z0-9_-]{0,63})\.[a-z0-9]{10,40}$/.exec(id);
  return m?.[1];
}
