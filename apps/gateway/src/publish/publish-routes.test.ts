import { routePublish } from './publish-routes';

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
});
