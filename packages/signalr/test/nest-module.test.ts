import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { ChatHub } from '../example/chat.hub';
import type { HubContext } from '../src/hub/hub';
import { Hub, HubMethod } from '../src/hub/hub';
import { InjectHubContext, SignalRHubs, SignalRModule } from '../src/nest/signalr.module';
import { buildClient, COMBINATIONS, waitFor } from '../src/testing';

jest.setTimeout(30_000);

/** A service the hub receives through Nest's dependency injection. */
@Injectable()
class Greeter {
  greet(name: string): string {
    return `hello ${name}`;
  }
}

// @Hub maps the class (no { path, hub } needed) and, being a decorator, lets Nest see its constructor.
@Hub('/greeter')
class GreeterHub extends Hub {
  constructor(private readonly greeter: Greeter) {
    super();
  }

  @HubMethod({ name: 'Greet' })
  greet(name: string): string {
    return this.greeter.greet(name);
  }
}

/** Sends to the chat from outside any hub, through the injected hub context. */
@Injectable()
class Announcer {
  constructor(@InjectHubContext(ChatHub) private readonly chat: HubContext) {}

  announce(text: string): Promise<void> {
    return this.chat.clients.all.send('ReceiveMessage', 'announcer', text);
  }
}

@Module({
  imports: [
    SignalRModule.forRoot({
      hubs: [{ path: '/chathub', hub: ChatHub }, GreeterHub],
      providers: [Greeter, Announcer],
      useFactory: () => ({ hubOptions: { keepAliveIntervalMs: 15_000 } }),
    }),
  ],
})
class StandaloneAppModule {}

describe('SignalRModule in a plain Nest application (its own upgrade listener)', () => {
  let app: NestExpressApplication;
  let baseUrl: string;

  beforeAll(async () => {
    app = await NestFactory.create<NestExpressApplication>(StandaloneAppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await app.close();
  });

  it.each(COMBINATIONS)(
    '%s + %s: hub with injected dependencies; hub context from a service',
    async (t, p) => {
      const greeter = buildClient(`${baseUrl}/greeter`, t, p);
      await greeter.start();
      expect(await greeter.invoke('Greet', 'nest')).toBe('hello nest');
      await greeter.stop();

      const chat = buildClient(`${baseUrl}/chathub`, t, p);
      const got: string[] = [];
      chat.on('ReceiveMessage', (user: string, message: string) => got.push(`${user}:${message}`));
      await chat.start();
      // Any service can reach a hub's clients (IHubContext).
      await app.get(SignalRHubs).hubContext(ChatHub).clients.all.send('ReceiveMessage', 'server', 'notice');
      await waitFor(() => got.length === 1, 10_000, 'the message from the hub context');
      await app.get(Announcer).announce('injected');
      await waitFor(() => got.length === 2, 10_000, 'the message from the injected hub context');
      expect(got).toEqual(['server:notice', 'announcer:injected']);
      await chat.stop();
    },
  );

  it('maps @Hub classes by their path, and refuses a listed class without one', () => {
    expect(app.get(SignalRHubs).endpoint(GreeterHub)?.path).toBe('/greeter');
    expect(() => SignalRModule.forRoot({ hubs: [ChatHub] })).toThrow(
      "ChatHub has no @Hub('/path'); list it as { path, hub }",
    );
  });

  it('leaves other routes to Nest', async () => {
    const res = await fetch(`${baseUrl}/not-a-hub`);
    expect(res.status).toBe(404);
    await res.arrayBuffer();
  });
});
