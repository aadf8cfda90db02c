/**
 * Starts DynamoDB Local by hand (in memory) and prints the endpoint to export:
 *   node --import tsx scripts/dynamodb/start.ts [--port 8000]
 *   export DYNAMODB_ENDPOINT=http://127.0.0.1:8000
 * Stops on Ctrl-C.
 */
import { startDynamoDbLocal } from '../../test/support/dynamodb/local.js';

const portArg = process.argv.indexOf('--port');
const port = portArg === -1 ? 8000 : Number(process.argv[portArg + 1]);
const local = await startDynamoDbLocal(port);
process.stdout.write(`DynamoDB Local is listening.\nexport DYNAMODB_ENDPOINT=${local.endpoint}\n`);
const stop = () => void local.stop().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
