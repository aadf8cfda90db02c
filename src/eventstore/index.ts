/**
 * Event stores: the port (append-only streams with optimistic concurrency, leases with
 * fencing tokens) and its adapters — the file store (embedded default, `.prio/`) and DynamoDB.
 */
export * from './port.js';
export { FileEventStore, type FileStoreOptions } from './stores/file.js';
export { DynamoDbEventStore, MAX_TRANSACTION_ACTIONS, createEventTable, dynamoDbClient, isLocalEndpoint, maxEventsPerAppend, toItem, type DynamoDbStoreOptions } from './stores/dynamodb.js';
