// msgpackr writes a whole number outside the 32-bit ranges as float64, and MessagePack-CSharp refuses a
// float64 where a `long` is expected (a .NET client binding `long Seq` would never see the message). A
// BigInt makes msgpackr write int64 (uint64 beyond 2^63), so such numbers become BigInts before packing.

const INT64_MIN = -(2 ** 63);
const UINT64_END = 2 ** 64;

/** True for a whole number that needs a 64-bit MessagePack integer (it fits no 32-bit form). */
export function isWideInteger(value: number): boolean {
  return (
    Number.isInteger(value) &&
    (value > 0xffffffff || value < -0x80000000) &&
    value >= INT64_MIN &&
    value < UINT64_END
  );
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * The value with every wide integer (see `isWideInteger`) replaced by a BigInt, for packing with
 * msgpackr. Arrays and plain objects are copied only where something changes; anything else (byte
 * arrays, strings) is returned as is.
 */
export function widenIntegers(value: unknown): unknown {
  if (typeof value === 'number') return isWideInteger(value) ? BigInt(value) : value;
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const widened = widenIntegers(item);
      if (widened !== item) {
        out ??= value.slice();
        out[i] = widened;
      }
    }
    return out ?? value;
  }
  if (!isPlainObject(value)) return value;
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const item = value[key];
    const widened = widenIntegers(item);
    if (widened !== item) {
      out ??= { ...value };
      out[key] = widened;
    }
  }
  return out ?? value;
}
