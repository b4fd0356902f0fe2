/** Progress output of the benchmark (stderr, so that stdout can be piped). */
export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** A progress line, printed at most every 2 s, and its last line. */
export function progress(label: string): { update(text: string): void; done(text: string): void } {
  let last = 0;
  return {
    update(text) {
      if (Date.now() - last < 2000) return;
      last = Date.now();
      log(`  ${label}: ${text}`);
    },
    done: (text) => log(`  ${label}: ${text}`),
  };
}
