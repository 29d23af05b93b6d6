/** Output helpers: humans get text, scripts get one JSON document on stdout (--json). */
export function printJson(value: unknown): void {
  process.stdout.write(
    `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`,
  );
}

export function fail(message: string, code = 1): never {
  process.stderr.write(`cdc: ${message}\n`);
  process.exit(code);
}
