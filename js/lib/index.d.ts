// Types of @tollgate/engine: the policy document, the request and the decision, exactly as
// DESIGN.md ("Policy document", "Request and decision") and engine/README.md define them. Every
// entry point (node, web/deno, workerd) exports the same API.

/** A grant type name as policies and requests spell it. */
export type GrantType = 'client_credentials' | 'authorization_code' | 'token_exchange' | 'jwt_bearer';

/** Any JSON value (claims, condition operands). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

// ---------------------------------------------------------------------------------------------
// Policy document

/** A policy document (`version: 1`); unknown keys at any depth are validation errors. */
export interface PolicyDocument {
  version: 1;
  resources?: Resource[];
  connections?: Connection[];
  policies?: Policy[];
}

/** An OAuth-protected API or MCP server. */
export interface Resource {
  id: string;
  /** Its URI: the RFC 8707 `resource` value and the token's `aud`; unique. */
  audience: string;
  kind: 'api' | 'mcp';
  /** Non-empty list of distinct scopes. */
  scopes: string[];
  name?: string;
  description?: string;
}

/** A downstream service whose credential sits in Tollgate's vault. */
export type Connection =
  | { id: string; kind: 'oauth'; scopes: string[]; name?: string; description?: string }
  | { id: string; kind: 'api_key' | 'certificate'; name?: string; description?: string };

/** A policy: it can only allow; its conditions are AND-ed. */
export interface Policy {
  /** Unique; letters, digits, `-`, `_`, `.`, starting with a letter or digit. */
  id: string;
  name?: string;
  description?: string;
  /** `enforce` (default) or `dry-run` (reported, never changes the decision). */
  mode?: 'enforce' | 'dry-run';
  subject?: Subject;
  /** Absent: every grant type. */
  grantTypes?: GrantType[];
  /** Non-empty. */
  targets: PolicyTarget[];
}

/** Who a policy is for. */
export interface Subject {
  /** Any of these client ids (absent: any client). */
  clients?: string[];
  /** All must hold. */
  conditions?: Condition[];
}

/** A condition key (`jwtClaims.<path>` takes any dotted or bracketed claim path). */
export type ConditionKey =
  | 'client.clientid' | 'client.name' | 'client.tags' | 'client.registrationType' | 'client.status'
  | 'user.sub' | 'user.roles' | 'user.tenantIds' | 'user.permissions'
  | 'actor.clientid' | 'actor.sub' | 'client.tenantId' | 'subject.clientid' | 'subject.audience'
  | 'request.ip' | 'request.time' | 'auth.methods' | 'auth.level' | 'auth.age'
  | `jwtClaims.${string}` | `jwtClaims[${string}`;

/** A weekday as time windows name it. */
export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

/** A `between` window on `request.time`: `[from, to)`, `from > to` wraps midnight. */
export interface TimeWindow {
  /** `HH:MM`. */
  from: string;
  /** `HH:MM`, different from `from`. */
  to: string;
  /** The days the window opens on (absent: every day). */
  days?: Weekday[];
  /** A fixed offset (`+02:00`, `Z`) or an IANA name; default UTC. */
  tz?: string;
}

/** One condition: which operand it carries depends on its operator. */
export type Condition =
  | { key: ConditionKey; op: 'equal' | 'notEqual'; value: JsonValue }
  | { key: ConditionKey; op: 'equal' | 'notEqual'; values: JsonValue[] }
  | { key: ConditionKey; op: 'in' | 'notIn'; values: JsonValue[] }
  | { key: ConditionKey; op: 'contains'; value: JsonValue }
  | { key: ConditionKey; op: 'contains'; values: JsonValue[] }
  | { key: ConditionKey; op: 'exists' | 'notExists' }
  | { key: 'request.ip'; op: 'inCidr'; values: string[] }
  | { key: 'request.time'; op: 'between'; value: TimeWindow }
  | { key: 'auth.age' | `jwtClaims.${string}` | `jwtClaims[${string}`; op: 'lessThan' | 'greaterThan'; value: number };

/** A policy target: a resource or a connection, with the scopes it gives (`"*"`: all). */
export type PolicyTarget =
  | { resource: string; scopes: string[] | '*' }
  | { connection: string; scopes?: string[] | '*' };

// ---------------------------------------------------------------------------------------------
// Request

/** A decision request. `null` equals absent everywhere. */
export interface Request {
  grantType: GrantType;
  client?: Client | null;
  user?: User | null;
  /** The claims of the inbound JWT (`jwtClaims.<path>` conditions). */
  claims?: { [claim: string]: JsonValue } | null;
  /** Token exchange: the `act` party. */
  actor?: Actor | null;
  /** Token exchange: the subject token's client and audience. */
  subject?: Subject | null;
  /** How the user authenticated (`auth.*` conditions). */
  auth?: Auth | null;
  target: { resource: string } | { connection: string };
  /** Absent: everything allowed. */
  requestedScopes?: string[] | null;
  /** Absent: consent does not apply. */
  consentedScopes?: string[] | null;
  context?: RequestContext | null;
  /** Whether to explain non-matching policies in `notMatched` (default `true`). */
  explain?: boolean;
}

/** The OAuth client asking for a token. */
export interface Client {
  clientId?: string | null;
  name?: string | null;
  tags?: string[] | null;
  registrationType?: 'static' | 'dcr' | 'cimd' | (string & {}) | null;
  status?: 'verified' | 'unverified' | (string & {}) | null;
  /** The scopes the client's configuration permits, per target id. */
  allowedScopes?: { [targetId: string]: string[] } | null;
  /** The organisation an autonomous agent acts for (`client.tenantId`). */
  tenantId?: string | null;
}

/** The user on whose behalf the token is issued. */
export interface User {
  sub?: string | null;
  roles?: string[] | null;
  tenantIds?: string[] | null;
  permissions?: string[] | null;
}

/** The acting party of a token exchange. */
export interface Actor {
  clientId?: string | null;
  sub?: string | null;
}

/** The subject token of a token exchange. */
export interface Subject {
  /** The client the subject token was issued to (`subject.clientid`). */
  clientId?: string | null;
  /** The subject token's audience (`subject.audience`). */
  audience?: string | null;
}

/** How the user authenticated. */
export interface Auth {
  /** The methods used, as in `amr` (`pwd`, `otp`, `fed`, ...): `auth.methods`. */
  methods?: string[] | null;
  /** The level reached, as in `acr`: `auth.level`. */
  level?: string | null;
  /** Whole seconds since the authentication, computed by the caller: `auth.age`. */
  age?: number | null;
}

/** What the caller knows about the request: the engine has no clock and no network. */
export interface RequestContext {
  /** An IPv4 or IPv6 address. */
  ip?: string | null;
  /** An RFC 3339 instant. */
  time?: string | null;
}

// ---------------------------------------------------------------------------------------------
// Decision

/** Why a requested scope was not granted (the first failing check). */
export type Reason = 'unknown_target' | 'unknown_scope' | 'not_allowed' | 'client_config' | 'not_consented';

/** The verdict on one requested scope. */
export interface ScopeDecision {
  scope: string;
  granted: boolean;
  /** The matched policies that give the scope, in document order. */
  by: string[];
  /** Present when not granted. */
  reason?: Reason;
}

/** A dry-run policy that would have matched. */
export interface DryRun {
  policy: string;
  wouldAdd: string[];
  wouldPermit: boolean;
}

/** A candidate policy that did not match, with its first failing check. */
export interface NotMatched {
  policy: string;
  /** e.g. `condition 1: user.roles contains SRE`. */
  failed: string;
}

/** A policy a fresh authentication of the user would make give refused scopes. */
export interface StepUp {
  policy: string;
  /** The refused scopes it would grant (empty for a scope-less connection). */
  scopes: string[];
  /** Methods the authentication must use (`amr` values). */
  methods: string[];
  /** Levels of which it must reach one (`acr_values`); empty: any. */
  levels: string[];
  /** The greatest age the authentication may have, in seconds (`max_age`). */
  maxAge?: number;
}

/** The decision on one request. */
export interface Decision {
  permitted: boolean;
  granted: string[];
  scopes: ScopeDecision[];
  matched: string[];
  dryRun: DryRun[];
  /** Empty when the request had `explain: false`. */
  notMatched: NotMatched[];
  /** Policies a fresh authentication would make give refused scopes (requests with a user). */
  stepUp: StepUp[];
}

/** One answer of `decideMany`: a decision, or why the request could not be read. */
export type BatchAnswer = Decision | { error: string };

// ---------------------------------------------------------------------------------------------
// Errors and the policy set

/** One validation problem of a document. */
export interface ValidationError {
  /** Where, e.g. `policies[3].subject.conditions[1].op`; empty for the whole document. */
  path: string;
  message: string;
}

/** What `PolicySet.load` throws: every problem of the document at once, in document order. */
export interface PolicyLoadError extends Error {
  name: 'PolicyLoadError';
  errors: ValidationError[];
}

/** What `decide` throws for a request the engine cannot read. */
export interface RequestError extends Error {
  name: 'RequestError';
}

/**
 * A loaded, validated and compiled policy document. Load once, decide many times. Its memory
 * lives in the WebAssembly instance: call `free()` (or `using set = ...`) when done; a
 * FinalizationRegistry frees sets that are garbage-collected without it.
 */
export declare class PolicySet {
  private constructor();
  /** Loads JSON or YAML text, or a document object. Throws a {@link PolicyLoadError}. */
  static load(document: string | PolicyDocument): PolicySet;
  /** Decides one request (an object or its JSON text). Throws a {@link RequestError}. */
  decide(request: Request | string): Decision;
  /** Decides each request of a batch; throws only when `requests` is not an array. */
  decideMany(requests: readonly Request[] | string): BatchAnswer[];
  /** Releases the set's memory now; the set cannot be used afterwards. */
  free(): void;
  [Symbol.dispose](): void;
}
