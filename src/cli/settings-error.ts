/** A setting (flag, variable or kong.conf property) that cannot be used; the message names it. */
export class SettingsError extends Error {
  override name = 'SettingsError';
}
