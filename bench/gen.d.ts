declare module '*/bench/peers/gen.mjs' {
  export const T0: number;
  export const LOCATIONS: string[];
  export interface BenchPoint { sensorId: string; location: string; time: number; temperature: number; humidity: number; co2: number; battery: number }
  export function points(opts?: { sensors?: number; perSensor?: number; stepS?: number; seed?: number }): Generator<BenchPoint>;
  export function recordOf(p: BenchPoint): Record<string, unknown>;
  export function batches(format: 'line' | 'json' | 'ndjson', size: number, opts?: object): Generator<string>;
}
