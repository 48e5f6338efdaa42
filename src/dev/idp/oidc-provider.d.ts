/**
 * The part of `oidc-provider` 9's API the demo IdP uses. The package ships no
 * TypeScript types; these are narrowed from its documentation (docs/README.md
 * of panva/node-oidc-provider) and only cover what src/dev/idp uses.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';
  import type { EventEmitter } from 'node:events';

  export interface KoaContext {
    method: string;
    path: string;
    url: string;
    status: number;
    body: unknown;
    type: string;
    host: string;
    req: IncomingMessage;
    res: ServerResponse;
    get(field: string): string;
    set(field: string, value: string): void;
    oidc: OIDCContext;
  }

  export type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void> | void;

  export interface OIDCContext {
    route: string;
    client?: ClientInstance;
    params: Record<string, unknown>;
    entities: Record<string, unknown>;
    session?: { accountId?: string; uid?: string };
    issuer: string;
    entity(name: string, value: unknown): void;
    requestParamScopes: Set<string>;
  }

  export interface ClientInstance {
    clientId: string;
    clientAuthMethod: string;
    redirectUris: string[];
    grantTypeAllowed(type: string): boolean;
  }

  export interface BaseTokenInstance {
    jti: string;
    kind: string;
    iat: number;
    exp: number;
    scope?: string;
    clientId: string;
    accountId?: string;
    grantId?: string;
    sid?: string;
    sessionUid?: string;
    gty?: string;
    extra?: Record<string, unknown>;
    expiration: number;
    readonly isExpired: boolean;
    tokenType: string;
    save(): Promise<string>;
    destroy(): Promise<void>;
  }

  export interface TokenClass {
    new (input: Record<string, unknown>): BaseTokenInstance;
    find(value: string, opts?: { ignoreExpiration?: boolean }): Promise<BaseTokenInstance | undefined>;
  }

  export interface GrantInstance {
    jti: string;
    addOIDCScope(scope: string): void;
    rejectOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(indicator: string, scope: string): void;
    save(ttl?: number): Promise<string>;
  }

  export interface GrantClass {
    new (input: { accountId: string; clientId: string }): GrantInstance;
    find(id: string): Promise<GrantInstance | undefined>;
  }

  export interface IdTokenInstance {
    scope: string;
    set(key: string, value: unknown): void;
    issue(opts: { use: 'idtoken' }): Promise<string>;
  }

  export interface IdTokenClass {
    new (claims: Record<string, unknown>, opts: { ctx?: KoaContext; client?: ClientInstance }): IdTokenInstance;
  }

  export interface InteractionDetails {
    uid: string;
    prompt: { name: string; reasons: string[]; details: Record<string, unknown> };
    params: Record<string, unknown>;
    session?: { accountId?: string };
    grantId?: string;
    lastSubmission?: Record<string, unknown>;
  }

  export interface ClientClass {
    prototype: {
      redirectUriAllowed(value: string): boolean;
      postLogoutRedirectUriAllowed(value: string): boolean;
    } & ClientInstance;
    find(id: string): Promise<ClientInstance | undefined>;
  }

  export interface Account {
    accountId: string;
    claims(use: string, scope: string, claims: unknown, rejected: string[]): Promise<Record<string, unknown>> | Record<string, unknown>;
  }

  export type Configuration = Record<string, unknown>;

  export class Provider extends (EventEmitter as { new (): EventEmitter }) {
    constructor(issuer: string, configuration?: Configuration);
    issuer: string;
    proxy: boolean;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    use(middleware: KoaMiddleware): this;
    registerGrantType(name: string, handler: (ctx: KoaContext) => Promise<void>, params?: string[] | Set<string>, allowedDuplicateParameters?: string[]): void;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionFinished(req: IncomingMessage, res: ServerResponse, result: Record<string, unknown>, opts?: { mergeWithLastSubmission?: boolean }): Promise<void>;
    pathFor(name: string): string;
    urlFor(name: string): string;
    AccessToken: TokenClass;
    ClientCredentials: TokenClass;
    RefreshToken: TokenClass;
    Grant: GrantClass;
    IdToken: IdTokenClass;
    Client: ClientClass;
  }

  export const errors: {
    InvalidGrant: new (description?: string) => Error;
    InvalidRequest: new (description?: string) => Error;
    InvalidClient: new (description?: string) => Error;
    UnauthorizedClient: new (description?: string) => Error;
    InvalidScope: new (description: string, scope: string) => Error;
  };

  export default Provider;
}

declare module 'oidc-provider/lib/adapters/memory_adapter.js' {
  /** A fresh in-memory store (LRU) shared by every model of the providers given the factory. */
  export function createMemoryAdapter(clockTolerance?: number): (model: string) => unknown;
}
