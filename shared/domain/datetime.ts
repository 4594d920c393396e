/** The last instant a `Date` can hold (ECMA-262 §21.4.1.1); beyond it `toISOString()` throws. */
const MAX_DATE_MS = 8.64e15;

/**
 * RFC 3339 timestamps, parsed without `Date.parse` on the hot path: a record's time is read once per
 * record, and the generic parser costs several times the rest of the validation.
 *
 * @example
 * parseTimestamp('2026-01-01T00:00:30.250Z'); // 1767225630250
 * parseTimestamp(1767225630250); // 1767225630250
 * parseTimestamp('yesterday'); // undefined
 */
export function parseTimestamp(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 && value <= MAX_DATE_MS ? value : undefined;
  }
  if (typeof value !== 'string') return undefined;
  return parseRfc3339(value);
}

const DAYS_BEFORE_MONTH = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function digits(s: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** `YYYY-MM-DD[T ]HH:MM:SS[.fraction](Z|±HH:MM)`; a time zone is required so no reading is ambiguous. */
export function parseRfc3339(s: string): number | undefined {
  const len = s.length;
  if (len < 20 || len > 40) return undefined;
  const sep = s.charCodeAt(10);
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || (sep !== 84 && sep !== 116 && sep !== 32)) return undefined;
  if (s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return undefined;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  const second = digits(s, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) {
    return undefined;
  }
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const monthDays = month === 2 ? (leap ? 29 : 28) : DAYS_IN_MONTH[month - 1]!;
  if (day > monthDays) return undefined;
  let i = 19;
  let ms = 0;
  if (s.charCodeAt(i) === 46) {
    i++;
    const start = i;
    let scale = 100;
    while (i < len) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      ms += c * scale;
      scale /= 10;
      i++;
    }
    if (i === start) return undefined;
    ms = Math.floor(ms);
  }
  let offsetMinutes = 0;
  const z = s.charCodeAt(i);
  if (z === 90 || z === 122) {
    i++;
  } else if (z === 43 || z === 45) {
    if (s.charCodeAt(i + 3) !== 58) return undefined;
    const oh = digits(s, i + 1, 2);
    const om = digits(s, i + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return undefined;
    offsetMinutes = (oh * 60 + om) * (z === 45 ? -1 : 1);
    i += 6;
  } else {
    return undefined;
  }
  if (i !== len) return undefined;
  // days from the civil date (proleptic Gregorian), valid for years 0000-9999
  const y = year - 1970;
  const leapsBefore =
    Math.floor((year - 1 - 1968) / 4) - Math.floor((year - 1 - 1900) / 100) + Math.floor((year - 1 - 1600) / 400);
  const days = y * 365 + leapsBefore + DAYS_BEFORE_MONTH[month - 1]! + (month > 2 && leap ? 1 : 0) + day - 1;
  const t = ((days * 24 + hour) * 60 + minute - offsetMinutes) * 60_000 + Math.min(second, 59) * 1000 + ms;
  return t;
}
