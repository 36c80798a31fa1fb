/** One sample of a Prometheus scrape: its name (suffix included), labels and value. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A metric family: its TYPE and the samples whose names it covers. */
export interface PromFamily {
  type: string;
  help?: string;
  unit?: string;
  samples: PromSample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/gy;

/**
 * Parses the Prometheus text exposition format (version 0.0.4) strictly enough for tests: every
 * line is a `# HELP`, `# TYPE`, `# UNIT` or other comment, or a sample whose family was typed
 * before it; label values are unescaped. A malformed line throws, naming it.
 *
 * @param text a scrape
 * @returns the families by name (a histogram's `_bucket`, `_sum` and `_count` samples under its
 *   own name, a counter's `_total` under the name its TYPE line gives)
 */
export function parsePrometheusText(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>();
  const family = (name: string): PromFamily => {
    let found = families.get(name);
    if (found === undefined) {
      found = { type: 'untyped', samples: [] };
      families.set(name, found);
    }
    return found;
  };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const [, keyword, name, ...rest] = line.split(' ');
      if (keyword === 'TYPE') family(name).type = rest[0];
      else if (keyword === 'HELP') family(name).help = rest.join(' ');
      else if (keyword === 'UNIT') family(name).unit = rest.join(' ');
      continue;
    }
    const match = SAMPLE.exec(line);
    if (match === null) throw new Error(`not a Prometheus sample line: ${line}`);
    const [, name, labelText = '', valueText] = match;
    const labels: Record<string, string> = {};
    let consumed = 0;
    LABEL.lastIndex = 0;
    for (let m = LABEL.exec(labelText); m !== null; m = LABEL.exec(labelText)) {
      labels[m[1]] = m[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      consumed = LABEL.lastIndex;
    }
    if (consumed !== labelText.length) throw new Error(`bad labels in: ${line}`);
    const value = Number(valueText === '+Inf' ? Infinity : valueText);
    if (Number.isNaN(value)) throw new Error(`bad value in: ${line}`);
    const owner = [name, name.replace(/_(bucket|sum|count)$/, '')].find((n) => families.has(n));
    if (owner === undefined) throw new Error(`sample of an untyped family: ${line}`);
    family(owner).samples.push({ name, labels, value });
  }
  return families;
}
