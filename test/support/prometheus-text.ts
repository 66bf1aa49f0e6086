/**
 * A parser of the Prometheus text exposition format (0.0.4), written from its specification
 * (prometheus.io/docs/instrumenting/exposition_formats), for tests that check a `/metrics` body by
 * its structure rather than by substrings: families with their HELP and TYPE, samples with their
 * labels (escapes undone) and values. It refuses what the format does not allow, so a malformed
 * body fails the test instead of passing unread.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** The sample's own name: a histogram's `_bucket`, `_sum`, `_count` keep their suffix. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface MetricFamily {
  readonly name: string;
  readonly help: string | undefined;
  readonly type: MetricType;
  readonly samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
/** The sample names a family of each type may hold, besides its own name. */
const SUFFIXES: Record<MetricType, readonly string[]> = {
  counter: [],
  gauge: [],
  untyped: [],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['_sum', '_count'],
};

/** Parses a whole body into its families, by name. @throws Error naming the line that breaks the format. */
export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  const families = new Map<string, { name: string; help: string | undefined; type: MetricType | undefined; samples: Sample[] }>();
  const family = (name: string) => {
    let found = families.get(name);
    if (!found) families.set(name, (found = { name, help: undefined, type: undefined, samples: [] }));
    return found;
  };
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    const where = `line ${index + 1} ("${line.slice(0, 120)}")`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const meta = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!meta) return; // a plain comment
      const [, keyword, name, rest = ''] = meta;
      if (!NAME.test(name!)) throw new Error(`${where}: bad metric name`);
      const f = family(name!);
      if (keyword === 'HELP') {
        if (f.help !== undefined) throw new Error(`${where}: a second HELP for ${name}`);
        f.help = unescape(rest, false, where);
      } else {
        if (f.type !== undefined) throw new Error(`${where}: a second TYPE for ${name}`);
        if (f.samples.length > 0) throw new Error(`${where}: TYPE after the samples of ${name}`);
        if (!TYPES.has(rest.trim() as MetricType)) throw new Error(`${where}: unknown type "${rest}"`);
        f.type = rest.trim() as MetricType;
      }
      return;
    }
    const sample = parseSample(line, where);
    family(familyOf(sample.name, families)).samples.push(sample);
  });
  const result = new Map<string, MetricFamily>();
  for (const [name, f] of families) result.set(name, { name, help: f.help, type: f.type ?? 'untyped', samples: f.samples });
  return result;
}

/** The family a sample belongs to: its own name, or the histogram or summary whose suffix it carries. */
function familyOf(sample: string, families: Map<string, { type: MetricType | undefined }>): string {
  for (const [name, f] of families) {
    if (f.type === undefined) continue;
    if (SUFFIXES[f.type].some((suffix) => sample === name + suffix)) return name;
  }
  return sample;
}

function parseSample(line: string, where: string): Sample {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) throw new Error(`${where}: a sample must start with a metric name`);
  const name = nameMatch[0];
  let at = name.length;
  const labels: Record<string, string> = {};
  if (line[at] === '{') {
    at++;
    for (;;) {
      if (line[at] === '}') {
        at++;
        break;
      }
      const labelMatch = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(at));
      if (!labelMatch || !LABEL_NAME.test(labelMatch[1]!)) throw new Error(`${where}: bad label at column ${at + 1}`);
      at += labelMatch[0].length;
      let raw = '';
      while (line[at] !== '"') {
        if (at >= line.length) throw new Error(`${where}: unterminated label value`);
        if (line[at] === '\\') raw += line[at++];
        raw += line[at++];
      }
      at++;
      if (labelMatch[1]! in labels) throw new Error(`${where}: label ${labelMatch[1]} given twice`);
      labels[labelMatch[1]!] = unescape(raw, true, where);
      if (line[at] === ',') at++;
      else if (line[at] !== '}') throw new Error(`${where}: expected , or } after a label`);
    }
  }
  const rest = line.slice(at);
  const valueMatch = /^ +(\S+)(?: +(-?\d+))?$/.exec(rest);
  if (!valueMatch) throw new Error(`${where}: expected a value after the name and labels`);
  return { name, labels, value: parseValue(valueMatch[1]!, where) };
}

function parseValue(text: string, where: string): number {
  // Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any case: prom-client
  // writes `Nan` (e.g. the event loop's mean lag before its first sample).
  const special = text.toLowerCase();
  if (special === '+inf' || special === 'inf') return Number.POSITIVE_INFINITY;
  if (special === '-inf') return Number.NEGATIVE_INFINITY;
  if (special === 'nan') return Number.NaN;
  const value = Number(text);
  if (text.trim() === '' || Number.isNaN(value)) throw new Error(`${where}: "${text}" is not a number`);
  return value;
}

/** HELP escapes `\\` and `\n`; label values also `\"`. */
function unescape(raw: string, quotes: boolean, where: string): string {
  return raw.replace(/\\(.)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    if (c === '"' && quotes) return '"';
    throw new Error(`${where}: unknown escape \\${c}`);
  });
}

/** The samples of a family whose labels include `labels`. */
export function samplesOf(families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): Sample[] {
  const sampleName = name;
  const found: Sample[] = [];
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === sampleName && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) found.push(s);
    }
  }
  return found;
}
