// Runs the decision corpus (tests/corpus/**/*.yaml, as the JSON array that corpus.mjs builds)
// against a PolicySet implementation. Runtime-neutral: the Node tests import it directly, and the
// workerd, Deno and browser tests load it inside those runtimes.
//
// The rules are those of the engine's policy test files (engine/src/test_file.rs), which the Rust
// corpus runner and `tollgate policy test` use:
//
// - A case gives its request as `request`, an object, passed to `decide` as an object (the
//   package's `JSON.stringify` path), or as `requestJson`, JSON text passed to `decide` as the
//   string it is: the package's JSON-text entry point hands it to the engine as written, so a key
//   written twice reaches the engine twice.
// - A case expects `expect`, decision keys that must equal the decision's as JSON (a key the
//   decision lacks is not `null`), or `expectError`, text the message of the `RequestError` that
//   refuses the request must contain, ASCII case ignored. Any other error fails the case.
// - A validation file passes when loading fails with exactly the expected errors, in order, each
//   path equal and each message containing the expected text (ASCII case ignored).
// - A case with a key this runner does not know fails: the format has no way to skip a case.

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

const CASE_KEYS = new Set(['name', 'request', 'requestJson', 'expect', 'expectError']);

/** Whether `actual` contains `expected`, ASCII case ignored. */
export function messageMatches(expected, actual) {
  const lower = (text) => text.replace(/[A-Z]/g, (ch) => ch.toLowerCase());
  return lower(actual).includes(lower(expected));
}

/** The problems of one decision case on a loaded set: empty when it passes. */
function runCase(set, c) {
  const unknown = Object.keys(c).filter((key) => !CASE_KEYS.has(key));
  if (unknown.length > 0) return [`this runner cannot run a case with ${unknown.map((k) => `\`${k}\``).join(', ')}`];
  const hasRequest = Object.hasOwn(c, 'request');
  if (hasRequest === Object.hasOwn(c, 'requestJson')) return ['give `request` or `requestJson`, one of them'];
  if (Object.hasOwn(c, 'expect') === Object.hasOwn(c, 'expectError')) return ['give `expect` or `expectError`, one of them'];
  if (!hasRequest && typeof c.requestJson !== 'string') return ['`requestJson` is not text'];
  let decision;
  try {
    decision = set.decide(hasRequest ? c.request : c.requestJson);
  } catch (error) {
    if (error?.name !== 'RequestError') return [`decide failed: ${error?.name ?? 'error'}: ${error?.message ?? error}`];
    if (!Object.hasOwn(c, 'expectError')) return [`the request was refused: ${error.message}`];
    if (messageMatches(c.expectError, error.message)) return [];
    return [`the request was refused with \`${error.message}\`, not with an error containing \`${c.expectError}\``];
  }
  if (Object.hasOwn(c, 'expectError')) return ['the request was decided, but must be refused'];
  const problems = [];
  for (const [key, want] of Object.entries(c.expect)) {
    if (!Object.hasOwn(decision, key) || !jsonEqual(decision[key], want)) {
      const got = Object.hasOwn(decision, key) ? JSON.stringify(decision[key]) : '(missing)';
      problems.push(`\`${key}\`: expected ${JSON.stringify(want)}, got ${got}`);
    }
  }
  return problems;
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
          actual[i][0] === e.path && messageMatches(e.message, actual[i][1]));
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
        record(file.file, c.name, runCase(set, c));
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
