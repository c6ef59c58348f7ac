// Reads the decision corpus (tests/corpus/**/*.yaml) into the JSON array shape of
// tollgate_tests::corpus::corpus_json: [{ file, description, document, cases, expectErrors? }],
// sorted by file. Each case keeps the keys its file gives (`request` or `requestJson`, `expect`
// or `expectError`); `requestJson` stays the text as written.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const corpusDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tests', 'corpus');

function yamlFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(entry.name) ? [path] : [];
  });
}

export function loadCorpus() {
  return yamlFiles(corpusDir)
    .map((path) => ({ path, name: relative(corpusDir, path).split(sep).join('/') }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map(({ path, name }) => {
      const file = parse(readFileSync(path, 'utf8'));
      return { file: name, description: file.description, document: file.document, cases: file.cases ?? [], ...(file.expectErrors ? { expectErrors: file.expectErrors } : {}) };
    });
}

/** The number of cases: decision cases plus one per validation file (as corpus.rs counts). */
export function caseCount(files) {
  return files.reduce((n, f) => n + (f.expectErrors ? 1 : f.cases.length), 0);
}
