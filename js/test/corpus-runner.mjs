// Runs the decision corpus (tests/corpus/**/*.yaml, as the JSON array that corpus.mjs builds)
// against a PolicySet implementation. Runtime-neutral: the Node tests import it directly, and the
// workerd, Deno and browser tests load it inside those runtimes.
//
// The rules are those of tests/src/corpus.rs: a decision case passes when every key under
// `expect` equals the decision's key as JSON; a validation file passes when loading fails with
// exactly the expected errors, in order, each path equal and each message containing the
// expected text (ASCII case ignored).

/** JSON equality: object key order is irrelevant, array order is not. */
export function jsonEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
}

function loadErrors(error) {
  return Array.isArray(error?.errors) ? error.errors.map((e) => [e.path, e.message]) : [['', String(error)]];
}

/**
 * Runs `files` (the corpus array) with `PolicySet`. `sample` keeps every k-th decision case
 * (1: all). Returns { passed, failed, failures: [{ file, case, problem }] }.
 */
export function runCorpus(PolicySet, files, { sample = 1 } = {}) {
  const report = { passed: 0, failed: 0, failures: [] };
  const record = (file, name, problems) => {
    if (problems.length === 0) {
      report.passed += 1;
    } else {
      report.failed += 1;
      for (const problem of problems) report.failures.push({ file, case: name, problem });
    }
  };
  let index = 0;
  for (const file of files) {
    if (file.expectErrors) {
      let problems = [];
      try {
        PolicySet.load(file.document).free();
        problems = ['the document loaded; expected validation errors'];
      } catch (error) {
        const actual = loadErrors(error);
        const expected = file.expectErrors;
        const same = actual.length === expected.length && expected.every((e, i) =>
          actual[i][0] === e.path && actual[i][1].toLowerCase().includes(e.message.toLowerCase()));
        if (!same) {
          problems = [`errors differ: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
        }
      }
      record(file.file, 'expectErrors', problems);
      continue;
    }
    let set;
    try {
      set = PolicySet.load(file.document);
    } catch (error) {
      for (const c of file.cases) {
        record(file.file, c.name, [`document did not load: ${JSON.stringify(loadErrors(error))}`]);
      }
      continue;
    }
    try {
      for (const c of file.cases) {
        if (index++ % sample !== 0) continue;
        let decision;
        try {
          decision = set.decide(c.request);
        } catch (error) {
          record(file.file, c.name, [`decide failed: ${error?.message ?? error}`]);
          continue;
        }
        const problems = [];
        for (const [key, want] of Object.entries(c.expect)) {
          if (!jsonEqual(decision[key], want)) {
            problems.push(`${key}: expected ${JSON.stringify(want)}, got ${JSON.stringify(decision[key])}`);
          }
        }
        record(file.file, c.name, problems);
      }
    } finally {
      set.free();
    }
  }
  return report;
}

/** The report as text: each failure on its own line, then `N passed, M failed`. */
export function formatReport(report, label = 'corpus') {
  const lines = report.failures.map((f) => `FAIL ${f.file} :: ${f.case}: ${f.problem}`);
  lines.push(`${label}: ${report.passed} passed, ${report.failed} failed`);
  return lines.join('\n');
}
