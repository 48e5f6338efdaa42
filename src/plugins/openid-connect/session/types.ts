/**
 * What a gateway session holds (Kong's session data) and what the code flow
 * keeps in the short-lived `authorization` cookie.
 */

/** Tokens kept in the session (Kong stores the token endpoint response). */
export interface StoredTokens {
  access_token: string;
  id_token?: string;
  refresh_token?: string;
  token_type?: string;
  expires_in?: number;
  scope?: string;
}

/** Kong's session data: which client, the tokens, and when the access token expires (epoch s, 0 = never). */
export interface SessionData {
  client: number;
  tokens: StoredTokens;
  expires: number;
  /**
   * `cnf["x5t#S256"]` of the certificate-bound token that granted the session
   * (proof_of_possession_mtls): every request on the session must present that
   * TLS client certificate. Absent for unbound grants.
   */
  x5t?: string;
}

/** State of an authorization code flow in progress (sealed into the `authorization` cookie). */
export interface AuthorizationState {
  state: string;
  nonce: string;
  code_verifier: string | null;
  /** Client index (1-based). */
  client: number;
  /** redirect_uri sent to the authorization endpoint (the token request must repeat it, RFC 6749 §4.1.3). */
  redirect_uri: string;
  /** The URL the flow started from (login_action redirect goes back to it). */
  uri: string;
  /** Its raw query, with preserve_query_args. */
  uri_args: string | null;
  /** Extra authorization arguments (authorization_query_args_*), replayed on a restart. */
  args: Record<string, string> | null;
}
