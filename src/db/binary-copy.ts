/**
 * Rows in COPY's binary format (PostgreSQL's "FORMAT binary"), written straight into one
 * growing buffer: no text to build, escape and encode on this side, and on the server each value
 * is taken as it is stored (a uuid as its 16 bytes, a time as its microseconds) instead of being
 * parsed out of text. Used by `copyInto` for the rows projections append.
 *
 * A row is `row(n)` followed by exactly n values in the table's column order given to copyInto.
 * Numbers must be safe integers and times parseable, or the writer throws before anything is
 * sent (a bad row must fail its batch, never write a wrong value).
 */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Microseconds from the Unix epoch to PostgreSQL's (2000-01-01T00:00:00Z). */
const PG_EPOCH_MICROS = 946_684_800_000_000;
const TWO_32 = 2 ** 32;
const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX['0123456789abcdef'.charCodeAt(i)] = i;
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i;
}

export class BinaryCopyWriter {
  #buffer: Buffer;
  #at = 0;
  #rows = 0;

  constructor(initialBytes = 1 << 16) {
    this.#buffer = Buffer.allocUnsafe(Math.max(initialBytes, 64));
    this.#at = SIGNATURE.copy(this.#buffer, 0);
    this.#at = this.#buffer.writeInt32BE(0, this.#at); // flags
    this.#at = this.#buffer.writeInt32BE(0, this.#at); // header extension length
  }

  get rows(): number {
    return this.#rows;
  }

  /** Starts a row of `fields` values. */
  row(fields: number): this {
    this.#room(2);
    this.#at = this.#buffer.writeInt16BE(fields, this.#at);
    this.#rows++;
    return this;
  }

  null(): this {
    this.#room(4);
    this.#at = this.#buffer.writeInt32BE(-1, this.#at);
    return this;
  }

  /** A uuid from its text form (any case). */
  uuid(value: string): this {
    this.#room(20);
    this.#at = this.#buffer.writeInt32BE(16, this.#at);
    this.#at = writeUuid(value, this.#buffer, this.#at);
    return this;
  }

  /** A uuid from its 16 bytes (see `uuidBytes`), for one written many times. */
  uuidFromBytes(bytes: Uint8Array): this {
    this.#room(20);
    this.#at = this.#buffer.writeInt32BE(16, this.#at);
    this.#buffer.set(bytes, this.#at);
    this.#at += 16;
    return this;
  }

  int4(value: number): this {
    if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) throw new RangeError(`not a 32-bit integer: ${value}`);
    this.#room(8);
    this.#at = this.#buffer.writeInt32BE(4, this.#at);
    this.#at = this.#buffer.writeInt32BE(value, this.#at);
    return this;
  }

  int8(value: number | bigint): this {
    this.#room(12);
    this.#at = this.#buffer.writeInt32BE(8, this.#at);
    if (typeof value === 'bigint') {
      this.#at = this.#buffer.writeBigInt64BE(value, this.#at);
      return this;
    }
    if (!Number.isSafeInteger(value)) throw new RangeError(`not a safe integer: ${value}`);
    return this.#int64(value);
  }

  bool(value: boolean): this {
    this.#room(5);
    this.#at = this.#buffer.writeInt32BE(1, this.#at);
    this.#buffer[this.#at++] = value ? 1 : 0;
    return this;
  }

  text(value: string): this {
    return this.#utf8(value, false);
  }

  textOrNull(value: string | null | undefined): this {
    return value == null ? this.null() : this.text(value);
  }

  /** A jsonb value from its JSON text. */
  jsonb(json: string): this {
    return this.#utf8(json, true);
  }

  /** A timestamptz from an ISO-8601 time, to the microsecond it names. */
  timestamptz(iso: string): this {
    return this.timestamptzMicros(isoMicros(iso));
  }

  timestamptzOrNull(iso: string | null | undefined): this {
    return iso == null ? this.null() : this.timestamptz(iso);
  }

  /** A timestamptz from microseconds since the Unix epoch (an integer). */
  timestamptzMicros(micros: number | bigint): this {
    this.#room(12);
    this.#at = this.#buffer.writeInt32BE(8, this.#at);
    if (typeof micros === 'bigint') {
      this.#at = this.#buffer.writeBigInt64BE(micros - BigInt(PG_EPOCH_MICROS), this.#at);
      return this;
    }
    if (!Number.isSafeInteger(micros)) throw new RangeError(`not a time in microseconds: ${micros}`);
    return this.#int64(micros - PG_EPOCH_MICROS);
  }

  /** The finished payload (the writer must not be used afterwards). */
  finish(): Buffer {
    this.#room(2);
    this.#at = this.#buffer.writeInt16BE(-1, this.#at);
    return this.#buffer.subarray(0, this.#at);
  }

  #int64(value: number): this {
    const high = Math.floor(value / TWO_32);
    this.#at = this.#buffer.writeInt32BE(high, this.#at);
    this.#at = this.#buffer.writeUInt32BE(value - high * TWO_32, this.#at);
    return this;
  }

  #utf8(value: string, jsonb: boolean): this {
    // UTF-16 code units never take more than 3 bytes each in UTF-8.
    this.#room(5 + value.length * 3);
    const buffer = this.#buffer;
    const start = this.#at + 4;
    let at = start;
    if (jsonb) buffer[at++] = 1; // jsonb's binary format version
    at = value.length <= SHORT ? writeShort(value, buffer, at) : at + buffer.write(value, at, 'utf8');
    buffer.writeInt32BE(at - start, this.#at);
    this.#at = at;
    return this;
  }

  #room(bytes: number): void {
    if (this.#at + bytes <= this.#buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.#at + bytes + 1024));
    this.#buffer.copy(grown, 0, 0, this.#at);
    this.#buffer = grown;
  }
}

/** Strings this short are copied byte by byte when ASCII: cheaper than a call into the encoder. */
const SHORT = 64;

function writeShort(value: string, buffer: Buffer, at: number): number {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code > 0x7f) return at - i + buffer.write(value, at - i, 'utf8');
    buffer[at++] = code;
  }
  return at;
}

/**
 * Writes a uuid in any text form PostgreSQL's uuid input takes: 32 hex digits of either case,
 * optionally in braces, with a hyphen allowed after any group of four digits.
 */
function writeUuid(value: string, buffer: Uint8Array, start: number): number {
  const braced = value.charCodeAt(0) === 123; // '{'
  if (braced !== (value.charCodeAt(value.length - 1) === 125)) throw new RangeError(`not a uuid: ${value}`);
  let at = start;
  let nibbles = 0;
  let byte = 0;
  let hyphen = false;
  for (let i = braced ? 1 : 0, end = braced ? value.length - 1 : value.length; i < end; i++) {
    const code = value.charCodeAt(i);
    if (code === 45 && !hyphen && nibbles > 0 && nibbles < 32 && nibbles % 4 === 0) {
      hyphen = true; // '-'
      continue;
    }
    const nibble = code < 128 ? HEX[code]! : -1;
    if (nibble < 0 || nibbles === 32) throw new RangeError(`not a uuid: ${value}`);
    hyphen = false;
    byte = (byte << 4) | nibble;
    if (++nibbles % 2 === 0) buffer[at++] = byte & 0xff;
  }
  if (nibbles !== 32 || hyphen) throw new RangeError(`not a uuid: ${value}`);
  return at;
}

/** A uuid's 16 bytes, written into `into` (a fresh array when not given). */
export function uuidBytes(value: string, into: Uint8Array = new Uint8Array(16)): Uint8Array {
  writeUuid(value, into, 0);
  return into;
}

/** ISO-8601 as PostgreSQL and JavaScript both read it alike: a date, a time, an offset. */
const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}(?::?\d{2})?)$/i;

/**
 * Microseconds since the Unix epoch of an ISO-8601 time with an offset (`Z`, `±hh:mm`, `±hh`), as
 * PostgreSQL reads it: the fraction rounded to the microsecond half to even (its `rint`). Any
 * other form throws, rather than leave the time zone or the rounding to this process. Answers a
 * bigint beyond 2^53 microseconds (after the year 2255).
 */
export function isoMicros(iso: string): number | bigint {
  return canonicalIsoMicros(iso) ?? anyIsoMicros(iso);
}

/** isoMicros, or undefined where it is not an ISO-8601 time with an offset. */
export function isoMicrosOrUndefined(iso: string): number | bigint | undefined {
  try {
    return isoMicros(iso);
  } catch {
    return undefined;
  }
}

/** Days in each month of a common year. */
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The value of the `length` ASCII digits of `s` at `at`, or -1 if one is not a digit. */
function digitsAt(s: string, at: number, length: number): number {
  let value = 0;
  for (let i = at; i < at + length; i++) {
    const digit = s.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * isoMicros of the form `Date#toISOString` writes, `YYYY-MM-DDTHH:MM:SS.sssZ` (what events carry),
 * read without a regular expression or a Date; undefined for any other form or anything out of
 * range, which the general reading then answers or refuses.
 */
function canonicalIsoMicros(iso: string): number | undefined {
  if (iso.length !== 24 || iso.charCodeAt(23) !== 90 /* Z */ || iso.charCodeAt(10) !== 84 /* T */) return undefined;
  if (iso[4] !== '-' || iso[7] !== '-' || iso[13] !== ':' || iso[16] !== ':' || iso[19] !== '.') return undefined;
  const year = digitsAt(iso, 0, 4);
  const month = digitsAt(iso, 5, 2);
  const day = digitsAt(iso, 8, 2);
  const hour = digitsAt(iso, 11, 2);
  const minute = digitsAt(iso, 14, 2);
  const second = digitsAt(iso, 17, 2);
  const millis = digitsAt(iso, 20, 3);
  if (year < 1000 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 || millis < 0) {
    return undefined;
  }
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > MONTH_DAYS[month - 1]! + (month === 2 && leap ? 1 : 0)) return undefined;
  const micros = Date.UTC(year, month - 1, day, hour, minute, second, millis) * 1000;
  return Number.isSafeInteger(micros) ? micros : undefined;
}

function anyIsoMicros(iso: string): number | bigint {
  const match = ISO.exec(iso);
  if (!match) throw new RangeError(`not an ISO-8601 time with an offset: ${iso}`);
  const [, year, month, day, hour, minute, second, fraction, offset] = match as unknown as string[];
  const date = new Date(0);
  date.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  date.setUTCHours(Number(hour), Number(minute), Number(second), 0);
  const valid =
    date.getUTCFullYear() === Number(year) && date.getUTCMonth() === Number(month) - 1 && date.getUTCDate() === Number(day) &&
    date.getUTCHours() === Number(hour) && date.getUTCMinutes() === Number(minute) && date.getUTCSeconds() === Number(second);
  if (!valid) throw new RangeError(`not a time: ${iso}`);
  const seconds = date.getTime() / 1000 - offsetSeconds(offset!);
  const micros = fraction === undefined ? 0 : roundHalfEven(Number(`0.${fraction}`) * 1e6);
  const total = seconds * 1e6 + micros;
  return Number.isSafeInteger(total) ? total : BigInt(seconds) * 1_000_000n + BigInt(micros);
}

function offsetSeconds(offset: string): number {
  if (offset === 'Z' || offset === 'z') return 0;
  const digits = offset.replace(':', '');
  const sign = digits[0] === '-' ? -1 : 1;
  return sign * (Number(digits.slice(1, 3)) * 3600 + Number(digits.slice(3, 5) || '0') * 60);
}

function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const rest = value - floor;
  if (rest !== 0.5) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
}
