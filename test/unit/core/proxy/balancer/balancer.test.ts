/** Kong's balancing algorithms over an upstream's targets (src/core/proxy/balancer/). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTarget } from '../../../../../src/core/proxy/balancer/address.ts';
import { Balancer, DEFAULT_HEALTHCHECKS } from '../../../../../src/core/proxy/balancer/balancer.ts';
import { setHealthState, UNHEALTHY, HEALTHY } from '../../../../../src/core/proxy/balancer/health-state.ts';
import { cookieValue, queryArgValue } from '../../../../../src/core/proxy/balancer/hash-input.ts';
import type { Healthchecks, TargetEntity, UpstreamEntity } from '../../../../../src/schema/entities/types.ts';

let seq = 0;
const t = (target: string, weight: number, created_at = 1): TargetEntity => ({ id: `${target}-${weight}-${++seq}`, created_at, updated_at: created_at, upstream: { id: 'u' }, target, weight, tags: null });

function upstream(over: Partial<UpstreamEntity> = {}): UpstreamEntity {
  return {
    id: `u-${++seq}`,
    created_at: 1,
    updated_at: 1,
    tags: null,
    name: 'up',
    algorithm: 'round-robin',
    slots: 10000,
    hash_on: 'none',
    hash_fallback: 'none',
    hash_on_header: null,
    host_header: null,
    healthchecks: structuredClone(DEFAULT_HEALTHCHECKS),
    use_srv_name: false,
    ...over,
  };
}

/** Passive checks on (so health cells are used). */
function checked(): Healthchecks {
  const hc = structuredClone(DEFAULT_HEALTHCHECKS);
  hc.passive.unhealthy.tcp_failures = 1;
  return hc;
}

test('targets default to port 8000 and keep IPv6 brackets for the Host header', () => {
  assert.deepEqual(parseTarget('example.com'), { host: 'example.com', port: 8000, hostHeader: 'example.com' });
  assert.deepEqual(parseTarget('10.0.0.1:81'), { host: '10.0.0.1', port: 81, hostHeader: '10.0.0.1' });
  assert.deepEqual(parseTarget('[::1]:82'), { host: '::1', port: 82, hostHeader: '[::1]' });
});

test('round-robin spreads requests in proportion to the weights, interleaved', () => {
  const b = new Balancer(upstream(), [t('10.0.0.1:1', 200), t('10.0.0.2:1', 100)]);
  const ips = Array.from({ length: 6 }, () => b.pick(0, null)!.ip);
  assert.equal(ips.filter((h) => h === '10.0.0.1').length, 4);
  assert.equal(ips.filter((h) => h === '10.0.0.2').length, 2);
  assert.notDeepEqual(ips.slice(0, 4), ['10.0.0.1', '10.0.0.1', '10.0.0.1', '10.0.0.1']);
});

test('weight 0 disables a target; none left means no peer; a re-added target uses its latest definition', () => {
  assert.equal(new Balancer(upstream(), [t('10.0.0.1:1', 0)]).pick(0, null), null);
  const b = new Balancer(upstream(), [t('10.0.0.1:1', 100, 1), t('10.0.0.1:1', 0, 2), t('10.0.0.2:1', 100, 1)]);
  assert.equal(b.addresses.length, 1);
  assert.equal(b.targets.length, 2, 'the weight-0 target is still listed (health endpoint)');
  assert.equal(b.pick(0, null)!.ip, '10.0.0.2');
});

test('a retry avoids the address that just failed while another is available', () => {
  for (const algorithm of ['round-robin', 'least-connections', 'latency', 'consistent-hashing'] as const) {
    const b = new Balancer(upstream({ algorithm }), [t('10.0.0.1:1', 100), t('10.0.0.2:1', 100), t('10.0.0.3:1', 100)]);
    for (let i = 0; i < 20; i++) {
      const first = b.pick(i * 37, null)!;
      const retry = b.pick(i * 37, first)!;
      assert.notEqual(retry, first, algorithm);
    }
    const single = new Balancer(upstream({ algorithm }), [t('10.0.0.9:1', 100)]);
    const only = single.pick(0, null)!;
    assert.equal(single.pick(0, only), only, `${algorithm}: the only address is tried again`);
  }
});

test('unhealthy addresses are skipped; none healthy → no peer; threshold makes the upstream unhealthy early', () => {
  const b = new Balancer(upstream({ healthchecks: checked() }), [t('10.1.0.1:1', 100), t('10.1.0.2:1', 100)]);
  setHealthState(b.addresses[0]!.key, UNHEALTHY);
  for (let i = 0; i < 5; i++) assert.equal(b.pick(0, null)!.ip, '10.1.0.2');
  setHealthState(b.addresses[1]!.key, UNHEALTHY);
  assert.equal(b.pick(0, null), null);
  setHealthState(b.addresses[0]!.key, HEALTHY);
  setHealthState(b.addresses[1]!.key, HEALTHY);
  const hc = checked();
  hc.threshold = 60;
  const c = new Balancer(upstream({ healthchecks: hc }), [t('10.1.0.1:1', 100), t('10.1.0.2:1', 100)]);
  assert.ok(c.pick(0, null));
  setHealthState(c.addresses[0]!.key, UNHEALTHY);
  assert.equal(c.pick(0, null), null, '50% available is not more than 60%');
  setHealthState(c.addresses[0]!.key, HEALTHY);
});

test('without health checks, health state is ignored (HEALTHCHECKS_OFF)', () => {
  const b = new Balancer(upstream(), [t('10.2.0.1:1', 100)]);
  setHealthState(b.addresses[0]!.key, UNHEALTHY);
  assert.equal(b.pick(0, null)!.ip, '10.2.0.1');
  setHealthState(b.addresses[0]!.key, HEALTHY);
});

test('least-connections sends new requests away from an address holding requests', () => {
  const b = new Balancer(upstream({ algorithm: 'least-connections' }), [t('10.3.0.1:1', 100), t('10.3.0.2:1', 100), t('10.3.0.3:1', 100)]);
  const slow = b.pick(0, null)!;
  slow.connections += 5; // five slow requests in flight
  const counts = new Map<string, number>();
  for (let i = 0; i < 30; i++) {
    const a = b.pick(0, null)!;
    counts.set(a.ip, (counts.get(a.ip) ?? 0) + 1);
    a.connections++;
  }
  // The slow one gets new requests only once the others hold as many.
  assert.ok((counts.get(slow.ip) ?? 0) < 10, JSON.stringify([...counts]));
  // weights count: (connections + 1) / weight
  const w = new Balancer(upstream({ algorithm: 'least-connections' }), [t('10.3.1.1:1', 100), t('10.3.1.2:1', 300)]);
  assert.equal(w.pick(0, null)!.ip, '10.3.1.2');
});

test('latency prefers the address with the lower response-time average', () => {
  const b = new Balancer(upstream({ algorithm: 'latency' }), [t('10.4.0.1:1', 100), t('10.4.0.2:1', 100)]);
  const [fast, slow] = [b.addresses[0]!, b.addresses[1]!];
  b.latency!.observe(fast, 5);
  b.latency!.observe(slow, 500);
  for (let i = 0; i < 5; i++) assert.equal(b.pick(0, null), fast);
});

test('consistent hashing: 10,000 keys, remove one of 5 targets → ≤ 25% of keys move, the rest keep their target', () => {
  const targets = [1, 2, 3, 4, 5].map((i) => t(`10.5.0.${i}:80`, 100));
  const before = new Balancer(upstream({ algorithm: 'consistent-hashing', hash_on: 'header', hash_on_header: 'x-key' }), targets);
  const after = new Balancer(upstream({ algorithm: 'consistent-hashing', hash_on: 'header', hash_on_header: 'x-key' }), targets.slice(0, 4));
  let moved = 0;
  let movedOffSurvivor = 0;
  const perTarget = new Map<string, number>();
  for (let k = 0; k < 10_000; k++) {
    const key = `user-${k}`;
    const a = before.pick(before.ring!.pointOf(key), null)!.ip;
    const b = after.pick(after.ring!.pointOf(key), null)!.ip;
    perTarget.set(a, (perTarget.get(a) ?? 0) + 1);
    if (a !== b) {
      moved++;
      if (a !== '10.5.0.5') movedOffSurvivor++;
    }
  }
  console.log(`consistent hashing: ${moved} of 10000 keys moved (${(moved / 100).toFixed(1)}%), ${movedOffSurvivor} of them from a remaining target; spread ${JSON.stringify([...perTarget.values()])}`);
  assert.ok(moved <= 2500, `${moved} keys moved`);
  assert.equal(movedOffSurvivor, 0, 'keys of the remaining targets keep their target');
  for (const n of perTarget.values()) assert.ok(n > 1000 && n < 3000, 'keys spread over all targets');
});

test('consistent hashing: the same key always lands on the same address; an unhealthy one passes its keys on and gets them back', () => {
  const hc = checked();
  const b = new Balancer(upstream({ algorithm: 'consistent-hashing', hash_on: 'ip', healthchecks: hc }), [1, 2, 3].map((i) => t(`10.6.0.${i}:80`, 100)));
  const p = b.ring!.pointOf('192.0.2.7');
  const a = b.pick(p, null)!;
  for (let i = 0; i < 10; i++) assert.equal(b.pick(p, null), a);
  setHealthState(a.key, UNHEALTHY);
  const other = b.pick(p, null)!;
  assert.notEqual(other, a);
  setHealthState(a.key, HEALTHY);
  assert.equal(b.pick(p, null), a);
});

test('hash inputs: cookies and query arguments as nginx / Kong read them', () => {
  assert.equal(cookieValue('a=1; sticky=abc; b=2', 'sticky'), 'abc');
  assert.equal(cookieValue('a=1', 'sticky'), null);
  assert.equal(queryArgValue('x=2&y=1&x=1', 'x'), '1,2');
  assert.equal(queryArgValue('flag&x=1', 'flag'), 'true');
  assert.equal(queryArgValue('a%20b=c+d', 'a b'), 'c d');
  assert.equal(queryArgValue('', 'x'), null);
});

test("Kong's upstream shorthands: hash_on picks consistent-hashing; least-connections / latency clear hash_on; unsupported fields are refused by name", async () => {
  const { prepareEntity } = await import('../../../../../src/schema/validate.ts');
  const prep = (input: Record<string, unknown>): any => prepareEntity('upstreams', input, { mode: 'insert' } as never);
  const hashed = prep({ name: 'a', hash_on: 'header', hash_on_header: 'x-u' });
  assert.equal(hashed.row.algorithm, 'consistent-hashing');
  const lc = prep({ name: 'a', algorithm: 'latency', hash_on: 'ip' });
  assert.deepEqual([lc.row.algorithm, lc.row.hash_on], ['latency', 'none']);
  const refused = prep({ name: 'a', use_srv_name: true, healthchecks: { active: { type: 'grpcs' } } });
  assert.equal(refused.ok, false);
  assert.match(refused.fields.use_srv_name, /use_srv_name is not supported/);
  assert.match(refused.fields.healthchecks.active.type, /'grpcs' active health checks are not supported/);
});

test('a hosts-file name (10-year TTL) is resolved once, not in a loop: its re-resolution timer fits a Node timer', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(w.name);
  };
  process.on('warning', onWarning);
  const b = new Balancer(upstream(), [t('localhost:8080', 100)]);
  try {
    await b.ready;
    // A timer that overflowed fires after 1 ms: give it ample turns to fire and warn.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(warnings.filter((n) => n === 'TimeoutOverflowWarning'), []);
    assert.equal(b.pick(0, null)?.ip, '127.0.0.1');
  } finally {
    b.close();
    process.off('warning', onWarning);
  }
});
