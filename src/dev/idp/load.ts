/**
 * Loads `oidc-provider` once. Its entry module warns on stderr at import time
 * when the Node.js release is not an LTS line ("Unsupported runtime"); the
 * project pins Node 26 on purpose, so that one line is filtered while the
 * module evaluates. Nothing else is silenced.
 */
type OidcProviderModule = typeof import('oidc-provider');

let loading: Promise<OidcProviderModule> | null = null;

export function loadOidcProvider(): Promise<OidcProviderModule> {
  loading ??= (async () => {
    const warn = console.warn;
    console.warn = (...args: unknown[]): void => {
      if (typeof args[0] === 'string' && args[0].startsWith('oidc-provider WARNING: Unsupported runtime')) return;
      warn.apply(console, args);
    };
    try {
      return await import('oidc-provider');
    } finally {
      console.warn = warn;
    }
  })();
  return loading;
}
