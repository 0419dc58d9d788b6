/** Tenant ids: an HMAC with the server secret over every credential a request carries, in headers or the query: `<key>[.<context>]`. */
import { createHmac, createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CREDENTIAL_HEADERS, NO_CREDENTIAL_TENANT, SHARED_TENANT, Tenants } from '../../src/cache/tenant.js';
import { matchesPurge } from '../../src/store/types.js';

const SECRET = new TextEncoder().encode('a server secret of some length');
const tenants = new Tenants({ secret: SECRET });
const tenant = (h: Record<string, string>, query = '', t = tenants) => t.of(new Headers(h), query);

const KEY_A = 'sk-proj-AAAAaaaa1111bbbb2222cccc3333';
const KEY_B = 'sk-proj-BBBBaaaa1111bbbb2222cccc3333';

describe('Tenants', () => {
  it('different Authorization → different tenant; the same → the same, whatever else is sent', () => {
    const a = tenant({ authorization: `Bearer ${KEY_A}` });
    expect(a).not.toBe(tenant({ authorization: `Bearer ${KEY_B}` }));
    expect(a).not.toBe(NO_CREDENTIAL_TENANT);
    expect(tenant({ Authorization: `Bearer ${KEY_A}`, 'x-cache-namespace': 'other', 'x-tenant': 'evil' })).toBe(a);
  });

  it.each(CREDENTIAL_HEADERS.map((h) => [h]))('the %s header forms the tenant', (header) => {
    const a = tenant({ [header]: 'credential-A' });
    expect(a).not.toBe(NO_CREDENTIAL_TENANT);
    expect(tenant({ [header]: 'credential-B' })).not.toBe(a);
    // next to another credential it still counts
    expect(tenant({ authorization: `Bearer ${KEY_A}`, [header === 'authorization' ? 'api-key' : header]: 'x' })).not.toBe(tenant({ authorization: `Bearer ${KEY_A}` }));
  });

  it.each([['key'], ['api-key'], ['api_key'], ['apikey'], ['access_token'], ['token'], ['sig'], ['API-KEY']])('the query parameter %s forms the tenant', (param) => {
    const a = tenant({}, `${param}=credential-A`);
    expect(a).not.toBe(NO_CREDENTIAL_TENANT);
    expect(tenant({}, `${param}=credential-B`)).not.toBe(a);
    // its order among other parameters does not matter; other parameters do not count (they are in the scope)
    expect(tenant({}, `x=1&${param}=credential-A&y=2`)).toBe(a);
    expect(tenant({}, `${param}=credential%2DA`)).toBe(tenant({}, `${param}=credential-A`));
  });

  it('a header the operator names (--tenant-headers) forms the tenant; unnamed, it does not', () => {
    const custom = new Tenants({ secret: SECRET, extraHeaders: ['X-Gateway-Key'] });
    expect(tenant({ 'x-gateway-key': 'g1' }, '', custom)).not.toBe(tenant({ 'x-gateway-key': 'g2' }, '', custom));
    expect(tenant({ 'x-gateway-key': 'g1' })).toBe(NO_CREDENTIAL_TENANT);
  });

  it('no credential in any form → the no-credential tenant; non-credential headers and parameters do not pick one', () => {
    expect(tenant({})).toBe(NO_CREDENTIAL_TENANT);
    expect(tenant({ 'x-tenant': 'someone', 'user-agent': 'sdk' }, 'api-version=2024-10-21')).toBe(NO_CREDENTIAL_TENANT);
  });

  it('shared mode → one tenant for every credential', () => {
    const shared = new Tenants({ secret: SECRET, shared: true });
    for (const h of [{ authorization: `Bearer ${KEY_A}` }, { 'api-key': KEY_B }, {}] as Array<Record<string, string>>) expect(tenant(h, '', shared)).toBe(SHARED_TENANT);
  });

  it('an empty Authorization header does not merge different api-keys into one tenant', () => {
    expect(tenant({ authorization: '', 'api-key': KEY_A })).not.toBe(tenant({ authorization: '', 'api-key': KEY_B }));
  });

  it('ids are HMACs keyed with the secret: another secret gives other ids, and no id is a plain hash of the key', () => {
    const a = tenant({ authorization: `Bearer ${KEY_A}` });
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(a).not.toContain(KEY_A.slice(-8));
    const other = new Tenants({ secret: new TextEncoder().encode('another secret, another deployment') });
    expect(tenant({ authorization: `Bearer ${KEY_A}` }, '', other)).not.toBe(a);
    // What the id is: HMAC-SHA256 under SHA-256(secret) of the main credential's value.
    const key = createHash('sha256').update(SECRET).digest();
    const expected = createHmac('sha256', key).update(`reprise-tenant\u0000k\u0000${KEY_A}`).digest('hex').slice(0, 32);
    expect(a).toBe(expected);
    expect(a).not.toBe(createHash('sha256').update(`reprise-tenant\u0000k\u0000${KEY_A}`).digest('hex').slice(0, 32));
    // With a context, the context part is keyed alike.
    const withOrg = tenant({ authorization: `Bearer ${KEY_A}`, 'openai-organization': 'org-1' });
    const ctx = createHmac('sha256', key).update('reprise-tenant\u0000c\u0000h:openai-organization=org-1\u0000').digest('hex').slice(0, 16);
    expect(withOrg).toBe(`${expected}.${ctx}`);
  });

  it('the same key is one tenant whichever header carries it; a Basic scheme is not a bare key', () => {
    const a = tenant({ authorization: `Bearer ${KEY_A}` });
    for (const h of ['x-api-key', 'api-key', 'x-goog-api-key', 'apikey']) expect(tenant({ [h]: KEY_A }), h).toBe(a);
    expect(tenant({ authorization: `bearer  ${KEY_A}` })).toBe(a);
    expect(tenant({ authorization: `Basic ${KEY_A}` })).not.toBe(a);
    expect(tenant({}, `key=${KEY_A}`)).toBe(a);
  });

  it('an organisation, project or second credential makes a context of the key: apart from it, and from each other', () => {
    const a = tenant({ authorization: `Bearer ${KEY_A}` });
    const org1 = tenant({ authorization: `Bearer ${KEY_A}`, 'openai-organization': 'org-1' });
    const org2 = tenant({ authorization: `Bearer ${KEY_A}`, 'openai-organization': 'org-2' });
    const gw = tenant({ authorization: `Bearer ${KEY_A}`, 'helicone-auth': 'Bearer h-1' });
    expect(new Set([a, org1, org2, gw]).size).toBe(4);
    for (const t of [org1, org2, gw]) expect(t.startsWith(`${a}.`)).toBe(true);
    // An organisation with no key is still a credential, and one organisation is not another.
    expect(tenant({ 'openai-organization': 'org-1' })).not.toBe(NO_CREDENTIAL_TENANT);
    expect(tenant({ 'openai-organization': 'org-1' })).not.toBe(tenant({ 'openai-organization': 'org-2' }));
  });

  it('ofApiKey is the tenant of the key however it is sent, and as a purge filter covers its contexts', () => {
    expect(tenants.ofApiKey(KEY_A)).toBe(tenant({ authorization: `Bearer ${KEY_A}` }));
    expect(tenants.ofApiKey(KEY_A)).toBe(tenant({ 'x-api-key': KEY_A }));
    const f = { tenant: tenants.ofApiKey(KEY_A) };
    const entry = (t: string) => ({ tenant: t, namespace: '', model: 'm' });
    expect(matchesPurge(f, entry(tenant({ authorization: `Bearer ${KEY_A}`, 'openai-project': 'p' })))).toBe(true);
    expect(matchesPurge(f, entry(tenant({ authorization: `Bearer ${KEY_B}`, 'openai-project': 'p' })))).toBe(false);
    // A tenant id that merely starts with the same characters is another tenant.
    expect(matchesPurge(f, entry(`${f.tenant}0`))).toBe(false);
  });
});
