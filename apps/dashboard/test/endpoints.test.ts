import { resolveEndpoints } from '../src/endpoints';

describe('gateway endpoints', () => {
  it('uses the page origin by default', () => {
    expect(resolveEndpoints({ href: 'http://localhost:8080/' })).toEqual({
      wsUrl: 'ws://localhost:8080/ws',
      apiBase: 'http://localhost:8080',
    });
    expect(resolveEndpoints({ href: 'https://md.example.com/desk/?x=1' })).toEqual({
      wsUrl: 'wss://md.example.com/ws',
      apiBase: 'https://md.example.com',
    });
  });

  it('follows ?gateway= in any of its forms', () => {
    expect(resolveEndpoints({ href: 'http://localhost:5173/?gateway=localhost:8081' })).toEqual({
      wsUrl: 'ws://localhost:8081/ws',
      apiBase: 'http://localhost:8081',
    });
    expect(resolveEndpoints({ href: 'http://a/?gateway=https://gw.example.com' }).wsUrl).toBe(
      'wss://gw.example.com/ws',
    );
    expect(resolveEndpoints({ href: 'http://a/?gateway=wss://gw.example.com/feed' })).toEqual({
      wsUrl: 'wss://gw.example.com/feed',
      apiBase: 'https://gw.example.com',
    });
  });

  it('ignores an unusable override and passes a token on', () => {
    expect(resolveEndpoints({ href: 'http://h:1/?gateway=ftp://x' }).wsUrl).toBe('ws://h:1/ws');
    expect(resolveEndpoints({ href: 'http://h:1/?token=abc' }).token).toBe('abc');
  });
});
