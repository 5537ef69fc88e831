/**
 * How a long name (a key, a message id) is shown where it may not fit: cut in the middle by CSS,
 * the head ending in "…" and the tail kept, since long keys often share a prefix and differ at the
 * end; and the part a search matched, marked. Pure, so it is tested without a browser.
 */

/** A run of a name's characters, marked when a search matched it. */
export interface NamePart {
  text: string;
  match: boolean;
}

export interface NameSplit {
  /** The start of the name: cut at its end ("tenant-42-si…") when the name does not fit. */
  head: NamePart[];
  /** The end of the name, always shown whole. */
  tail: NamePart[];
}

/** Characters kept at the end of a name, at least. */
export const TAIL_CHARS = 8;
/** The tail grows to keep a search match near the end whole, up to this many characters. */
export const MAX_TAIL_CHARS = 20;

/** Where `query` (any case, trimmed) first occurs in `name`, or null. */
export function matchRange(name: string, query: string): [number, number] | null {
  const needle = query.trim().toLowerCase();
  if (needle === '') return null;
  const at = name.toLowerCase().indexOf(needle);
  return at < 0 ? null : [at, at + needle.length];
}

function parts(name: string, from: number, to: number, match: [number, number] | null) {
  const out: NamePart[] = [];
  const push = (a: number, b: number, m: boolean) => {
    if (b > a) out.push({ text: name.slice(a, b), match: m });
  };
  if (match === null || match[1] <= from || match[0] >= to) {
    push(from, to, false);
    return out;
  }
  const a = Math.max(from, match[0]);
  const b = Math.min(to, match[1]);
  push(from, a, false);
  push(a, b, true);
  push(b, to, false);
  return out;
}

/**
 * `name` split into a head that may be cut and a tail that is always shown, with the first match
 * of `query` marked. A match near the end moves into the tail, so it is never the part cut away.
 */
export function splitName(name: string, query = ''): NameSplit {
  const match = matchRange(name, query);
  let cut = Math.max(0, name.length - TAIL_CHARS);
  if (match !== null && match[1] > cut && name.length - match[0] <= MAX_TAIL_CHARS) {
    cut = Math.min(cut, match[0]);
  }
  return { head: parts(name, 0, cut, match), tail: parts(name, cut, name.length, match) };
}
