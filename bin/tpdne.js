#!/usr/bin/env node
// The tpdne command. The TypeScript sources are compiled to dist/ by `npm install`
// (the prepare script) or `npm run build`.
let cli;
try {
  cli = await import('../dist/server/cli/main.js');
} catch (err) {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/server/cli')) {
    process.stderr.write('tpdne: not built yet; run `npm install` or `npm run build` first\n');
    process.exit(1);
  }
  throw err;
}
process.exitCode = await cli.main(process.argv.slice(2));
