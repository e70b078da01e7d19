/** Parses a unit file: section → key → every value, in order. Comments and blank lines are skipped. */
export function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const sections: Record<string, Record<string, string[]>> = {};
  let section: Record<string, string[]> | null = null;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const head = /^\[(\w+)\]$/.exec(line);
    if (head) {
      section = sections[head[1]!] = {};
      continue;
    }
    const pair = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!pair || !section) throw new Error(`Not a Key=value line inside a section: ${JSON.stringify(line)}`);
    (section[pair[1]!] ??= []).push(pair[2]!);
  }
  return sections;
}
