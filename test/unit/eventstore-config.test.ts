import { describe, expect, it } from 'vitest';
import { dynamoDbClient, isLocalEndpoint } from '../../src/eventstore/index.js';

describe('DynamoDB client configuration', () => {
  it('treats only addresses on this machine as local', () => {
    expect(isLocalEndpoint('http://127.0.0.1:8000')).toBe(true);
    expect(isLocalEndpoint('http://localhost:8000')).toBe(true);
    expect(isLocalEndpoint('http://[::1]:8000')).toBe(true);
    expect(isLocalEndpoint('https://dynamodb.us-east-1.amazonaws.com')).toBe(false);
    expect(isLocalEndpoint('http://10.0.0.5:8000')).toBe(false);
    expect(isLocalEndpoint('not a url')).toBe(false);
    expect(isLocalEndpoint(undefined)).toBe(false);
  });

  it('uses placeholder credentials for a local endpoint and us-east-1 by default', async () => {
    const client = dynamoDbClient({ endpoint: 'http://127.0.0.1:8000' });
    try {
      expect(await client.config.region()).toBe('us-east-1');
      expect(await client.config.credentials()).toMatchObject({ accessKeyId: 'local', secretAccessKey: 'local' });
    } finally {
      client.destroy();
    }
  });
});
