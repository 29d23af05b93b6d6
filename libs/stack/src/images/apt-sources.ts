import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AptSourceFile {
  path: string;
  text: string;
}

interface Entry {
  uris: string[];
  suites: string[];
  components: string[];
  types: string[];
}

/** One-line style: `deb [opt=val ...] URI suite component...` (https://manpages.debian.org/sources.list). */
function oneLineEntries(text: string): Entry[] {
  const entries: Entry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const withoutOptions = line.replace(/\[[^\]]*\]/, ' ');
    const [type, uri, suite, ...components] = withoutOptions.split(/\s+/).filter(Boolean);
    if (!type || !uri || !suite) continue;
    entries.push({ types: [type], uris: [uri], suites: [suite], components });
  }
  return entries;
}

/** deb822 style: stanzas of `Field: value` separated by blank lines (Types, URIs, Suites, Components). */
function deb822Entries(text: string): Entry[] {
  return text
    .split(/\n\s*\n/)
    .map((stanza) => {
      const fields = new Map<string, string[]>();
      for (const raw of stanza.split('\n')) {
        if (/^\s*#/.test(raw)) continue;
        const m = /^([A-Za-z-]+):\s*(.*)$/.exec(raw);
        if (m) fields.set((m[1] as string).toLowerCase(), (m[2] as string).split(/\s+/).filter(Boolean));
      }
      return {
        types: fields.get('types') ?? [],
        uris: fields.get('uris') ?? [],
        suites: fields.get('suites') ?? [],
        components: fields.get('components') ?? [],
      };
    })
    .filter((e) => e.uris.length > 0);
}

/**
 * The Debian archive the machine installs `suite` from: the first `deb` source that carries exactly that suite
 * (not -security or -updates) with the main component. debootstrap builds the base image from it.
 */
export function debianMirror(files: readonly AptSourceFile[], suite: string): string | undefined {
  for (const file of files) {
    const entries = file.path.endsWith('.sources') ? deb822Entries(file.text) : oneLineEntries(file.text);
    for (const e of entries) {
      if (e.types.includes('deb') && e.suites.includes(suite) && e.components.includes('main')) {
        return e.uris[0];
      }
    }
  }
  return undefined;
}

/** /etc/apt/sources.list, then sources.list.d/*.list and *.sources in name order (apt's own order). */
export function readAptSources(etcApt = '/etc/apt'): AptSourceFile[] {
  const files: AptSourceFile[] = [];
  const main = join(etcApt, 'sources.list');
  if (existsSync(main)) files.push({ path: main, text: readFileSync(main, 'utf8') });
  const dir = join(etcApt, 'sources.list.d');
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort()) {
      if (!/\.(list|sources)$/.test(name)) continue;
      files.push({ path: join(dir, name), text: readFileSync(join(dir, name), 'utf8') });
    }
  }
  return files;
}
