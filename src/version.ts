import pkg from '../package.json' with { type: 'json' };

/** Portcullis' version (package.json). */
export const VERSION: string = pkg.version;
/** The Kong release whose behaviour (Admin API, kong.yml, CLI, kong.conf) this release matches; `version` in GET / and `portcullis version`. */
export const KONG_COMPAT_VERSION = '3.9.0';
