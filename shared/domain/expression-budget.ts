import type jsonata from 'jsonata';

/**
 * A time budget for JSONata expressions (pull transforms, alert-rule expressions): JSONata calls two hooks,
 * bound under symbols in the expression's environment, on entering and leaving each step; the budget
 * throws from them once the time spent or the recursion depth passes its limit, which ends the evaluation.
 * One step that is costly by itself (a `[1..10000000]` range) runs to its end before the next check.
 *
 * @example
 * const expr = jsonata('$count([1..1000000]) > 5');
 * const budget = new ExpressionBudget(250);
 * budget.attach(expr);
 * await expr.evaluate(record); // rejects with an ExpressionBudgetError after about 250 ms of work
 */

/** Thrown (from inside the evaluation) when an expression spends more than its budget. */
export class ExpressionBudgetError extends Error {
  override readonly name = 'ExpressionBudgetError';
}

export const MAX_EXPRESSION_DEPTH = 500;

/**
 * Time spent on one or more evaluations, against a limit. Time while `pause`d (yielding to other work)
 * does not count, so a budget measures the expression's own work, not how busy the process was.
 */
export class ExpressionBudget {
  private spent = 0;
  private since: number;
  private depth = 0;

  constructor(
    readonly limitMs: number,
    private readonly now: () => number = Date.now,
    readonly maxDepth = MAX_EXPRESSION_DEPTH,
  ) {
    this.since = now();
  }

  /** Milliseconds of work so far. */
  elapsed(): number {
    return this.spent + (this.now() - this.since);
  }

  /** Throws `ExpressionBudgetError` once the budget is spent or the recursion is too deep. */
  check(): void {
    if (this.depth > this.maxDepth) throw new ExpressionBudgetError(`recursion deeper than ${this.maxDepth}`);
    if (this.elapsed() > this.limitMs) throw new ExpressionBudgetError(`ran longer than ${this.limitMs} ms`);
  }

  /** Stops the clock while `wait` runs (another stream's work, a turn of the event loop). */
  async pause(wait: () => Promise<void>): Promise<void> {
    this.spent += this.now() - this.since;
    try {
      await wait();
    } finally {
      this.since = this.now();
    }
  }

  /** Hooks the budget into a compiled expression: every evaluation of it counts against this budget. */
  attach(expr: jsonata.Expression): jsonata.Expression {
    const assign = expr.assign.bind(expr) as unknown as (name: symbol, value: unknown) => void;
    assign(Symbol.for('jsonata.__evaluate_entry'), () => {
      this.depth++;
      this.check();
    });
    assign(Symbol.for('jsonata.__evaluate_exit'), () => {
      this.depth--;
      this.check();
    });
    return expr;
  }
}
