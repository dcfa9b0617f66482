import { routePublish } from '../../src/publish/publish-routes';

describe('routePublish', () => {
  it('maps the Azure SignalR Service v1 paths', () => {
    expect(routePublish('POST', ['chathub'])).toEqual({ op: 'send', hub: 'chathub', to: { kind: 'all' } });
    expect(routePublish('POST', ['h', 'users', 'u'])).toEqual({
      op: 'send',
      hub: 'h',
      to: { kind: 'user', id: 'u' },
    });
    expect(routePublish('POST', ['h', 'groups', 'g'])).toEqual({
      op: 'send',
      hub: 'h',
      to: { kind: 'group', id: 'g' },
    });
    expect(routePublish('POST', ['h', 'connections', 'c'])).toEqual({
      op: 'send',
      hub: 'h',
      to: { kind: 'connection', id: 'c' },
    });
    expect(routePublish('HEAD', ['h', 'connections', 'c'])).toEqual({
      op: 'connection-exists',
      hub: 'h',
      connectionId: 'c',
    });
    expect(routePublish('PUT', ['h', 'groups', 'g', 'connections', 'c'])).toEqual({
      op: 'connection-group',
      hub: 'h',
      change: 'add',
      group: 'g',
      connectionId: 'c',
    });
    expect(routePublish('DELETE', ['h', 'groups', 'g', 'users', 'u'])).toEqual({
      op: 'user-group',
      hub: 'h',
      change: 'remove',
      group: 'g',
      user: 'u',
    });
  });

  it('tells unknown paths from unserved methods', () => {
    expect(routePublish('GET', ['h'])).toEqual({ miss: 'method', allow: 'POST' });
    expect(routePublish('POST', ['h', 'groups', 'g', 'users', 'u'])).toEqual({
      miss: 'method',
      allow: 'PUT, DELETE',
    });
    expect(routePublish('POST', ['h', 'planets', 'p'])).toEqual({ miss: 'path' });
    expect(routePublish('POST', ['h', 'users', ''])).toEqual({ miss: 'path' });
    expect(routePublish('POST', ['h', 'users'])).toEqual({ miss: 'path' });
    expect(routePublish('PUT', ['h', 'groups', 'g', 'planets', 'p'])).toEqual({ miss: 'path' });
  });

  it("maps today's paths, where sends end in /:send", () => {
    const current = (method: string, ...segments: string[]) => routePublish(method, segments, 'current');
    expect(current('POST', 'h', ':send')).toEqual({ op: 'send', hub: 'h', to: { kind: 'all' } });
    expect(current('POST', 'h', 'users', 'u', ':send')).toEqual({
      op: 'send',
      hub: 'h',
      to: { kind: 'user', id: 'u' },
    });
    expect(current('POST', 'h', 'groups', 'g', ':send')).toEqual({
      op: 'send',
      hub: 'h',
      to: { kind: 'group', id: 'g' },
    });
    expect(current('POST', 'h', 'connections', 'c', ':send')).toEqual({
      op: 'send',
      hub: 'h',
      to: { kind: 'connection', id: 'c' },
    });
    expect(current('PUT', 'h', 'users', 'u', 'groups', 'g')).toEqual({
      op: 'user-group',
      hub: 'h',
      change: 'add',
      group: 'g',
      user: 'u',
    });
    expect(current('DELETE', 'h', 'groups', 'g', 'connections', 'c')).toEqual({
      op: 'connection-group',
      hub: 'h',
      change: 'remove',
      group: 'g',
      connectionId: 'c',
    });
    expect(current('GET', 'h', 'connections', 'c')).toEqual({
      op: 'connection-exists',
      hub: 'h',
      connectionId: 'c',
    });
    expect(current('GET', 'h', ':send')).toEqual({ miss: 'method', allow: 'POST' });
    expect(current('POST', 'h')).toEqual({ miss: 'path' });
    expect(current('POST', 'h', 'planets', 'p', ':send')).toEqual({ miss: 'path' });
    expect(current('POST', 'h', 'users', ':send')).toEqual({ miss: 'path' });
    expect(current('PUT', 'h', 'groups', 'g', 'users', 'u')).toEqual({ miss: 'path' });
  });
});
