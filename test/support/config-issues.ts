/** What a configuration check reported, for tests that feed it bad documents on purpose. */
import { ConfigError, type ConfigIssue } from '../../src/validation/index.js';

/**
 * The issues of the ConfigError `check` throws, or none when it accepts its input. Any other
 * error is a bug in the check and fails the test as it is.
 */
export function configIssues(check: () => unknown): readonly ConfigIssue[] {
  try {
    check();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
}
