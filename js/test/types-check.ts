// Compiled with `tsc --noEmit` (types.test.mjs): the declarations accept the shapes of DESIGN.md
// and refuse wrong ones (each @ts-expect-error must be an error).
import { PolicySet } from '@tollgate/engine';
import type { BatchAnswer, Decision, PolicyDocument, PolicyLoadError, Request } from '@tollgate/engine';

const doc: PolicyDocument = {
  version: 1,
  resources: [{ id: 'incidents-api', audience: 'https://incidents.example.com', kind: 'api', scopes: ['incidents:read', 'incidents:write'] }],
  connections: [
    { id: 'pagerduty', kind: 'api_key' },
    { id: 'google-calendar', kind: 'oauth', scopes: ['https://www.googleapis.com/auth/calendar.readonly'] },
  ],
  policies: [{
    id: 'ops-agent-sre',
    mode: 'dry-run',
    subject: {
      clients: ['ops-agent'],
      conditions: [
        { key: 'user.roles', op: 'contains', value: 'SRE' },
        { key: 'jwtClaims.org.dept', op: 'in', values: ['ops', 'sre'] },
        { key: 'request.ip', op: 'inCidr', values: ['10.0.0.0/8'] },
        { key: 'request.time', op: 'between', value: { from: '22:00', to: '06:00', days: ['mon'], tz: 'Europe/Paris' } },
        { key: 'actor.sub', op: 'notExists' },
      ],
    },
    grantTypes: ['authorization_code'],
    targets: [{ resource: 'incidents-api', scopes: '*' }, { connection: 'pagerduty' }],
  }],
};

const request: Request = {
  grantType: 'token_exchange',
  client: { clientId: 'analytics-mcp', name: 'Analytics MCP', tags: ['internal'], registrationType: 'static', status: 'verified', allowedScopes: { 'analytics-api': ['reports:read'] } },
  user: { sub: 'u-42', roles: ['analyst'], tenantIds: ['corp_finance'], permissions: [] },
  claims: { dept: 'finance' },
  actor: { clientId: 'analytics-mcp' },
  target: { resource: 'analytics-api' },
  requestedScopes: ['reports:read'],
  consentedScopes: null,
  context: { ip: '10.1.2.3', time: '2026-11-23T02:00:00Z' },
  explain: false,
};

using set = PolicySet.load(doc);
const fromText: PolicySet = PolicySet.load('version: 1');
const decision: Decision = set.decide(request);
const permitted: boolean = decision.permitted;
const reason: string | undefined = decision.scopes[0]?.reason;
const wouldPermit: boolean | undefined = decision.dryRun[0]?.wouldPermit;
const answers: BatchAnswer[] = set.decideMany([request]);
for (const answer of answers) {
  if ('error' in answer) {
    const message: string = answer.error;
  } else {
    const granted: string[] = answer.granted;
  }
}
try {
  PolicySet.load({ version: 1 });
} catch (e) {
  const paths: string[] = (e as PolicyLoadError).errors.map((x) => x.path);
}
fromText.free();

// @ts-expect-error: version must be 1
const badVersion: PolicyDocument = { version: 2 };
// @ts-expect-error: unknown grant type
const badGrant: Request = { grantType: 'password', target: { resource: 'a' } };
// @ts-expect-error: inCidr only on request.ip
const badCidr: PolicyDocument = { version: 1, policies: [{ id: 'p', subject: { conditions: [{ key: 'user.sub', op: 'inCidr', values: [] }] }, targets: [{ resource: 'a', scopes: '*' }] }] };
// @ts-expect-error: `in` takes values, not value
const badIn: PolicyDocument = { version: 1, policies: [{ id: 'p', subject: { conditions: [{ key: 'user.sub', op: 'in', value: 'x' }] }, targets: [{ resource: 'a', scopes: '*' }] }] };
// @ts-expect-error: the constructor is private; use PolicySet.load
new PolicySet();

export { permitted, reason, wouldPermit, badVersion, badGrant, badCidr, badIn };
