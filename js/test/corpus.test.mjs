// The whole decision corpus in Node, through the package's `node` entry point.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PolicySet } from '@tollgate/engine';
import { caseCount, loadCorpus } from './corpus.mjs';
import { formatReport, runCorpus } from './corpus-runner.mjs';

test('the decision corpus in Node: every case agrees', () => {
  const files = loadCorpus();
  const report = runCorpus(PolicySet, files);
  console.log(formatReport(report, 'corpus (node)'));
  assert.equal(report.passed + report.failed, caseCount(files));
  assert.ok(report.passed > 200, `only ${report.passed} cases ran`);
  assert.equal(report.failed, 0, formatReport(report));
});

test('the corpus documents load the same from JSON text as from objects', () => {
  for (const file of loadCorpus()) {
    let fromObject;
    let fromText;
    try { PolicySet.load(file.document).free(); fromObject = 'ok'; } catch (e) { fromObject = e.errors; }
    try { PolicySet.load(JSON.stringify(file.document)).free(); fromText = 'ok'; } catch (e) { fromText = e.errors; }
    assert.deepEqual(fromText, fromObject, file.file);
  }
});
