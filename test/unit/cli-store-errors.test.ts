import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { ExitCode, type Io } from '../../src/cli/io.js';
import { reportStoreError } from '../../src/cli/store.js';

function capture(): { io: Io; errors: string[] } {
  const errors: string[] = [];
  return { io: { out: () => undefined, err: (line) => errors.push(line) }, errors };
}

describe('reportStoreError', () => {
  it('names DynamoDB, not AppConfig, when the store is throttled (the SDK error class itself)', () => {
    const { io, errors } = capture();
    const err = new ProvisionedThroughputExceededException({ message: 'The level of configured provisioned throughput for the table was exceeded', $metadata: { httpStatusCode: 400 } });
    expect(reportStoreError(err, io)).toBe(ExitCode.usage);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^error: DynamoDB throttled the request \(ProvisionedThroughputExceededException\): The level of configured/);
    expect(errors[0]).not.toMatch(/AppConfig/);
  });

  it('leaves an error it does not know to the caller', () => {
    const { io, errors } = capture();
    expect(reportStoreError(Object.assign(new Error('rate exceeded'), { name: 'ThrottlingException' }), io)).toBeUndefined();
    expect(errors).toEqual([]);
  });
});
