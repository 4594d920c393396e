import { hasScheduledRules } from '../../shared/domain/alert-evaluation';
import type { Stream } from '../../shared/domain/stream-definition';
import type { StreamRegistry } from '../../shared/ports';
import type { Logger } from '../commons/http';

export interface SilenceDeps {
  registry: StreamRegistry;
  /** `makeAlertEvaluator(...)`: its `checkSilence` reads the newest point of each series and fires or resolves. */
  evaluator: { checkSilence(stream: Stream): Promise<void> };
  log: Logger;
}

export interface SilenceSummary {
  /** Active streams with at least one silence rule. */
  checked: number;
  /** Of those, how many failed (logged; the next run tries again). */
  failed: number;
}

/**
 * The scheduled silence and health check (EventBridge `rate(1 minute)` in AWS, croner locally): every active
 * stream with a `no data for …` or health-check rule (`error_rate`, `processing_lag`, `data_freshness`), one
 * `latest` read (silences), one stats read (health) and one state query each.
 *
 * @example
 * const check = makeSilenceCheck({ registry, evaluator, log: jsonLogger });
 * await check(); // { checked: 3, failed: 0 }
 */
export function makeSilenceCheck(deps: SilenceDeps) {
  const { registry, evaluator, log } = deps;
  return async function checkSilence(): Promise<SilenceSummary> {
    const summary: SilenceSummary = { checked: 0, failed: 0 };
    let cursor: string | undefined;
    do {
      const page = await registry.list({ limit: 1000, ...(cursor && { cursor }) });
      const due = page.streams.filter((s) => s.state === 'active' && hasScheduledRules(s));
      await Promise.all(
        due.map(async (stream) => {
          summary.checked++;
          try {
            await evaluator.checkSilence(stream);
          } catch (err) {
            summary.failed++;
            log.error('silence check failed', { streamId: stream.id, error: (err as Error).name, reason: (err as Error).message });
          }
        }),
      );
      cursor = page.nextCursor;
    } while (cursor);
    return summary;
  };
}
