// A validator for the part of JSON Schema (2020-12) that docs/*.schema.json
// use: type (one or a list), enum, required, properties, additionalProperties
// false, items, oneOf, minimum, maximum, and $ref to "#/$defs/NAME". Anything
// else in a schema is an error here, so a schema cannot use more than is checked.
type Schema = Record<string, unknown>;
const known = new Set(['$schema', '$id', 'title', 'description', 'type', 'enum', 'required', 'properties',
  'additionalProperties', 'items', 'oneOf', 'minimum', 'maximum', '$ref', '$defs']);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** The errors (empty when `value` is valid), each with the JSON path where it is. */
export function validate(root: Schema, value: unknown): string[] {
  const check = (s: Schema, v: unknown, at: string, errors: string[]): void => {
    for (const k of Object.keys(s)) if (!known.has(k)) throw new Error(`schema keyword not supported: ${k}`);
    if (typeof s.$ref === 'string') {
      const m = /^#\/\$defs\/(.+)$/.exec(s.$ref);
      const def = m && (root.$defs as Record<string, Schema> | undefined)?.[m[1]!];
      if (!def) throw new Error(`unresolved $ref ${s.$ref}`);
      check(def, v, at, errors);
    }
    if (s.type !== undefined) {
      const types = Array.isArray(s.type) ? s.type as string[] : [s.type as string];
      const t = typeOf(v);
      if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) {
        errors.push(`${at}: ${t} is not ${types.join(' or ')}`);
        return;
      }
    }
    if (Array.isArray(s.enum) && !s.enum.includes(v)) errors.push(`${at}: ${JSON.stringify(v)} not one of ${JSON.stringify(s.enum)}`);
    if (typeof v === 'number') {
      if (typeof s.minimum === 'number' && v < s.minimum) errors.push(`${at}: ${v} < ${s.minimum}`);
      if (typeof s.maximum === 'number' && v > s.maximum) errors.push(`${at}: ${v} > ${s.maximum}`);
    }
    if (Array.isArray(s.oneOf)) {
      const passing = (s.oneOf as Schema[]).filter((sub) => { const e: string[] = []; check(sub, v, at, e); return e.length === 0; });
      if (passing.length !== 1) errors.push(`${at}: matches ${passing.length} of oneOf, not 1`);
    }
    if (typeOf(v) === 'object') {
      const o = v as Record<string, unknown>;
      for (const r of (s.required as string[] | undefined) ?? []) if (!(r in o)) errors.push(`${at}: missing ${r}`);
      const props = (s.properties as Record<string, Schema> | undefined) ?? {};
      for (const [k, val] of Object.entries(o)) {
        if (props[k]) check(props[k]!, val, `${at}.${k}`, errors);
        else if (s.additionalProperties === false) errors.push(`${at}: unexpected ${k}`);
      }
    }
    if (Array.isArray(v) && s.items) v.forEach((x, i) => check(s.items as Schema, x, `${at}[${i}]`, errors));
  };
  const errors: string[] = [];
  check(root, value, '$', errors);
  return errors;
}
