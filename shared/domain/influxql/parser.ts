import './object-group-by';
import { createToken, EmbeddedActionsParser, Lexer, type IToken, type TokenType } from 'chevrotain';
import { BadRequestError } from '../errors';
import type { CompareOp, Condition, FieldExpr, Fill, Match, Operand, Select, Statement } from './ast';

/**
 * The grammar of the InfluxQL subset (see `ast.ts`), on chevrotain: a lexer with InfluxDB's tokens (quoted
 * identifiers, single-quoted strings, regex literals, duration literals) and an LL(k) parser whose actions
 * build the tree. Anything outside the subset is a `BadRequestError` naming where it stopped.
 *
 * @example
 * parseInfluxQL('SELECT mean("value") FROM "cpu" WHERE time >= now() - 6h GROUP BY time(1m) fill(null)');
 */

/** Longer queries than Grafana ever builds are refused before lexing. */
export const MAX_QUERY_CHARS = 16_384;
export const MAX_STATEMENTS = 32;

const Identifier = createToken({ name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_]*/ });
const kw = (name: string) => createToken({ name, pattern: new RegExp(`${name}(?![A-Za-z0-9_])`, 'i'), longer_alt: Identifier });

const Show = kw('SHOW');
const Measurements = kw('MEASUREMENTS');
const Measurement = kw('MEASUREMENT');
const Tag = kw('TAG');
const Keys = kw('KEYS');
const Key = kw('KEY');
const Values = kw('VALUES');
const Field = kw('FIELD');
const From = kw('FROM');
const With = kw('WITH');
const Where = kw('WHERE');
const Limit = kw('LIMIT');
const SLimit = kw('SLIMIT');
const SelectKw = kw('SELECT');
const Group = kw('GROUP');
const By = kw('BY');
const FillKw = kw('FILL');
const Order = kw('ORDER');
const And = kw('AND');
const Or = kw('OR');
const As = kw('AS');
const In = kw('IN');
const Asc = kw('ASC');
const Desc = kw('DESC');
const Time = kw('TIME');
const True = kw('TRUE');
const False = kw('FALSE');
const Null = kw('NULL');
const Retention = kw('RETENTION');
const Policies = kw('POLICIES');
const On = kw('ON');

const QuotedIdent = createToken({ name: 'QuotedIdent', pattern: /"(?:[^"\\\n]|\\.)*"/ });
const StringLit = createToken({ name: 'StringLit', pattern: /'(?:[^'\\\n]|\\.)*'/ });
// a regex literal only where an operand may start: the subset has no division
const RegexLit = createToken({ name: 'RegexLit', pattern: /\/(?:[^/\\\n]|\\.)*\// });
const DurationLit = createToken({ name: 'DurationLit', pattern: /\d+(?:ns|ms|us|u|µ|s|m|h|d|w)(?![A-Za-z0-9_])/ });
const NumberLit = createToken({ name: 'NumberLit', pattern: /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/ });
const EqRegex = createToken({ name: 'EqRegex', pattern: /=~/ });
const NotRegex = createToken({ name: 'NotRegex', pattern: /!~/ });
const NotEq = createToken({ name: 'NotEq', pattern: /!=|<>/ });
const Lte = createToken({ name: 'Lte', pattern: /<=/ });
const Gte = createToken({ name: 'Gte', pattern: />=/ });
const Lt = createToken({ name: 'Lt', pattern: /</ });
const Gt = createToken({ name: 'Gt', pattern: />/ });
// `==` too: Grafana's query editor writes it for a tag that looks like a number
const Eq = createToken({ name: 'Eq', pattern: /==?/ });
const Plus = createToken({ name: 'Plus', pattern: /\+/ });
const Minus = createToken({ name: 'Minus', pattern: /-/ });
const Star = createToken({ name: 'Star', pattern: /\*/ });
const Comma = createToken({ name: 'Comma', pattern: /,/ });
const Dot = createToken({ name: 'Dot', pattern: /\./ });
const Semi = createToken({ name: 'Semi', pattern: /;/ });
const LParen = createToken({ name: 'LParen', pattern: /\(/ });
const RParen = createToken({ name: 'RParen', pattern: /\)/ });
const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /\s+/, group: Lexer.SKIPPED });

const KEYWORDS = [Show, Measurements, Measurement, Tag, Keys, Key, Values, Field, From, With, Where, Limit, SLimit, SelectKw, Group, By, FillKw, Order, And, Or, As, In, Asc, Desc, Time, True, False, Null, Retention, Policies, On];
const TOKENS: TokenType[] = [
  WhiteSpace, ...KEYWORDS, Identifier, QuotedIdent, StringLit, RegexLit, DurationLit, NumberLit,
  EqRegex, NotRegex, NotEq, Lte, Gte, Lt, Gt, Eq, Plus, Minus, Star, Comma, Dot, Semi, LParen, RParen,
];
const lexer = new Lexer(TOKENS, { positionTracking: 'onlyOffset', ensureOptimizations: false });

const DURATION_MS: Record<string, number> = { ns: 1e-6, u: 1e-3, us: 1e-3, µ: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 };

function duration(image: string): number {
  // chevrotain records the grammar once with placeholder tokens: those images match nothing
  const m = /^(\d+)(\D+)$/.exec(image);
  return m ? Number(m[1]) * (DURATION_MS[m[2]!] ?? Number.NaN) : Number.NaN;
}

/** `"a\"b"` → `a"b`; `'it\'s'` → `it's`. */
function unquote(image: string): string {
  return image.slice(1, -1).replace(/\\(.)/g, '$1');
}

class InfluxQLParser extends EmbeddedActionsParser {
  constructor() {
    super(TOKENS, { maxLookahead: 3 });
    this.performSelfAnalysis();
  }

  statements = this.RULE('statements', (): Statement[] => {
    const out: Statement[] = [this.SUBRULE(this.statement)];
    this.MANY(() => {
      this.CONSUME(Semi);
      this.OPTION(() => out.push(this.SUBRULE2(this.statement)));
    });
    return out;
  });

  statement = this.RULE('statement', (): Statement => this.OR([{ ALT: () => this.SUBRULE(this.show) }, { ALT: () => this.SUBRULE(this.select) }]));

  show = this.RULE('show', (): Statement => {
    this.CONSUME(Show);
    return this.OR([
      { ALT: () => {
        this.CONSUME(Measurements);
        let match: Match | undefined;
        this.OPTION(() => {
          this.CONSUME(With);
          this.CONSUME(Measurement);
          match = this.OR2([
            { ALT: () => { this.CONSUME(EqRegex); return { op: '=~' as const, regex: unquote(this.CONSUME(RegexLit).image) }; } },
            { ALT: () => { this.CONSUME(Eq); return { op: '=' as const, value: this.SUBRULE(this.ident) }; } },
          ]);
        });
        const where = this.OPTION9(() => { this.CONSUME3(Where); return this.SUBRULE3(this.condition); });
        const limit = this.OPTION2(() => this.SUBRULE(this.limit));
        return { kind: 'show_measurements' as const, ...(match && { match }), ...(where && { where }), ...(limit !== undefined && { limit }) };
      } },
      { ALT: () => {
        this.CONSUME(Tag);
        return this.OR3([
          { ALT: () => {
            this.CONSUME(Keys);
            const from = this.OPTION3(() => this.SUBRULE(this.from));
            const where = this.option(10, () => { this.CONSUME4(Where); return this.SUBRULE4(this.condition); });
            const limit = this.OPTION4(() => this.SUBRULE2(this.limit));
            return { kind: 'show_tag_keys' as const, ...(from !== undefined && { from }), ...(where && { where }), ...(limit !== undefined && { limit }) };
          } },
          { ALT: () => {
            this.CONSUME(Values);
            const from = this.OPTION5(() => this.SUBRULE2(this.from));
            this.CONSUME2(With);
            this.CONSUME(Key);
            const keys = this.OR4([
              { ALT: () => { this.CONSUME2(Eq); return [this.SUBRULE2(this.ident)]; } },
              { ALT: () => {
                this.CONSUME(In);
                this.CONSUME(LParen);
                const list = [this.SUBRULE3(this.ident)];
                this.MANY(() => { this.CONSUME(Comma); list.push(this.SUBRULE4(this.ident)); });
                this.CONSUME(RParen);
                return list;
              } },
            ]);
            const where = this.OPTION6(() => { this.CONSUME(Where); return this.SUBRULE2(this.condition); });
            const limit = this.OPTION7(() => this.SUBRULE3(this.limit));
            return { kind: 'show_tag_values' as const, keys, ...(from !== undefined && { from }), ...(where && { where }), ...(limit !== undefined && { limit }) };
          } },
        ]);
      } },
      { ALT: () => {
        this.CONSUME(Retention);
        this.CONSUME(Policies);
        this.option(11, () => { this.CONSUME(On); this.SUBRULE5(this.ident); });
        return { kind: 'show_retention_policies' as const };
      } },
      { ALT: () => {
        this.CONSUME(Field);
        this.CONSUME2(Keys);
        const from = this.OPTION8(() => this.SUBRULE3(this.from));
        return { kind: 'show_field_keys' as const, ...(from !== undefined && { from }) };
      } },
    ]);
  });

  select = this.RULE('select', (): Select => {
    this.CONSUME(SelectKw);
    const fields = [this.SUBRULE(this.fieldExpr)];
    this.MANY(() => { this.CONSUME(Comma); fields.push(this.SUBRULE2(this.fieldExpr)); });
    const from = this.SUBRULE(this.from);
    const where = this.OPTION(() => { this.CONSUME(Where); return this.SUBRULE(this.condition); });
    let interval: number | undefined;
    const groupBy: string[] = [];
    this.OPTION2(() => {
      this.CONSUME(Group);
      this.CONSUME(By);
      this.AT_LEAST_ONE_SEP({
        SEP: Comma,
        DEF: () => this.OR([
          { ALT: () => {
            this.CONSUME(Time);
            this.CONSUME(LParen);
            interval = duration(this.CONSUME(DurationLit).image);
            this.CONSUME(RParen);
          } },
          { ALT: () => { groupBy.push(this.SUBRULE(this.ident)); } },
        ]),
      });
    });
    let fill: Fill = { kind: 'null' };
    this.OPTION3(() => {
      this.CONSUME(FillKw);
      this.CONSUME2(LParen);
      fill = this.OR2([
        { ALT: () => { this.CONSUME(Null); return { kind: 'null' as const }; } },
        { ALT: () => ({ kind: 'value' as const, value: this.SUBRULE(this.signedNumber) }) },
        { ALT: () => {
          const name = this.CONSUME(Identifier).image.toLowerCase();
          return this.ACTION(() => {
            if (name === 'none' || name === 'previous' || name === 'linear') return { kind: name as 'none' | 'previous' | 'linear' };
            throw new BadRequestError(`error parsing query: fill(${name}) is not one of null, none, previous, linear or a number`);
          });
        } },
      ]);
      this.CONSUME2(RParen);
    });
    let order: 'asc' | 'desc' = 'asc';
    this.OPTION4(() => {
      this.CONSUME(Order);
      this.CONSUME2(By);
      this.CONSUME2(Time);
      this.OPTION5(() => this.OR3([{ ALT: () => { this.CONSUME(Asc); order = 'asc'; } }, { ALT: () => { this.CONSUME(Desc); order = 'desc'; } }]));
    });
    const limit = this.OPTION6(() => this.SUBRULE(this.limit));
    this.OPTION7(() => { this.CONSUME(SLimit); this.CONSUME(NumberLit); });
    return { kind: 'select', fields, from, ...(where && { where }), ...(interval !== undefined && { interval }), groupBy, fill, order, ...(limit !== undefined && { limit }) };
  });

  fieldExpr = this.RULE('fieldExpr', (): FieldExpr => {
    const expr = this.OR([
      { GATE: () => this.LA(2).tokenType === LParen, ALT: () => {
        const fn = this.CONSUME(Identifier).image.toLowerCase();
        this.CONSUME(LParen);
        const field = this.OR2([{ ALT: () => this.SUBRULE(this.ident) }, { ALT: () => this.CONSUME(Star).image }]);
        const arg = this.OPTION(() => { this.CONSUME(Comma); return this.SUBRULE(this.signedNumber); });
        this.CONSUME(RParen);
        return { fn, field, ...(arg !== undefined && { arg }) } as FieldExpr;
      } },
      { ALT: () => ({ field: this.SUBRULE2(this.ident) }) as FieldExpr },
    ]);
    const alias = this.OPTION2(() => { this.CONSUME(As); return this.SUBRULE3(this.ident); });
    return alias === undefined ? expr : { ...expr, alias };
  });

  /** `FROM "m"` or `FROM "policy"."m"`: the retention policy is accepted and ignored. */
  from = this.RULE('from', (): string => {
    this.CONSUME(From);
    let name = this.SUBRULE(this.ident);
    this.OPTION(() => { this.CONSUME(Dot); name = this.SUBRULE2(this.ident); });
    return name;
  });

  limit = this.RULE('limit', (): number => {
    this.CONSUME(Limit);
    return Number(this.CONSUME(NumberLit).image);
  });

  ident = this.RULE('ident', (): string =>
    this.OR([
      { ALT: () => this.CONSUME(Identifier).image },
      { ALT: () => unquote(this.CONSUME(QuotedIdent).image) },
    ]),
  );

  signedNumber = this.RULE('signedNumber', (): number => {
    const sign = this.OPTION(() => this.CONSUME(Minus)) ? -1 : 1;
    return sign * Number(this.CONSUME(NumberLit).image);
  });

  condition = this.RULE('condition', (): Condition => {
    let left = this.SUBRULE(this.conjunction);
    this.MANY(() => { this.CONSUME(Or); const right = this.SUBRULE2(this.conjunction); left = { kind: 'or', left, right }; });
    return left;
  });

  conjunction = this.RULE('conjunction', (): Condition => {
    let left = this.SUBRULE(this.term);
    this.MANY(() => { this.CONSUME(And); const right = this.SUBRULE2(this.term); left = { kind: 'and', left, right }; });
    return left;
  });

  term = this.RULE('term', (): Condition =>
    this.OR([
      { ALT: () => { this.CONSUME(LParen); const c = this.SUBRULE(this.condition); this.CONSUME(RParen); return c; } },
      { ALT: () => {
        const left = this.SUBRULE(this.operand);
        const op = this.SUBRULE(this.compareOp);
        const right = this.SUBRULE2(this.operand);
        return { kind: 'compare' as const, left, op, right };
      } },
    ]),
  );

  compareOp = this.RULE('compareOp', (): CompareOp =>
    this.OR([
      { ALT: () => { this.CONSUME(Eq); return '=' as const; } },
      { ALT: () => { this.CONSUME(NotEq); return '!=' as const; } },
      { ALT: () => { this.CONSUME(EqRegex); return '=~' as const; } },
      { ALT: () => { this.CONSUME(NotRegex); return '!~' as const; } },
      { ALT: () => { this.CONSUME(Lte); return '<=' as const; } },
      { ALT: () => { this.CONSUME(Gte); return '>=' as const; } },
      { ALT: () => { this.CONSUME(Lt); return '<' as const; } },
      { ALT: () => { this.CONSUME(Gt); return '>' as const; } },
    ]),
  );

  operand = this.RULE('operand', (): Operand =>
    this.OR([
      { ALT: () => { this.CONSUME(Time); return { kind: 'time' as const }; } },
      { GATE: () => this.LA(2).tokenType === LParen, ALT: () => {
        const name = this.CONSUME(Identifier).image;
        this.CONSUME(LParen);
        this.CONSUME(RParen);
        let offsetMs = 0;
        this.OPTION(() => {
          const sign = this.OR2([{ ALT: () => { this.CONSUME(Plus); return 1; } }, { ALT: () => { this.CONSUME(Minus); return -1; } }]);
          offsetMs = sign * duration(this.CONSUME(DurationLit).image);
        });
        return this.ACTION(() => {
          if (name.toLowerCase() !== 'now') throw new BadRequestError(`error parsing query: function ${name}() is not supported in WHERE; only now()`);
          return { kind: 'now' as const, offsetMs };
        });
      } },
      { ALT: () => ({ kind: 'ident' as const, name: this.SUBRULE(this.ident) }) },
      { ALT: () => ({ kind: 'string' as const, value: unquote(this.CONSUME(StringLit).image) }) },
      { ALT: () => ({ kind: 'regex' as const, source: this.CONSUME(RegexLit).image.slice(1, -1) }) },
      { ALT: () => ({ kind: 'duration' as const, ms: duration(this.CONSUME2(DurationLit).image) }) },
      { ALT: () => ({ kind: 'number' as const, value: this.SUBRULE(this.signedNumber) }) },
      { ALT: () => { this.CONSUME(True); return { kind: 'bool' as const, value: true }; } },
      { ALT: () => { this.CONSUME(False); return { kind: 'bool' as const, value: false }; } },
    ]),
  );
}

const parser = new InfluxQLParser();

/**
 * Parses one or more `;`-separated statements; throws a `BadRequestError` (`error parsing query: …`, as
 * InfluxDB words it) for anything outside the subset.
 *
 * @example
 * parseInfluxQL('SHOW TAG KEYS FROM "freezers"; SHOW FIELD KEYS FROM "freezers"'); // two statements
 */
export function parseInfluxQL(text: string): Statement[] {
  if (text.length > MAX_QUERY_CHARS) throw new BadRequestError(`error parsing query: longer than ${MAX_QUERY_CHARS} characters`);
  const lexed = lexer.tokenize(text);
  if (lexed.errors.length) {
    const e = lexed.errors[0]!;
    throw new BadRequestError(`error parsing query: unexpected character ${JSON.stringify(text.slice(e.offset, e.offset + 1))} at char ${e.offset + 1}`);
  }
  parser.input = lexed.tokens;
  const statements = parser.statements();
  if (parser.errors.length) {
    const e = parser.errors[0]!;
    const expected = e.name === 'MismatchedTokenException' ? /-->\s*(\w+)\s*<--/.exec(e.message)?.[1] : undefined;
    throw new BadRequestError(`error parsing query: ${describe(e.token)}, ${expected ? `expected ${expected}` : 'outside the InfluxQL subset Tributary answers'}`);
  }
  if (statements.length > MAX_STATEMENTS) throw new BadRequestError(`error parsing query: more than ${MAX_STATEMENTS} statements`);
  return statements;
}

function describe(token: IToken): string {
  return token.tokenType.name === 'EOF' ? 'found EOF' : `found ${JSON.stringify(token.image)} at char ${(token.startOffset ?? 0) + 1}`;
}
