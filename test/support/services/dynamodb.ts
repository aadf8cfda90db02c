/** DynamoDB Local for the integration tests; reuse an existing one by setting DYNAMODB_ENDPOINT. */
import type { TestService } from '../service.js';
import { startDynamoDbLocal } from '../dynamodb/local.js';

export const service: TestService = {
  name: 'dynamodb',
  envVar: 'DYNAMODB_ENDPOINT',
  async start() {
    const local = await startDynamoDbLocal();
    return { address: local.endpoint, stop: () => local.stop() };
  },
};
