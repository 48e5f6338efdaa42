/**
 * `login_action` after a login method (`login_methods`, default the code
 * flow): `upstream` proxies the request; `response` answers 200 with the
 * `login_tokens` as JSON (`tokens` = the token endpoint response,
 * `introspection` = the introspection response); `redirect` sends the client
 * to `login_redirect_uri` (or the URL the login started from) with the
 * tokens in the fragment (default) or query — objects as base64url JSON.
 */
import { Buffer } from 'node:buffer';
import * as pdk from '../../../pdk/index.ts';
import type { Attempt } from '../attempt.ts';
import { logNotice, noCache, redirect } from '../errors.ts';

/** login_action response / redirect after a login method (default: the code flow). */
export function loginAction(a: Attempt): boolean {
  const { ctx, conf } = a;
  const action = conf.login.action;
  if (action === 'upstream' || a.method === null || !conf.methods.loginMethods.has(a.method)) return false;
  const t = a.tokens!;
  const wanted = conf.login.tokens;
  if (action === 'response') {
    let body: Record<string, unknown> = {};
    if (wanted.includes('introspection') && a.introspection !== null) body = a.introspection;
    else if (wanted.includes('tokens')) body = a.tokenResponse ?? { ...t };
    else for (const name of wanted) if (name !== 'tokens' && name !== 'introspection' && t[name] !== undefined) body[name] = t[name];
    noCache(ctx);
    pdk.response.exit(ctx, 200, body);
    return true;
  }
  let target = a.client.loginRedirectUri ?? a.dynamicLoginUri;
  if (target === null) {
    logNotice(conf.log, 'login action was set to redirect but no login redirect uri was specified');
    return false;
  }
  const hash = target.indexOf('#');
  let fragment = hash === -1 ? '' : target.slice(hash + 1);
  if (hash !== -1) target = target.slice(0, hash);
  const q = target.indexOf('?');
  let query = q === -1 ? '' : target.slice(q + 1).replace(/&+$/, '');
  if (q !== -1) target = target.slice(0, q);
  if (a.client.loginRedirectUri !== null && a.preservedArgs !== null) query = query === '' ? a.preservedArgs : `${query}&${a.preservedArgs}`;
  const args: string[] = [];
  for (const name of wanted) {
    let value: unknown;
    if (name === 'tokens') value = a.tokenResponse ?? t;
    else if (name === 'introspection') value = a.introspection;
    else value = t[name];
    if (value === undefined || value === null) continue;
    const text = typeof value === 'object' ? Buffer.from(JSON.stringify(value)).toString('base64url') : String(value);
    args.push(`${name}=${encodeURIComponent(text)}`);
  }
  if (args.length > 0) {
    if (conf.login.redirectMode === 'query') query = query === '' ? args.join('&') : `${query}&${args.join('&')}`;
    else fragment = fragment === '' ? args.join('&') : `${fragment}&${args.join('&')}`;
  }
  redirect(ctx, target + (query !== '' ? `?${query}` : '') + (fragment !== '' ? `#${fragment}` : ''));
  return true;
}
