/** Progress output of the benchmark (stderr, so that stdout can be piped). */
export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** A progress line rewritten in place on a terminal, printed every `everyMs` otherwise. */
export function progress(label: string): { update(text: string): void; done(text: string): void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  return {
    update(text) {
      const now = Date.now();
      if (tty) process.stderr.write(`\r\x1b[2K  ${label}: ${text}`);
      else if (now - last >= 2000) process.stderr.write(`  ${label}: ${text}\n`);
      last = now;
    },
    done(text) {
      if (tty) process.stderr.write(`\r\x1b[2K`);
      process.stderr.write(`  ${label}: ${text}\n`);
    },
  };
}
