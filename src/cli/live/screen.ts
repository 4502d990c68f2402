// Puts rendered lines on the terminal without flicker: the alternate screen,
// and on each frame only the lines that changed are rewritten (Node's
// readline cursor helpers); a resize redraws everything. Restores the
// terminal on close, also when the process is interrupted.

import { clearLine, cursorTo } from "node:readline";
import type { WriteStream } from "node:tty";

export class Screen {
  private previous: string[] = [];
  private open = false;
  private readonly onResize = () => {
    this.previous = [];
    this.resized?.();
  };
  resized: (() => void) | null = null;

  constructor(private readonly out: WriteStream) {}

  get width(): number {
    return this.out.columns ?? 80;
  }

  get height(): number {
    return this.out.rows ?? 24;
  }

  start(): void {
    if (this.open) return;
    this.open = true;
    // alternate screen, hide cursor
    this.out.write("\x1b[?1049h\x1b[?25l");
    this.out.on("resize", this.onResize);
  }

  /** Writes only the lines that differ from the previous frame. */
  draw(lines: string[]): void {
    if (!this.open) return;
    const rows = Math.max(lines.length, this.previous.length);
    let buffer = "";
    const sink = { write: (s: string) => ((buffer += s), true) } as unknown as NodeJS.WritableStream;
    for (let row = 0; row < rows; row++) {
      const line = lines[row] ?? "";
      if (line === this.previous[row]) continue;
      cursorTo(sink, 0, row);
      clearLine(sink, 0);
      buffer += line;
    }
    if (buffer) this.out.write(buffer);
    this.previous = lines;
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.out.off("resize", this.onResize);
    // show cursor, leave the alternate screen
    this.out.write("\x1b[?25h\x1b[?1049l");
  }
}
