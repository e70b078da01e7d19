// A node:test reporter that writes one JSON line per finished test (suites excluded),
// so test/run.mjs can print the closing `N passed, N failed, N skipped` line.
export default async function* countReporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (event.data.details?.type === 'suite') {
      // A suite that failed outside its tests (a hook, a load error) still counts as a failure.
      if (event.type === 'test:fail' && event.data.details?.error?.failureType !== 'subtestsFailed') {
        yield JSON.stringify({ result: 'fail', name: event.data.name, file: event.data.file }) + '\n';
      }
      continue;
    }
    const skipped = event.data.skip !== undefined || event.data.todo !== undefined;
    const result = event.type === 'test:fail' ? 'fail' : skipped ? 'skip' : 'pass';
    yield JSON.stringify({ result, name: event.data.name, file: event.data.file }) + '\n';
  }
}
