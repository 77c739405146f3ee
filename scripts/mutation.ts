// `npm run test:mutation [-- <package> ...]`: mutation testing with StrykerJS, one package at a time
// (a 2-core machine runs one package's mutants in a few minutes; all at once would take hours).
// Each package's source files are mutated and only its own tests are run against each mutant,
// through Stryker's tap runner, which runs node:test files one by one and so knows which files
// cover which mutant. Tests of other packages would not count: they import this one through
// node_modules, the original source, not Stryker's mutated copy. Prints one JSON line per package;
// the HTML reports are in reports/mutation/.
// Needs a PostgreSQL server in DATABASE_URL, as `npm test` does (an embedded one when unset).
import { readFileSync, existsSync, globSync } from "node:fs";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import type { PartialStrykerOptions } from "@stryker-mutator/api/core";
import { Stryker } from "@stryker-mutator/core";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "@cb/db";

/** The packages the README holds to a score of 80% or more. */
export const GUARDED = [
  "fulfillment",
  "event-webhooks",
  "notifications",
  "conversation",
  "egress",
  "secrets",
  "meta-graph",
  "channel-telegram",
  "channel-whatsapp",
  "channel-messenger",
  "channel-slack",
];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { concurrency: { type: "string" }, files: { type: "string" } },
});
const packages = positionals.length ? positionals : GUARDED;
for (const name of packages)
  if (!existsSync(`packages/${name}/src`)) throw new Error(`no package "${name}" (packages/${name}/src)`);

let embedded: EmbeddedDatabase | undefined;
if (!process.env.DATABASE_URL) {
  embedded = await startEmbeddedPostgres({ dataDir: ".data/test-postgres", port: 54331 });
  process.env.DATABASE_URL = embedded.url;
}

function testFilesOf(dir: string): string[] {
  return globSync(`${dir}/test/**/*.test.ts`).sort();
}

type Status =
  | "Killed"
  | "Survived"
  | "Timeout"
  | "NoCoverage"
  | "CompileError"
  | "RuntimeError"
  | "Ignored"
  | "Pending";
interface Report {
  files: Record<string, { mutants: { status: Status }[] }>;
}

try {
  for (const name of packages) {
    const dir = `packages/${name}`;
    const reportFile = `reports/mutation/${name}.json`;
    const stryker = new Stryker({
      mutate: values.files ? values.files.split(",") : [`${dir}/src/**/*.ts`],
      testRunner: "tap",
      tap: { testFiles: testFilesOf(dir), nodeArgs: ["--import", "tsx", "--test-reporter=tap"] },
      plugins: ["@stryker-mutator/tap-runner"],
      coverageAnalysis: "perTest",
      concurrency: Number(values.concurrency ?? availableParallelism()),
      // A test file starts a process and makes a database: a mutant that hangs is one that loops.
      timeoutMS: 20_000,
      reporters: ["json", "html", "clear-text"],
      jsonReporter: { fileName: reportFile },
      htmlReporter: { fileName: `reports/mutation/${name}.html` },
      clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: false },
      tempDirName: `.stryker-tmp/${name}`,
      cleanTempDir: "always",
      ignoreStatic: true,
      // Typed as a const enum, which verbatimModuleSyntax cannot import; Stryker reads the string.
      logLevel: "warn" as PartialStrykerOptions["logLevel"],
    });
    await stryker.runMutationTest();
    const report = JSON.parse(readFileSync(reportFile, "utf8")) as Report;
    const count: Record<Status, number> = {
      Killed: 0,
      Survived: 0,
      Timeout: 0,
      NoCoverage: 0,
      CompileError: 0,
      RuntimeError: 0,
      Ignored: 0,
      Pending: 0,
    };
    for (const file of Object.values(report.files)) for (const mutant of file.mutants) count[mutant.status]++;
    const detected = count.Killed + count.Timeout;
    const valid = detected + count.Survived + count.NoCoverage;
    console.log(
      JSON.stringify({
        package: name,
        mutants: valid,
        killed: count.Killed,
        survived: count.Survived,
        timeout: count.Timeout,
        noCoverage: count.NoCoverage,
        score: valid ? Math.round((detected / valid) * 1000) / 10 : null,
      }),
    );
  }
} finally {
  await embedded?.stop();
}
