/** Shapes shared by the bench harness (bench/run.ts) and its systems and scenarios. */
import type { RequestSpec } from './load.ts';
import type { BenchIdp } from './idp.ts';

export type SystemKind = 'direct' | 'nginx' | 'apache' | 'portcullis';

/** A running system under test, ready for load. */
export interface Target {
  kind: SystemKind;
  /** Short label in tables, e.g. "portcullis", "apache mod_auth_openidc". */
  label: string;
  /** http://127.0.0.1:PORT */
  base: string;
  /** Roots of the process trees whose RSS is measured. */
  pids: number[];
  /** What the load generator sends (one spec = the same request every time). */
  requests: RequestSpec[];
  /** What was done to get here (config, login), for the report. */
  notes: string[];
  /** Where this system's CPU profiles land (--cpu-prof), if any. */
  profileDir?: string;
  /**
   * A rate limit the load is meant to reach: requests admitted per UTC
   * second, node-wide. The run then starts 100 ms into a second, 429 answers
   * are counted apart (not errors) and the upstream's count is compared to
   * limit × the seconds the run touched.
   */
  admitsPerSecond?: number;
  /** Answers may come from the system's cache: the upstream does not see every request. */
  caches?: boolean;
  stop(): Promise<void>;
}

export interface Upstream {
  base: string;
  port: number;
  pid: number;
  kind: 'nginx' | 'node';
  /** Requests the upstream has answered so far. */
  count(): Promise<number>;
  stop(): Promise<void>;
}

export interface BenchEnv {
  /** Repository root. */
  root: string;
  /** The pinned node binary (node_modules/.bin/node's target). */
  node: string;
  /** Temp directory of this run (configs, logs). */
  tmp: string;
  /** Worker processes for Portcullis, nginx and Apache (= cores by default). */
  workers: number;
  quick: boolean;
  /** When set, Portcullis processes write .cpuprofile files under this directory (one subdirectory per system). */
  cpuProfDir: string | null;
  upstream: Upstream;
  /** The local IdP (started on first use). */
  idp(): Promise<BenchIdp>;
  log(message: string): void;
}

/** One system of a scenario: how to start it, or why it cannot run here. */
export interface SystemSpec {
  kind: SystemKind;
  label: string;
  /** null when it can run; otherwise the reason it is skipped (peer not installed …). */
  unavailable(): string | null;
  start(env: BenchEnv): Promise<Target>;
}

export interface Scenario {
  id: string;
  title: string;
  /** What the scenario measures and how each system is configured (for the Markdown). */
  description: string;
  /** Label of the system every Portcullis figure is compared to, or null. */
  peer: SystemKind | null;
  systems: SystemSpec[];
}
