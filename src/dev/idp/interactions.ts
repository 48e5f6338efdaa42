/**
 * The IdP's user interactions: a minimal real login page and automatic consent.
 *
 * The login form keeps Keycloak's element ids (`username`, `password`, submit
 * button `kc-login`) so browser tests and people used to Keycloak find their
 * way. Consent is never shown: `kong` and the other demo clients are
 * first-party, as a Keycloak client with "Consent required" off. Scopes the
 * user is not entitled to (role-gated `kong_api_access`) are recorded as
 * rejected, so they are left out of tokens without prompting again.
 */
import { Buffer } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Provider, InteractionDetails } from 'oidc-provider';
import type { Logger } from 'pino';
import { scopeAllowedFor, type Realm } from './realm.ts';

const FORM_LIMIT = 16 * 1024;

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > FORM_LIMIT) throw new Error('login form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export function loginPage(opts: { realm: string; action: string; username?: string; error?: string; clientId?: string }): string {
  const error = opts.error === undefined
    ? ''
    : `<div class="alert-error" id="input-error" role="alert">${escapeHtml(opts.error)}</div>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to ${escapeHtml(opts.realm)}</title>
<style>
body{font-family:system-ui,sans-serif;background:#f3f4f6;margin:0}
main{max-width:22rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.2)}
h1{font-size:1.3rem;margin-top:0}label{display:block;margin:.8rem 0 .3rem}
input{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
button{margin-top:1.2rem;width:100%;padding:.6rem;font-size:1rem;background:#0066cc;color:#fff;border:0;border-radius:4px;cursor:pointer}
.alert-error{background:#fde8e8;color:#9b1c1c;padding:.6rem;border-radius:4px}
.hint{color:#6b7280;font-size:.85rem;margin-top:1.2rem}
</style>
</head>
<body>
<main>
<h1 id="kc-page-title">Sign in to your account</h1>
${error}
<form id="kc-form-login" method="post" action="${escapeHtml(opts.action)}">
<label for="username">Username or email</label>
<input id="username" name="username" type="text" autocomplete="username" autofocus value="${escapeHtml(opts.username ?? '')}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password">
<button id="kc-login" name="login" type="submit">Sign In</button>
</form>
<p class="hint">Portcullis demo realm <code>${escapeHtml(opts.realm)}</code>${opts.clientId === undefined ? '' : ` · client <code>${escapeHtml(opts.clientId)}</code>`}</p>
</main>
</body>
</html>`;
}

function send(res: ServerResponse, status: number, html: string): void {
  const body = Buffer.from(html, 'utf8');
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': String(body.length),
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  });
  res.end(body);
}

export interface InteractionDeps {
  provider: () => Provider;
  realm: Realm;
  /** Path prefix of the interaction routes, e.g. /realms/demo/login-actions */
  base: string;
  log: Logger | undefined;
}

/** Grants every requested scope the user may have; rejects the rest (no loop back to consent). */
async function autoConsent(provider: Provider, details: InteractionDetails, deps: InteractionDeps): Promise<string> {
  const accountId = details.session?.accountId;
  const clientId = details.params.client_id;
  if (typeof accountId !== 'string' || typeof clientId !== 'string') throw new Error('consent without a login session');
  const user = deps.realm.findById(accountId);
  const grant = details.grantId !== undefined
    ? (await provider.Grant.find(details.grantId)) ?? new provider.Grant({ accountId, clientId })
    : new provider.Grant({ accountId, clientId });
  const d = details.prompt.details;
  const missingScopes = Array.isArray(d.missingOIDCScope) ? (d.missingOIDCScope as string[]) : [];
  const allowed = missingScopes.filter((s) => scopeAllowedFor(user, s));
  const rejected = missingScopes.filter((s) => !scopeAllowedFor(user, s));
  if (allowed.length > 0) grant.addOIDCScope(allowed.join(' '));
  if (rejected.length > 0) grant.rejectOIDCScope(rejected.join(' '));
  if (Array.isArray(d.missingOIDCClaims)) grant.addOIDCClaims(d.missingOIDCClaims as string[]);
  if (d.missingResourceScopes !== null && typeof d.missingResourceScopes === 'object') {
    for (const [indicator, scopes] of Object.entries(d.missingResourceScopes as Record<string, string[]>)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  return grant.save();
}

/**
 * Handles `GET <base>/:uid` (login page or automatic consent) and
 * `POST <base>/:uid/login`. Returns false when the path is not ours.
 */
export async function handleInteraction(req: IncomingMessage, res: ServerResponse, path: string, deps: InteractionDeps): Promise<boolean> {
  if (!path.startsWith(`${deps.base}/`)) return false;
  const rest = path.slice(deps.base.length + 1).split('/');
  const uid = rest[0] ?? '';
  const action = rest[1];
  const provider = deps.provider();

  let details: InteractionDetails;
  try {
    details = await provider.interactionDetails(req, res);
  } catch {
    // Missing/expired interaction cookie: Keycloak's wording for the same case.
    send(res, 400, '<!DOCTYPE html><title>Error</title><p id="kc-error-message">Your login attempt timed out. Login will start from the beginning.</p>');
    return true;
  }
  if (details.uid !== uid) {
    send(res, 400, '<!DOCTYPE html><title>Error</title><p id="kc-error-message">Invalid interaction.</p>');
    return true;
  }
  const clientId = typeof details.params.client_id === 'string' ? details.params.client_id : undefined;
  const formAction = `${deps.base}/${uid}/login`;

  if (req.method === 'GET' && action === undefined) {
    if (details.prompt.name === 'login') {
      const hint = typeof details.params.login_hint === 'string' ? details.params.login_hint : undefined;
      send(res, 200, loginPage({ realm: deps.realm.name, action: formAction, username: hint, clientId }));
      return true;
    }
    if (details.prompt.name === 'consent') {
      const grantId = await autoConsent(provider, details, deps);
      const consent: Record<string, string> = {};
      if (details.grantId === undefined) consent.grantId = grantId;
      await provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
      return true;
    }
    send(res, 400, `<!DOCTYPE html><title>Error</title><p id="kc-error-message">Unsupported prompt ${escapeHtml(details.prompt.name)}.</p>`);
    return true;
  }

  if (req.method === 'POST' && action === 'login') {
    let form: URLSearchParams;
    try {
      form = await readForm(req);
    } catch {
      send(res, 413, '<!DOCTYPE html><title>Error</title><p id="kc-error-message">Request too large.</p>');
      return true;
    }
    const username = form.get('username') ?? '';
    const user = deps.realm.authenticate(username, form.get('password'));
    if (user === undefined) {
      deps.log?.info({ realm: deps.realm.name, client: clientId }, 'idp login failed');
      send(res, 200, loginPage({ realm: deps.realm.name, action: formAction, username, error: 'Invalid username or password.', clientId }));
      return true;
    }
    deps.log?.info({ realm: deps.realm.name, client: clientId, user: user.username }, 'idp login');
    await provider.interactionFinished(req, res, { login: { accountId: user.id, remember: false } }, { mergeWithLastSubmission: false });
    return true;
  }

  res.writeHead(405, { allow: 'GET, POST', 'content-length': '0' });
  res.end();
  return true;
}
