/**
 * The event-store adapters: the file store (embedded default, `.prio/`) and DynamoDB. They do
 * I/O; code that only needs the port imports ./port.ts (through the index or directly) instead.
 */
export { FileEventStore, type FileStoreOptions } from './stores/file.js';
export { DynamoDbEventStore, MAX_TRANSACTION_ACTIONS, createEventTable, dynamoDbClient, isLocalEndpoint, maxEventsPerAppend, toItem, type DynamoDbStoreOptions } from './stores/dynamodb.js';
