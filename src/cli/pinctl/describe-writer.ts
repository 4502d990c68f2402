// A small prefix writer for describe output: "Label:  value" lines aligned
// within each block of consecutive pairs at one indent, as kubectl's
// tabwriter does, with nested blocks indented two spaces per level.

type Line = { kind: "pair"; level: number; label: string; value: string } | { kind: "text"; level: number; text: string };

export class DescribeWriter {
  private readonly lines: Line[] = [];

  pair(level: number, label: string, value: string | number | boolean | undefined | null): this {
    const text = value === undefined || value === null || value === "" ? "<none>" : String(value);
    const [first, ...rest] = text.split("\n");
    this.lines.push({ kind: "pair", level, label, value: first ?? "" });
    // Continuation lines (labels, annotations) line up under the first value.
    for (const more of rest) this.lines.push({ kind: "pair", level, label: "", value: more });
    return this;
  }

  /** `Label:` then nothing: a heading for a nested block. */
  heading(level: number, label: string): this {
    this.lines.push({ kind: "text", level, text: `${label}:` });
    return this;
  }

  text(level: number, text: string): this {
    this.lines.push({ kind: "text", level, text });
    return this;
  }

  /** Labels or annotations, one per line, `<none>` when empty. */
  map(level: number, label: string, m: Record<string, string> | undefined, sep = "="): this {
    const entries = Object.entries(m ?? {}).sort(([a], [b]) => a.localeCompare(b));
    return this.pair(level, label, entries.length === 0 ? "<none>" : entries.map(([k, v]) => `${k}${sep}${v}`).join("\n"));
  }

  render(): string {
    const out: string[] = [];
    let i = 0;
    while (i < this.lines.length) {
      const line = this.lines[i]!;
      if (line.kind === "text") {
        out.push(`${"  ".repeat(line.level)}${line.text}`);
        i++;
        continue;
      }
      // A run of pairs at the same level aligns its values.
      let j = i;
      let width = 0;
      while (j < this.lines.length && this.lines[j]!.kind === "pair" && this.lines[j]!.level === line.level) {
        const p = this.lines[j] as Extract<Line, { kind: "pair" }>;
        width = Math.max(width, p.label.length + 1);
        j++;
      }
      for (let k = i; k < j; k++) {
        const p = this.lines[k] as Extract<Line, { kind: "pair" }>;
        const label = p.label ? `${p.label}:` : "";
        out.push(`${"  ".repeat(p.level)}${label.padEnd(width)}  ${p.value}`.trimEnd());
      }
      i = j;
    }
    return `${out.join("\n")}\n`;
  }
}
