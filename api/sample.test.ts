import { describe, expect, it } from 'vitest';
import { classifyError, describeKind, failureKind } from './sample.js';

// Real sockets cover refused, reset and timeout (virtual-user.e2e.test.ts); name look-ups and TLS
// would need a resolver or certificates beyond loopback, so their error codes are checked here as Node reports them.
describe('classifying client errors', () => {
  it('reads the codes Node and undici give, also when wrapped as a cause', () => {
    expect(classifyError(Object.assign(new Error('getaddrinfo ENOTFOUND x.invalid'), { code: 'ENOTFOUND' }))).toBe('dns');
    expect(classifyError(Object.assign(new Error('fetch failed'), { cause: { code: 'EAI_AGAIN' } }))).toBe('dns');
    expect(classifyError(Object.assign(new Error('self-signed'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }))).toBe('tls');
    expect(classifyError(Object.assign(new Error('alert'), { code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' }))).toBe('tls');
    expect(classifyError(Object.assign(new Error('x'), { code: 'UND_ERR_CONNECT_TIMEOUT' }))).toBe('timeout');
    expect(classifyError(Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET' }))).toBe('reset');
    expect(classifyError(Object.assign(new Error('x'), { code: 'HPE_INVALID' }))).toBe('protocol');
    expect(classifyError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe('refused');
    expect(classifyError(new Error('something else'))).toBe('error');
  });

  it('names failure kinds as people read them', () => {
    expect(describeKind(failureKind('http', 502))).toBe('502 Bad Gateway');
    expect(describeKind(failureKind('http', 418))).toBe('418 HTTP error');
    expect(describeKind('timeout')).toBe('no answer in time (timeout)');
  });
});
