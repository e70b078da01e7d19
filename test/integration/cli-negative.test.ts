import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';

// parseArgs reads a value that starts with `-` as an option and says "argument is
// ambiguous" over several lines; the value must reach the validator instead.
describe('tpdne serve: a negative number after a flag is its value, and is checked', () => {
  const table: [string[], string][] = [
    [['--port', '-1'], "tpdne: Expected integer between 0 and 65535 for --port but received '-1'"],
    [['--seed', '-5'], "tpdne: Expected integer between 0 and 4294967295 for --seed but received '-5'"],
    [['--port=-1'], "tpdne: Expected integer between 0 and 65535 for --port but received '-1'"],
    [['--size', '-64', '--port', '0'], "tpdne: Expected integer between 16 and 4096 for --size but received '-64'"],
  ];
  for (const [args, line] of table) {
    it(`serve ${args.join(' ')}: one line, exit code 1`, async () => {
      const result = await runCli(['serve', ...args]);
      assert.equal(result.stderr, line + '\n');
      assert.equal(result.code, 1);
    });
  }
});
