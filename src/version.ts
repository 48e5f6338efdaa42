import pkg from '../package.json' with { type: 'json' };

/** Portcullis' version (package.json). */
export const VERSION: string = pkg.version;
/** The Kong Admin API / declarative format generation this release speaks. */
export const KONG_COMPAT_VERSION = '3.9.0';
