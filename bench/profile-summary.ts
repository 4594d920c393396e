// Summarizes a V8 CPU profile (`node --cpu-prof`, e.g. `BENCH_CPU_PROF=<dir> BENCH_PARTS=b npm run bench`):
// self time by module and by function, as microseconds per record of RECORDS (default 1,000,000). A script.
//   node --import tsx bench/profile-summary.ts <file.cpuprofile> [top functions, default 25]
import { readFileSync } from 'node:fs';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]');
const RECORDS = Number(process.env.RECORDS ?? 1_000_000);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

/** A module: the npm package, our source file, or V8's own entries ((garbage collector), (program), (idle)). */
function moduleOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return url;
  const ours = /\/(functions|shared|infra|bench)\/(.*)$/.exec(url);
  return ours ? `${ours[1]}/${ours[2]}` : url;
}

const modules = new Map<string, number>();
const functions = new Map<string, number>();
let total = 0;
for (const [id, us] of self) {
  const n = byId.get(id)!;
  const mod = moduleOf(n.callFrame.url, n.callFrame.functionName);
  modules.set(mod, (modules.get(mod) ?? 0) + us);
  const fn = `${n.callFrame.functionName || '(anonymous)'} ${mod}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
  functions.set(fn, (functions.get(fn) ?? 0) + us);
  total += us;
}
const busy = total - (modules.get('(idle)') ?? 0);
const row = (name: string, us: number) =>
  `| ${name} | ${(us / 1000).toFixed(0)} | ${(us / RECORDS).toFixed(2)} | ${((us / busy) * 100).toFixed(1)}% |`;
const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
console.log(`profile ${((profile.endTime - profile.startTime) / 1e6).toFixed(2)} s, busy ${(busy / 1e6).toFixed(2)} s = ${(busy / RECORDS).toFixed(2)} µs/record of ${RECORDS.toLocaleString('en')}\n`);
console.log('| module (self time) | ms | µs/record | % of busy |\n|---|---|---|---|');
for (const [m, us] of sorted(modules)) if (m !== '(idle)' && us / busy >= 0.005) console.log(row(m, us));
console.log('\n| function (self time) | ms | µs/record | % of busy |\n|---|---|---|---|');
for (const [f, us] of sorted(functions).filter(([f]) => !f.startsWith('(idle)')).slice(0, Number(topArg ?? 25))) console.log(row(f.replace(/\|/g, '\\|'), us));
