/**
 * Finds the line of a setting or value in the script's source, so a validation error
 * can say `config.lua:14: ...`. Lua keeps no line numbers for table fields, so this
 * reads the text: the line of `name =` at the top level, then the first line at or after
 * it that mentions the field or value.
 */

export class SourceLines {
  private readonly lines: string[];
  constructor(readonly display: string, source: string) {
    this.lines = source.split('\n');
  }

  /** line (1-based) of the first `name =` assignment at the start of a line, or of `function name` */
  global(name: string): number | null {
    const re = new RegExp(`^\\s*(?:local\\s+)?(?:${escape(name)}\\s*=(?!=)|function\\s+${escape(name)}\\s*\\()`);
    const i = this.lines.findIndex((l) => re.test(l));
    return i < 0 ? null : i + 1;
  }

  /** line of `needle` (a key `needle =` or a literal) at or after line `from` */
  after(from: number | null, needle: string, asKey: boolean): number | null {
    const start = (from ?? 1) - 1;
    const re = asKey ? new RegExp(`(^|[{,;\\s])\\[?["']?${escape(needle)}["']?\\]?\\s*=(?!=)`) : null;
    for (let i = start; i < this.lines.length; i++) {
      const l = this.lines[i];
      if (re ? re.test(l) : l.includes(needle)) return i + 1;
    }
    return null;
  }

  /** `file:line: ` prefix, or `file: ` when the line is unknown */
  at(line: number | null): string {
    return line ? `${this.display}:${line}: ` : `${this.display}: `;
  }
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
