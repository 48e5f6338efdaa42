/**
 * The echo upstream (src/dev/echo.ts) for tests: 127.0.0.1, port 0.
 * Always `await echo.close()`.
 */
import { startEcho as startDevEcho, type Echo, type StartEchoOptions } from '../../src/dev/echo.ts';

export type { Echo, StartEchoOptions } from '../../src/dev/echo.ts';

export function startEcho(opts: StartEchoOptions = {}): Promise<Echo> {
  return startDevEcho({ host: '127.0.0.1', port: 0, ...opts });
}

/** What the echo server reports having received (the JSON body of an echo response). */
export interface EchoReply {
  method: string;
  url: string;
  path: string;
  args: Record<string, string | string[]>;
  headers: Record<string, string | string[]>;
  origin: string;
  data: string;
  json: unknown;
  form: Record<string, string | string[]>;
}
