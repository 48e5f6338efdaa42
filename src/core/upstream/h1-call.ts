/**
 * One request's life through the upstream HTTP/1.1 pool (h1-pool.ts): the
 * handler's controller (abort / pause / resume, types.ts) and the state the
 * connection running it (h1-connection.ts) reads and updates — sent,
 * answered, resent once, response bytes held back while paused.
 */
import process from 'node:process';
import type { Socket } from 'node:net';
import type { UpstreamController, UpstreamHandler, UpstreamRequest } from './types.ts';

/** What a call uses of the connection it runs on (H1Connection, h1-connection.ts). */
export interface CallConnection {
  readonly socket: Socket;
  abortWith(err: Error): void;
  resumeCall(call: Call): void;
}

/** One request's life through the pool; it is the handler's controller. */
export class Call implements UpstreamController {
  readonly handler: UpstreamHandler;
  readonly req: UpstreamRequest;
  /** The request line and header block (built once, also for a resend). */
  readonly head: string;
  conn: CallConnection | null;
  paused: boolean;
  aborted: boolean;
  /** onResponseEnd or onResponseError was called. */
  done: boolean;
  /** The whole request went out. */
  requestSent: boolean;
  /** Some of the response arrived. */
  answered: boolean;
  /** Already sent once more after a failure on a reused connection. */
  resent: boolean;
  /** Response bytes held back while paused; EMPTY when only completion is pending. */
  held: Buffer | null;

  constructor(handler: UpstreamHandler, req: UpstreamRequest, head: string) {
    this.handler = handler;
    this.req = req;
    this.head = head;
    this.conn = null;
    this.paused = false;
    this.aborted = false;
    this.done = false;
    this.requestSent = false;
    this.answered = false;
    this.resent = false;
    this.held = null;
  }

  abort(reason: Error): void {
    if (this.done) return;
    this.aborted = true;
    const conn = this.conn;
    if (conn !== null) conn.abortWith(reason);
    else this.fail(reason);
  }

  pause(): void {
    if (this.done || this.paused) return;
    this.paused = true;
    this.conn?.socket.pause();
  }

  resume(): void {
    if (this.done || !this.paused) return;
    this.paused = false;
    this.conn?.resumeCall(this);
  }

  /** Report a failure (the connection, if any, was already detached). */
  fail(err: Error): void {
    if (this.done) return;
    this.done = true;
    this.handler.onResponseError(this, err);
  }

  /** fail(), on a later tick: the dispatcher never calls back from inside dispatch(). */
  failLater(err: Error): void {
    process.nextTick(() => this.fail(err));
  }
}
