/**
 * The node's "seen once" set: one-time identifiers (DPoP proof `jti`s,
 * logout token `jti`s) that must be refused the second time they reach any
 * worker of the node. Callers name an identifier by a digest (base64url,
 * at least 22 characters: the first 128 bits are kept).
 *
 * The set lives in the primary; a worker asks it over the cluster IPC
 * channel, all the identifiers of one event-loop turn in one message
 * (flushed at setImmediate, after the turn's I/O callbacks), and the
 * primary answers in one message. One question is in flight per worker at a
 * time: identifiers that come meanwhile go together once it is answered.
 * A process that is not a cluster worker (the primary itself, a
 * single-process gateway, a test) uses its own set.
 *
 * Why not the node's SQLite file like the other node-wide state: every
 * identifier is a new row, so every request was a write transaction (write
 * lock, WAL frame, the other worker's page cache invalidated) and the
 * workers queued on the lock. Why a typed-array table and not a Map: every
 * entry of a Map is a string the primary's garbage collector copies and
 * marks again and again (the primary spent ~20 µs per DPoP request in GC);
 * the table holds no object per entry. docs/ARCHITECTURE.md, "Seen-once
 * identifiers".
 *
 * Fails closed: no answer within ANSWER_TIMEOUT_MS, or no primary, rejects
 * (the caller answers 500), never "first use".
 */
import process from 'node:process';
import cluster from 'node:cluster';

/** Characters of a key that are used: 22 base64url characters = 132 bits, of which 128 are kept. */
export const KEY_CHARS = 22;
const MIN_SLOTS = 4096;

const B64 = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.charCodeAt(i)] = i;

/**
 * An open-addressing hash table (linear probing) of 128-bit keys with an
 * expiry (seconds) each, in typed arrays: 20 bytes a slot, at most three
 * quarters of the slots used, so 27–80 bytes per live entry. An expired
 * entry counts as absent and its slot is reused; a table three quarters
 * full is rebuilt with only the live entries, at most half full (a
 * rebuild walks every slot once: ~1.5M live entries at 5,000 proofs/s for
 * 300 s means one rebuild of 4M slots every ~5 minutes).
 */
export class SeenOnceTable {
  #keys = new Uint32Array(MIN_SLOTS * 4);
  #exp = new Uint32Array(MIN_SLOTS);
  #mask = MIN_SLOTS - 1;
  /** Slots ever written since the last rebuild (expired ones included): probe chains end at a 0 slot. */
  #used = 0;
  readonly #k = new Uint32Array(4);

  /** Slots in the table (for memory accounting). */
  get capacity(): number {
    return this.#exp.length;
  }

  /** Entries still live at `now`. */
  live(now: number): number {
    let n = 0;
    for (let i = 0; i < this.#exp.length; i++) if (this.#exp[i]! > now) n++;
    return n;
  }

  /**
   * True when the key (characters `at`…`at + 21` of `s`, base64url) is not
   * held or its time is over, and holds it until `expiresAt`; false for a
   * repeat. A key that is not base64url is never "first".
   */
  firstUse(s: string, at: number, expiresAt: number, now: number): boolean {
    const k = this.#k;
    if (!decodeKey(s, at, k)) return false;
    return this.#put(k[0]!, k[1]!, k[2]!, k[3]!, expiresAt, now);
  }

  #put(a: number, b: number, c: number, d: number, expiresAt: number, now: number): boolean {
    const keys = this.#keys;
    const exp = this.#exp;
    const mask = this.#mask;
    let i = a & mask;
    let free = -1;
    for (;;) {
      const e = exp[i]!;
      if (e === 0) break;
      const o = i * 4;
      if (keys[o] === a && keys[o + 1] === b && keys[o + 2] === c && keys[o + 3] === d) {
        if (e > now) return false;
        exp[i] = expiresAt;
        return true;
      }
      if (free < 0 && e <= now) free = i;
      i = (i + 1) & mask;
    }
    const slot = free >= 0 ? free : i;
    const o = slot * 4;
    keys[o] = a;
    keys[o + 1] = b;
    keys[o + 2] = c;
    keys[o + 3] = d;
    exp[slot] = expiresAt;
    if (free < 0 && ++this.#used * 4 > exp.length * 3) this.#rebuild(now);
    return true;
  }

  /** Keep the live entries only, in a table at least twice their number (never under MIN_SLOTS). */
  #rebuild(now: number): void {
    const keys = this.#keys;
    const exp = this.#exp;
    const live = this.live(now);
    let slots = MIN_SLOTS;
    while (slots < live * 2) slots *= 2;
    this.#keys = new Uint32Array(slots * 4);
    this.#exp = new Uint32Array(slots);
    this.#mask = slots - 1;
    this.#used = 0;
    for (let i = 0; i < exp.length; i++) {
      const e = exp[i]!;
      if (e > now) this.#put(keys[i * 4]!, keys[i * 4 + 1]!, keys[i * 4 + 2]!, keys[i * 4 + 3]!, e, now);
    }
  }
}

/** Decode 22 base64url characters of `s` from `at` into 16 bytes as 4 × 32 bits (the last 4 bits dropped). */
function decodeKey(s: string, at: number, out: Uint32Array): boolean {
  if (s.length < at + KEY_CHARS) return false;
  let word = 0;
  let bytes = 0;
  let w = 0;
  // Five groups of 4 characters (3 bytes each), then 2 characters (1 byte and 4 bits).
  for (let g = 0; g < 6; g++) {
    const len = g < 5 ? 4 : 2;
    let v = 0;
    for (let j = 0; j < len; j++) {
      const ch = s.charCodeAt(at + g * 4 + j);
      const x = ch < 128 ? B64[ch]! : -1;
      if (x < 0) return false;
      v = (v << 6) | x;
    }
    const n = len === 4 ? 3 : 1;
    if (len === 2) v >>= 4;
    for (let b = n - 1; b >= 0; b--) {
      word = ((word << 8) | ((v >> (b * 8)) & 255)) >>> 0;
      if (++bytes === 4) {
        out[w++] = word;
        word = 0;
        bytes = 0;
      }
    }
  }
  return w === 4;
}

/** Worker → primary: the keys of one batch, concatenated, and their expiries. */
interface SeenOnceMessage {
  type: 'portcullis:seen-once';
  id: number;
  keys: string;
  exp: number[];
  now: number;
}

/** Primary → worker: '1' (first use) or '0' per key, in order. */
interface SeenOnceResultMessage {
  type: 'portcullis:seen-once-result';
  id: number;
  fresh: string;
}

/** How long a worker waits for the primary's answer before refusing the requests. */
export const ANSWER_TIMEOUT_MS = 2_000;

let table: SeenOnceTable | null = null;
const own = (): SeenOnceTable => (table ??= new SeenOnceTable());

interface Waiting {
  resolve: (first: boolean) => void;
  reject: (err: Error) => void;
}

let seq = 0;
let keys = '';
let exps: number[] = [];
let waiting: Waiting[] = [];
let batchNow = 0;
let scheduled = false;
let listening = false;
const inFlight = new Map<number, { waiting: Waiting[]; timer: NodeJS.Timeout }>();

function settle(id: number, fresh: string | null, error: Error | null): void {
  const f = inFlight.get(id);
  if (f === undefined) return;
  inFlight.delete(id);
  clearTimeout(f.timer);
  if (waiting.length > 0 && !scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
  for (let i = 0; i < f.waiting.length; i++) {
    const w = f.waiting[i]!;
    if (fresh === null || fresh.length !== f.waiting.length) w.reject(error ?? new Error('seen-once: malformed answer from the primary'));
    else w.resolve(fresh.charCodeAt(i) === 49);
  }
}

function listen(): void {
  listening = true;
  process.on('message', (m: unknown) => {
    const msg = m as SeenOnceResultMessage | undefined;
    if (msg?.type === 'portcullis:seen-once-result') settle(msg.id, typeof msg.fresh === 'string' ? msg.fresh : null, null);
  });
  process.on('disconnect', () => {
    for (const id of [...inFlight.keys()]) settle(id, null, new Error('seen-once: the primary is gone'));
  });
}

function flush(): void {
  scheduled = false;
  if (inFlight.size > 0 || waiting.length === 0) return;
  const id = ++seq;
  const message: SeenOnceMessage = { type: 'portcullis:seen-once', id, keys, exp: exps, now: batchNow };
  const w = waiting;
  keys = '';
  exps = [];
  waiting = [];
  const timer = setTimeout(() => settle(id, null, new Error(`seen-once: the primary did not answer within ${ANSWER_TIMEOUT_MS} ms`)), ANSWER_TIMEOUT_MS);
  timer.unref();
  inFlight.set(id, { waiting: w, timer });
  if (process.send === undefined || !process.connected) {
    settle(id, null, new Error('seen-once: no primary'));
    return;
  }
  process.send(message, (err: Error | null) => {
    if (err) settle(id, null, err);
  });
}

/**
 * True the first time `key` (a digest, base64url, ≥ 22 characters) is seen
 * on this node within `ttl` seconds from `now` (seconds), and remembers it;
 * false for a repeat. Rejects when the check cannot be made.
 */
export function firstUseOnNode(key: string, ttl: number, now: number): Promise<boolean> {
  if (key.length < KEY_CHARS) return Promise.reject(new Error('seen-once: a key is a digest of at least 22 base64url characters'));
  if (!cluster.isWorker) return Promise.resolve(own().firstUse(key, 0, now + ttl, now));
  if (!listening) listen();
  return new Promise<boolean>((resolve, reject) => {
    keys += key.slice(0, KEY_CHARS);
    exps.push(now + ttl);
    waiting.push({ resolve, reject });
    if (now > batchNow) batchNow = now;
    if (!scheduled && inFlight.size === 0) {
      scheduled = true;
      setImmediate(flush);
    }
  });
}

/** Primary: answer the workers' seen-once questions (call once, before forking). */
export function serveSeenOnce(): void {
  cluster.on('message', (w, m: unknown) => {
    const msg = m as SeenOnceMessage | undefined;
    if (msg?.type !== 'portcullis:seen-once') return;
    const { keys: k, exp } = msg;
    if (typeof k !== 'string' || !Array.isArray(exp)) return;
    const now = typeof msg.now === 'number' ? msg.now : Math.floor(Date.now() / 1000);
    const t = own();
    let fresh = '';
    for (let i = 0; i < exp.length; i++) {
      const at = exp[i];
      fresh += typeof at === 'number' && t.firstUse(k, i * KEY_CHARS, at, now) ? '1' : '0';
    }
    if (w.isConnected()) w.send({ type: 'portcullis:seen-once-result', id: msg.id, fresh } satisfies SeenOnceResultMessage);
  });
}
