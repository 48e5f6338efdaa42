/**
 * A browser-style login, done once before a session scenario: follow the
 * redirects of the authorization code flow with a cookie jar, fill in the
 * IdP's login form (src/dev/idp/interactions.ts, Keycloak's field names),
 * follow the callback back to the gateway, and keep the cookies the gateway
 * set — the session cookie the load generator then replays.
 *
 * node:http rather than fetch: fetch always sends `Sec-Fetch-Mode: cors`,
 * which relying parties such as mod_auth_openidc read as "not a browser
 * navigation" and answer 401 instead of redirecting to the login page.
 */
import { request } from 'node:http';

interface Exchange {
  status: number;
  location: string | null;
  setCookies: string[];
  text: string;
}

function exchange(url: URL, method: string, headers: Record<string, string>, body: string | undefined): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    if (url.protocol !== 'http:') {
      reject(new Error(`login: only http is supported (${url.href})`));
      return;
    }
    const req = request({ host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method, headers, agent: false, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        const sc = res.headers['set-cookie'];
        resolve({ status: res.statusCode ?? 0, location: res.headers.location ?? null, setCookies: sc ?? [], text });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('login: timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

interface Cookie {
  name: string;
  value: string;
  path: string;
  /** Origin of the response that set it. */
  origin: string;
}

export interface LoginResult {
  /** `Cookie` header value with the cookies the protected origin set. */
  cookieHeader: string;
  cookieNames: string[];
  /** HTTP exchanges the login took. */
  steps: number;
  /** Status of the final answer from the protected origin (200 expected). */
  finalStatus: number;
}

function decodeHtml(s: string): string {
  return s
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCharCode(Number(d)))
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

class CookieJar {
  private readonly cookies = new Map<string, Cookie>();

  store(url: URL, setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      if (eq <= 0) continue;
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      let path = '/';
      let expired = false;
      for (const a of attrs) {
        const [k, v = ''] = a.split('=');
        const key = k!.trim().toLowerCase();
        if (key === 'path' && v.trim().startsWith('/')) path = v.trim();
        if (key === 'max-age' && Number(v) <= 0) expired = true;
        if (key === 'expires' && Date.parse(v) < Date.now()) expired = true;
      }
      // Cookies are per host, not per port (RFC 6265 §8.5), as in a browser.
      const key = `${url.hostname}\u0000${path}\u0000${name}`;
      if (expired || value === '') this.cookies.delete(key);
      else this.cookies.set(key, { name, value, path, origin: url.origin });
    }
  }

  header(url: URL, onlyOrigin?: string): string {
    const out: string[] = [];
    for (const [key, c] of this.cookies) {
      if (!key.startsWith(`${url.hostname}\u0000`)) continue;
      if (onlyOrigin !== undefined && c.origin !== onlyOrigin) continue;
      if (!(url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))) continue;
      out.push(`${c.name}=${c.value}`);
    }
    return out.join('; ');
  }

  names(origin: string): string[] {
    return [...this.cookies.values()].filter((c) => c.origin === origin).map((c) => c.name);
  }
}

/** Hidden inputs of an auto-submitting form (response_mode=form_post). */
function formFields(html: string): URLSearchParams {
  const params = new URLSearchParams();
  for (const m of html.matchAll(/<input\b[^>]*>/gi)) {
    const tag = m[0];
    const name = /\bname="([^"]*)"/i.exec(tag)?.[1];
    const value = /\bvalue="([^"]*)"/i.exec(tag)?.[1] ?? '';
    if (name !== undefined) params.set(decodeHtml(name), decodeHtml(value));
  }
  return params;
}

export async function browserLogin(startUrl: string, username: string, password: string, maxSteps = 30): Promise<LoginResult> {
  const start = new URL(startUrl);
  const jar = new CookieJar();
  let url = start;
  let method = 'GET';
  let body: URLSearchParams | undefined;
  let submittedLogin = false;
  for (let step = 1; step <= maxSteps; step++) {
    // What a browser sends when the user follows a link or submits a form.
    const headers: Record<string, string> = { accept: 'text/html,application/xhtml+xml', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', 'user-agent': 'portcullis-bench-login' };
    const cookie = jar.header(url);
    if (cookie !== '') headers.cookie = cookie;
    const payload = body?.toString();
    if (payload !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const res = await exchange(url, method, headers, payload);
    jar.store(url, res.setCookies);
    const text = res.text;
    body = undefined;
    method = 'GET';
    if (res.status >= 300 && res.status < 400) {
      const location = res.location;
      if (location === null) throw new Error(`login: ${res.status} without Location at ${url.href}`);
      url = new URL(location, url);
      continue;
    }
    if (url.origin === start.origin && res.status === 200 && submittedLogin) {
      return { cookieHeader: jar.header(start, start.origin), cookieNames: jar.names(start.origin), steps: step, finalStatus: res.status };
    }
    const form = /<form\b[^>]*\baction="([^"]*)"[^>]*>/i.exec(text);
    if (res.status === 200 && form !== null) {
      url = new URL(decodeHtml(form[1]!), url);
      method = 'POST';
      if (/id="kc-form-login"/.test(text)) {
        if (submittedLogin) throw new Error('login: the IdP rejected the credentials');
        body = new URLSearchParams({ username, password });
        submittedLogin = true;
      } else {
        body = formFields(text);
      }
      continue;
    }
    throw new Error(`login: unexpected ${res.status} from ${url.origin}${url.pathname}: ${text.slice(0, 300)}`);
  }
  throw new Error(`login: no session after ${maxSteps} steps`);
}
