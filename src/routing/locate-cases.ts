/**
 * Finds the line of each row of a table of cases, so a failing case is reported at its
 * own `file:line`. Lua keeps no line numbers for table constructors, so this reads the
 * source with a small tokenizer (comments, short and long strings, brackets): the first
 * `{` after the anchor word (`routes`, `tests`) at or after a line, then the line where
 * each top-level entry of that table starts.
 */

export function entryLines(source: string, fromLine: number, anchor: string): number[] {
  const s = source;
  const n = s.length;
  let i = 0;
  let line = 1;
  let armed = false;
  let depth = 0; // inside the cases table: 1 = top level
  let expecting = false;
  const out: number[] = [];

  const longBracket = (at: number): number => {
    // returns the level of a `[=*[` opener at `at`, or -1
    let j = at + 1;
    while (s[j] === '=') j++;
    return s[j] === '[' ? j - at - 1 : -1;
  };
  const skipLong = (at: number, level: number): number => {
    const close = ']' + '='.repeat(level) + ']';
    const end = s.indexOf(close, at);
    const stop = end < 0 ? n : end + close.length;
    for (let k = at; k < stop; k++) if (s[k] === '\n') line++;
    return stop;
  };
  const token = (): void => {
    if (depth === 1 && expecting) {
      out.push(line);
      expecting = false;
    }
  };

  while (i < n) {
    const c = s[i];
    if (c === '\n') { line++; i++; continue; }
    if (c === ' ' || c === '\t' || c === '\r') { i++; continue; }
    if (c === '-' && s[i + 1] === '-') {
      if (s[i + 2] === '[') {
        const lvl = longBracket(i + 2);
        if (lvl >= 0) { i = skipLong(i + 4 + lvl, lvl); continue; }
      }
      while (i < n && s[i] !== '\n') i++;
      continue;
    }
    if (c === '"' || c === "'") {
      token();
      i++;
      while (i < n && s[i] !== c && s[i] !== '\n') {
        if (s[i] === '\\') { if (s[i + 1] === '\n') line++; i++; }
        i++;
      }
      i++;
      continue;
    }
    if (c === '[') {
      const lvl = longBracket(i);
      if (lvl >= 0) { token(); i = skipLong(i + 2 + lvl, lvl); continue; }
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_]/.test(s[j])) j++;
      const word = s.slice(i, j);
      if (depth === 0 && !armed && line >= fromLine && word === anchor) armed = true;
      else token();
      i = j;
      continue;
    }
    if (c === '{' || c === '(' || c === '[') {
      if (depth === 0) {
        if (armed && c === '{') { depth = 1; expecting = true; }
      } else { token(); depth++; }
      i++;
      continue;
    }
    if (c === '}' || c === ')' || c === ']') {
      if (depth > 0 && --depth === 0) return out;
      i++;
      continue;
    }
    if (depth === 1 && (c === ',' || c === ';')) { expecting = true; i++; continue; }
    token();
    i++;
  }
  return out;
}
