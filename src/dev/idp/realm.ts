/**
 * The demo realm: users, groups, roles, clients and client scopes, shaped like
 * the Keycloak realm in Kong's "How to Secure APIs and Services Using OpenID
 * Connect" walkthrough, so that a configuration written against that Keycloak
 * works unchanged against the demo IdP (issue 4) and the test suite shares the
 * same fixture (issue 3).
 *
 * Keycloak model reproduced here:
 * - `kong_api_access` is a *default* client scope of client `kong` with a role
 *   scope mapping: it lands in a token's `scope` claim only when the user holds
 *   the realm role `kong_api_access`, which `Blog_with_scope` gets through its
 *   group. A user without the role never gets the scope, even when asking.
 * - access tokens are JWTs carrying `realm_access.roles`, `groups`,
 *   `preferred_username`, `email`, `azp`, `typ: "Bearer"`, `aud` with `account`.
 */
import { timingSafeEqual, createHash } from 'node:crypto';

/** Password of both demo users (as in Kong's walkthrough). */
export const DEMO_PASSWORD = 'veryComplexPa55word';

export interface RealmUser {
  /** Stable `sub` (Keycloak uses a UUID per user). */
  id: string;
  username: string;
  email: string;
  firstName: string;
  lastName: string;
  /** Group names as Keycloak's "Group Membership" mapper emits them (no leading slash). */
  groups: readonly string[];
  /** Realm roles (directly assigned or inherited through groups). */
  realmRoles: readonly string[];
}

/** Realm roles every Keycloak user gets through `default-roles-<realm>`. */
function defaultRoles(realm: string): string[] {
  return [`default-roles-${realm}`, 'offline_access', 'uma_authorization'];
}

/** The scope granted through the group `kong_api_access` (Kong's walkthrough). */
export const API_SCOPE = 'kong_api_access';

export function demoUsers(realm: string): RealmUser[] {
  return [
    {
      id: '4a7e9a5c-2d1b-4c0e-9a53-6f1f1d0b7c11',
      username: 'Blog_with_scope',
      email: 'blog_with_scope@example.com',
      firstName: 'Blog',
      lastName: 'WithScope',
      groups: ['kong_api_access'],
      realmRoles: [...defaultRoles(realm), API_SCOPE],
    },
    {
      id: '8b2f6d3e-5a4c-4e1f-b7d2-1c9e0a3f5d22',
      username: 'Blog_without_scope',
      email: 'blog_without_scope@example.com',
      firstName: 'Blog',
      lastName: 'WithoutScope',
      groups: ['blog_readers'],
      realmRoles: defaultRoles(realm),
    },
  ];
}

/** Scopes the provider recognises (requested ones outside this list are ignored, as Keycloak does). */
export const KNOWN_SCOPES = ['openid', 'offline_access', 'profile', 'email', 'roles', 'groups', API_SCOPE] as const;

/** Keycloak's default client scopes of a client: always in the token's `scope` claim. */
const DEFAULT_CLIENT_SCOPES = ['profile', 'email'];

/** Scopes that need a realm role (Keycloak client-scope role scope mapping). */
const ROLE_GATED_SCOPES: ReadonlyMap<string, string> = new Map([[API_SCOPE, API_SCOPE]]);

/** Is `scope` grantable to `user`? Role-gated scopes need the role; others are open. */
export function scopeAllowedFor(user: RealmUser | undefined, scope: string): boolean {
  const role = ROLE_GATED_SCOPES.get(scope);
  if (role === undefined) return true;
  return user !== undefined && user.realmRoles.includes(role);
}

/**
 * The `scope` claim Keycloak would put in an access token: the requested and
 * granted scopes plus the client's default scopes, plus role-gated default
 * scopes (`kong_api_access`) the user is entitled to. Order follows Keycloak's
 * habit of listing `openid` first.
 */
export function tokenScope(user: RealmUser | undefined, granted: string | undefined): string {
  const out = new Set<string>();
  for (const s of (granted ?? '').split(' ')) if (s !== '' && scopeAllowedFor(user, s)) out.add(s);
  for (const s of DEFAULT_CLIENT_SCOPES) out.add(s);
  if (user !== undefined) for (const s of ROLE_GATED_SCOPES.keys()) if (scopeAllowedFor(user, s)) out.add(s);
  const list = [...out];
  list.sort((a, b) => (a === 'openid' ? -1 : b === 'openid' ? 1 : 0));
  return list.join(' ');
}

/** Constant-time password check (the demo has one shared password, but keep the habit). */
export function passwordMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export class Realm {
  readonly name: string;
  readonly users: readonly RealmUser[];
  readonly #byId: Map<string, RealmUser>;
  readonly #byUsername: Map<string, RealmUser>;

  constructor(name: string, users: RealmUser[] = demoUsers(name)) {
    this.name = name;
    this.users = users;
    this.#byId = new Map(users.map((u) => [u.id, u]));
    // Keycloak usernames are case-insensitive (stored lower-case); so are ours.
    this.#byUsername = new Map(users.map((u) => [u.username.toLowerCase(), u]));
  }

  findById(id: string): RealmUser | undefined {
    return this.#byId.get(id);
  }

  findByUsername(username: string): RealmUser | undefined {
    return this.#byUsername.get(username.toLowerCase());
  }

  /** Username + password → user, or undefined ("Invalid username or password."). */
  authenticate(username: unknown, password: unknown): RealmUser | undefined {
    if (typeof username !== 'string' || typeof password !== 'string') return undefined;
    const user = this.findByUsername(username.trim());
    const ok = passwordMatches(password, DEMO_PASSWORD);
    return user !== undefined && ok ? user : undefined;
  }
}

/** OIDC standard claims of a user, by scope (used for ID tokens and userinfo). */
export function userClaims(user: RealmUser): Record<string, unknown> {
  return {
    sub: user.id,
    name: `${user.firstName} ${user.lastName}`,
    given_name: user.firstName,
    family_name: user.lastName,
    // Keycloak stores usernames lower-cased; we keep the spelling users type
    // (`Blog_with_scope`) so consumer mapping by username matches the walkthrough.
    preferred_username: user.username,
    email: user.email,
    email_verified: true,
    groups: [...user.groups],
    realm_access: { roles: [...user.realmRoles] },
  };
}

/** Which claims each scope releases (oidc-provider `claims` configuration). */
export const SCOPE_CLAIMS: Record<string, string[]> = {
  // Keycloak applies the client's default scopes (profile, email, roles…) to
  // every request, so `openid` alone already releases these claims.
  openid: ['sub', 'name', 'given_name', 'family_name', 'preferred_username', 'groups', 'realm_access', 'email', 'email_verified'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username', 'groups', 'realm_access'],
  email: ['email', 'email_verified'],
};

/** The resource_access block Keycloak adds for the built-in `account` client. */
const ACCOUNT_RESOURCE_ACCESS = { account: { roles: ['manage-account', 'manage-account-links', 'view-profile'] } };

export interface AccessTokenClaimInput {
  clientId: string;
  /** Granted scope string (space separated). */
  scope: string | undefined;
  user: RealmUser | undefined;
  /** Session id (`sid`), when the token belongs to a login session. */
  sid: string | undefined;
  /** `sub` for tokens without a realm user (service accounts, synthetic tokens). */
  sub?: string;
}

/**
 * Keycloak-shaped access-token claims, without the registered time/id claims
 * (`iss`, `exp`, `iat`, `jti`) that are set when the token is minted.
 */
export function keycloakAccessTokenClaims(input: AccessTokenClaimInput): Record<string, unknown> {
  const { clientId, user } = input;
  const scope = tokenScope(user, input.scope);
  const claims: Record<string, unknown> = {
    aud: [clientId, 'account'],
    typ: 'Bearer',
    azp: clientId,
    acr: '1',
    'allowed-origins': ['http://localhost:8000', 'http://127.0.0.1:8000'],
    resource_access: ACCOUNT_RESOURCE_ACCESS,
    scope,
  };
  if (input.sid !== undefined) claims.sid = input.sid;
  if (user !== undefined) {
    claims.sub = user.id;
    claims.realm_access = { roles: [...user.realmRoles] };
    claims.email_verified = true;
    claims.name = `${user.firstName} ${user.lastName}`;
    claims.groups = [...user.groups];
    claims.preferred_username = user.username;
    claims.given_name = user.firstName;
    claims.family_name = user.lastName;
    claims.email = user.email;
  } else {
    // Service account (client credentials): Keycloak names the account after
    // the client and adds `client_id` / `clientHost` style claims.
    claims.sub = input.sub ?? serviceAccountId(clientId);
    claims.realm_access = { roles: [...defaultRoles('demo')] };
    claims.preferred_username = `service-account-${clientId}`;
    claims.client_id = clientId;
    claims.clientHost = '127.0.0.1';
    claims.clientAddress = '127.0.0.1';
    claims.email_verified = false;
  }
  return claims;
}

/** A stable pseudo-UUID for a client's service account. */
export function serviceAccountId(clientId: string): string {
  const h = createHash('sha256').update(`service-account:${clientId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
