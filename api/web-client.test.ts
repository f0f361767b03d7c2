import { describe, expect, it } from 'vitest';
import { identityOf } from './identity.js';
import { defineWebClient, pageUrl, webSteps } from './web-client.js';

const who = { ...identityOf(42, { schools: 3, participantsPerConference: 10 }), className: '5b', schoolName: 'Nord Schule' };

describe('defineWebClient', () => {
  it('fills the first page from the participant, relative to the target (http for a WebSocket target)', () => {
    const c = defineWebClient({ url: '/room?class={class}&c={conference}&name={user}&s={schoolName}', joined: '#in' });
    expect(pageUrl(c, who, 'http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080/room?class=5b&c=4&name=pupil-42&s=Nord%20Schule');
    expect(pageUrl(c, who, 'ws://127.0.0.1:8188')).toBe('http://127.0.0.1:8188/room?class=5b&c=4&name=pupil-42&s=Nord%20Schule');
    expect(pageUrl(defineWebClient({ url: 'http://127.0.0.1:9000/x?p={participant}', joined: '#in' }), who, 'wss://127.0.0.1')).toBe('http://127.0.0.1:9000/x?p=42');
    expect(pageUrl(defineWebClient({ url: (w) => `/p/${w.place}`, joined: '#in' }), who, 'https://127.0.0.1')).toBe('https://127.0.0.1/p/2');
    expect(() => pageUrl(defineWebClient({ url: '/room?c={room}', joined: '#in' }), who, 'http://127.0.0.1')).toThrow('url has {room}, which is not a field of the participant');
  });

  it('gives the sample steps in order with their layers', () => {
    const run = async () => undefined;
    const c = defineWebClient({ url: '/', steps: { login: { layer: 'admission', run }, enter: { layer: 'broker', run } }, joined: '#in' });
    expect(webSteps(c)).toEqual([
      { step: 'browser_page', layer: 'admission' },
      { step: 'browser_login', layer: 'admission' },
      { step: 'browser_enter', layer: 'broker' },
      { step: 'browser_join', layer: 'media' },
      { step: 'browser_first_frame', layer: 'media' },
    ]);
    expect(webSteps(defineWebClient({ url: '/', joined: '#in', firstFrame: false })).map((s) => s.step)).toEqual(['browser_page', 'browser_join']);
  });

  it('names a definition that does not hold together, and the fix', () => {
    const run = async () => undefined;
    expect(() => defineWebClient({ url: '/' } as never)).toThrow('web client: joined is missing');
    expect(() => defineWebClient({ joined: '#in' } as never)).toThrow('web client: url is missing');
    expect(() => defineWebClient({ url: '/', joined: '#in', steps: { join: { layer: 'media', run } } })).toThrow('steps.join is a name firstbell gives its own step');
    expect(() => defineWebClient({ url: '/', joined: '#in', steps: { Login: { layer: 'admission', run } } })).toThrow('steps.Login is not a step name');
    expect(() => defineWebClient({ url: '/', joined: '#in', steps: { login: { layer: 'login' as never, run } } })).toThrow('steps.login.layer "login" is not a layer');
  });
});
