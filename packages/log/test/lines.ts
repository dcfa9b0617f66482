import { Writable } from 'node:stream';

/** A destination that keeps what the logger writes, as a pipe would receive it. */
export class Lines extends Writable {
  readonly text: string[] = [];

  constructor() {
    super({ decodeStrings: false });
  }

  override _write(chunk: string | Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text.push(
      ...chunk
        .toString()
        .split('\n')
        .filter((l) => l !== ''),
    );
    done();
  }

  json(): Array<Record<string, unknown>> {
    return this.text.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}
