/**
 * Registered claims as Kong's jwt_parser checks them (verify_registered_claims,
 * check_maximum_expiration), against the clock in whole seconds (ngx.time):
 *  - exp: a number, and later than now — else "token expired";
 *  - nbf: a number, and not later than now — else "token not valid yet";
 *  - a claim to verify that is missing or not a number: "must be a number";
 *  - maximum_expiration > 0: exp no further than that many seconds ahead —
 *    else "exceeds maximum allowed expiration".
 * Errors are claim → message; Kong answers them as the 401 body itself.
 */
export function verifyRegisteredClaims(claims: Readonly<Record<string, unknown>>, toVerify: readonly string[], now: number): Record<string, string> | null {
  let errors: Record<string, string> | null = null;
  for (const name of toVerify) {
    const v = claims[name];
    let err: string | null = null;
    if (typeof v !== 'number') err = 'must be a number';
    else if (name === 'exp' && v <= now) err = 'token expired';
    else if (name === 'nbf' && v > now) err = 'token not valid yet';
    if (err !== null) (errors ??= {})[name] = err;
  }
  return errors;
}

export function checkMaximumExpiration(claims: Readonly<Record<string, unknown>>, maximum: number, now: number): Record<string, string> | null {
  if (maximum <= 0) return null;
  const exp = claims.exp;
  if (typeof exp !== 'number' || exp - now > maximum) return { exp: 'exceeds maximum allowed expiration' };
  return null;
}
