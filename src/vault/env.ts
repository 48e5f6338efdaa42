/**
 * Kong's `env` vault (kong/vaults/env/init.lua): the resource name, after the
 * configured prefix, upper-cased with `-` turned into `_`
 * (`{vault://env/my-secret}` → MY_SECRET); version 2 reads `<NAME>_PREVIOUS`.
 * Kong reads the environment once at start; Portcullis reads process.env when
 * a configuration is built, which is the same for a running process.
 */
import process from 'node:process';

export interface EnvVaultConfig {
  prefix?: string | null;
}

export function envVariableName(resource: string, conf: EnvVaultConfig, version: number | null): string {
  const full = (typeof conf.prefix === 'string' ? conf.prefix : '') + resource;
  const name = full.replace(/-/g, '_').toUpperCase();
  return version === 2 ? `${name}_PREVIOUS` : name;
}

export function envVaultGet(resource: string, conf: EnvVaultConfig, version: number | null, env: NodeJS.ProcessEnv = process.env): { value: string } | { error: string } {
  const name = envVariableName(resource, conf, version);
  const value = env[name];
  // the variable's name is safe to report; its value never is
  return value === undefined ? { error: `no value found (environment variable ${name} is not set)` } : { value };
}
