import convert from 'convert-units';

/**
 * The units the product documents write (`unit: "celsius"`, `"percent"`, `"hPa"`, …), and conversion
 * between two units of one quantity by `convert-units`. A unit not in this table can still be declared on a
 * field; it is only not convertible.
 *
 * @example
 * convertValue(98.6, 'fahrenheit', 'celsius'); // 37
 * canConvert('percent', 'celsius'); // false
 */

const UNITS: Record<string, convert.Unit> = {
  celsius: 'C',
  '°c': 'C',
  c: 'C',
  fahrenheit: 'F',
  '°f': 'F',
  f: 'F',
  kelvin: 'K',
  k: 'K',
  millimeters: 'mm',
  mm: 'mm',
  centimeters: 'cm',
  cm: 'cm',
  meters: 'm',
  m: 'm',
  kilometers: 'km',
  km: 'km',
  inches: 'in',
  in: 'in',
  feet: 'ft',
  ft: 'ft',
  miles: 'mi',
  mi: 'mi',
  grams: 'g',
  g: 'g',
  kilograms: 'kg',
  kg: 'kg',
  pounds: 'lb',
  lb: 'lb',
  ounces: 'oz',
  oz: 'oz',
  liters: 'l',
  l: 'l',
  milliliters: 'ml',
  ml: 'ml',
  gallons: 'gal',
  gal: 'gal',
  pa: 'Pa',
  hpa: 'hPa',
  kpa: 'kPa',
  mpa: 'MPa',
  bar: 'bar',
  psi: 'psi',
  torr: 'torr',
  'm/s': 'm/s',
  'km/h': 'km/h',
  kph: 'km/h',
  mph: 'm/h',
  knots: 'knot',
  knot: 'knot',
  ms: 'ms',
  milliseconds: 'ms',
  s: 's',
  seconds: 's',
  min: 'min',
  minutes: 'min',
  h: 'h',
  hours: 'h',
  w: 'W',
  watts: 'W',
  kw: 'kW',
  kilowatts: 'kW',
  wh: 'Wh',
  kwh: 'kWh',
  v: 'V',
  volts: 'V',
  mv: 'mV',
  millivolts: 'mV',
  a: 'A',
  amperes: 'A',
  amps: 'A',
  ma: 'mA',
  milliamperes: 'mA',
  ppm: 'ppm',
  ppb: 'ppb',
  hz: 'Hz',
  khz: 'kHz',
  lux: 'lx',
  lx: 'lx',
  degrees: 'deg',
  deg: 'deg',
  radians: 'rad',
  rad: 'rad',
};

const unitOf = (name: string): convert.Unit | undefined => (Object.hasOwn(UNITS, name.toLowerCase()) ? UNITS[name.toLowerCase()] : undefined);

/** The names this table knows, for error messages. */
export const KNOWN_UNITS = Object.keys(UNITS).filter((n) => /^[a-z]{3,}$/.test(n));

/** Whether a value in `from` can be converted to `to` (both known, of one quantity). */
export function canConvert(from: string, to: string): boolean {
  const a = unitOf(from);
  const b = unitOf(to);
  if (!a || !b) return false;
  return convert().describe(a).measure === convert().describe(b).measure;
}

/** `value` in `from`, in `to`; call only when `canConvert(from, to)`. */
export function convertValue(value: number, from: string, to: string): number {
  const converted = convert(value).from(unitOf(from)!).to(unitOf(to)!);
  // affine conversions in binary floating point leave tails (36.99999999999999 for 98.6 °F): round to 12 significant digits
  return Number(converted.toPrecision(12));
}
