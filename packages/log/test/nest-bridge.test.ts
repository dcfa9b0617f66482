import 'reflect-metadata';
import { Injectable, Module, Logger as NestLogger, type OnModuleInit } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createLogger, NestLogBridge } from '../src';
import { Lines } from './lines';

@Injectable()
class Reporter implements OnModuleInit {
  private readonly log = new NestLogger('Reporter');

  onModuleInit(): void {
    this.log.warn('cache cold');
    this.log.error('cannot reach the store', new Error('refused').stack);
    this.log.error(new RangeError('out of range'));
  }
}

@Module({ providers: [Reporter] })
class ReportingModule {}

async function runNest(level: 'debug' | 'info') {
  const out = new Lines();
  const logger = createLogger({ app: 'gateway', level, format: 'json', destination: out });
  const app = await NestFactory.createApplicationContext(ReportingModule, {
    logger: new NestLogBridge(logger.child('nest')),
  });
  await app.close();
  return out.json();
}

describe('NestLogBridge', () => {
  it("writes Nest's start-up chatter at debug, with Nest's context", async () => {
    const lines = await runNest('debug');
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'debug',
        app: 'gateway',
        component: 'nest',
        msg: 'Starting Nest application...',
        context: 'NestFactory',
      }),
    );
  });

  it('keeps warnings and errors, with the stack of an error', async () => {
    const lines = await runNest('info');
    expect(lines.filter((l) => l.level === 'debug' || l.level === 'info')).toEqual([]);
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 'warn', component: 'nest', msg: 'cache cold', context: 'Reporter' }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'error',
        msg: 'cannot reach the store',
        context: 'Reporter',
        stack: expect.stringContaining('Error: refused'),
      }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'error',
        msg: 'out of range',
        error: expect.objectContaining({ name: 'RangeError', message: 'out of range' }),
      }),
    );
  });
});
