/** An in-memory log destination for tests: every pino line parsed, plus the raw text. */
import { Writable } from 'node:stream';

export interface LogCapture {
  readonly lines: Array<Record<string, unknown>>;
  /** Lines whose `msg` contains the text. */
  find(text: string): Array<Record<string, unknown>>;
  /** Access-log lines (msg "request"). */
  access(): Array<Record<string, unknown>>;
  /** The raw text of everything logged (to assert a secret never appears). */
  text(): string;
}

export function captureLogs(): { stream: Writable; logs: LogCapture } {
  const lines: Array<Record<string, unknown>> = [];
  let raw = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      const text = chunk.toString('utf8');
      raw += text;
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        try {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          lines.push({ msg: line });
        }
      }
      cb();
    },
  });
  return {
    stream,
    logs: {
      lines,
      find: (t) => lines.filter((l) => typeof l.msg === 'string' && l.msg.includes(t)),
      access: () => lines.filter((l) => l.msg === 'request'),
      text: () => raw,
    },
  };
}
