// Mocha entry that VS Code's test runner loads in the extension host (code-server or electron).
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { format } from 'node:util';
import Mocha from 'mocha';
import { writeResult } from '../harness/results';

export function run(): Promise<void> {
  // In code-server the host's console reaches the browser unformatted; format it here.
  Mocha.reporters.Base.consoleLog = (...args: unknown[]) => console.log(format(...args));
  // SELFDEV_TEST_GREP runs only the tests whose titles match (a developer's shortcut).
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: 'spec', ...(process.env.SELFDEV_TEST_GREP ? { grep: process.env.SELFDEV_TEST_GREP } : {}) });
  // The harness runs the suite twice: in a window with a folder, and in one without (noWorkspace*).
  const noWorkspace = process.env.SELFDEV_TEST_SUITE === 'no-workspace';
  for (const file of readdirSync(__dirname).filter((f) => f.endsWith('.test.js') && f.startsWith('noWorkspace') === noWorkspace).sort()) {
    mocha.addFile(path.join(__dirname, file));
  }
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      const { passes = 0, failures: failed = 0, pending = 0 } = runner.stats ?? {};
      try {
        writeResult(process.env.SELFDEV_TEST_RESULTS, { passed: passes, failed, skipped: pending });
      } catch (err) {
        reject(err as Error);
        return;
      }
      if (failures > 0) reject(new Error(`${failures} integration test(s) failed`));
      else resolve();
    });
  });
}
